"""Members watching threads, the notices of new replies they get, and their digest choice.
Written by forum.watching.actions only."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forum.models import Post, Thread


class Watch(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("watched thread")
        verbose_name_plural = _("watched threads")
        # (user, thread) also serves "does this member watch this thread"; the thread's
        # watchers are read through the thread_id index.
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="watch_once_per_thread")]
        indexes = [models.Index(fields=["thread"], name="watch_thread")]

    def __str__(self):
        return f"{self.user_id} → {self.thread_id}"


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        # The header's unread count and the digest read (user, read_at); the list is newest first.
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread"),
            models.Index(fields=["user", "-created_at"], name="notification_newest"),
        ]

    def __str__(self):
        return f"{self.user_id}: {self.post_id}"


class DigestSetting(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                                primary_key=True)
    enabled = models.BooleanField(_("daily e-mail digest"), default=False)
    last_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The language of the pages the member turned the digest on from (or last logged in with):
    # the mail is written in it. Empty: the site's language.
    language = models.CharField(_("language"), max_length=16, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("digest setting")
        verbose_name_plural = _("digest settings")

    def __str__(self):
        return f"{self.user_id}: {self.enabled}"
