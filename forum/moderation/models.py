"""Moderation's rows: who moderates which board, members' reports, the log of every action,
post revisions, addresses of moved threads, and bans.

Rows are written by forum.moderation.actions only (each action in one transaction with its
ModerationLog row); the log is never changed once written.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forum.models import Board, Post, Thread


class BoardModerator(models.Model):
    """A member who moderates one board. Moderators of every board are in the "moderators"
    group (permission forum.moderate) instead; forum.moderation.roles.can_moderate reads both."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderated_boards",
                             verbose_name=_("member"))
    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="moderators", verbose_name=_("board"))
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("board moderator")
        verbose_name_plural = _("board moderators")
        constraints = [models.UniqueConstraint(fields=["user", "board"], name="board_moderator_once")]

    def __str__(self):
        return f"{self.user} @ {self.board}"


class HiddenReason(models.TextChoices):
    """Why a post is hidden, as readers see it (Post.hidden_reason); never the moderator's note."""

    SPAM = "spam", _("spam")
    PHISHING = "phishing", _("a phishing link posted as bait")
    PERSONAL_DATA = "personal_data", _("personal data")
    OFF_TOPIC = "off_topic", _("off-topic")
    OTHER = "other", _("other")
    REPORTED = "reported", _("reported by members, waiting for a moderator")
    REJECTED = "rejected", _("not approved")
    DELETED = "deleted", _("deleted")


# What a moderator may pick when hiding, and what a member may report; the others are set by
# the actions themselves.
HIDE_CATEGORIES = [HiddenReason.SPAM, HiddenReason.PHISHING, HiddenReason.PERSONAL_DATA, HiddenReason.OFF_TOPIC,
                   HiddenReason.OTHER]


class Report(models.Model):
    """A member's report of a post or a thread, or a removal request from the contact form."""

    # A member reports what a moderator may hide a post for; the contact form sends removal requests.
    REMOVAL = "removal"
    REASONS = [(category.value, category.label) for category in HIDE_CATEGORIES] + [
        (REMOVAL, _("removal of my personal data"))]

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        UPHELD = "upheld", _("acted on")
        DISMISSED = "dismissed", _("dismissed")

    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    # None for a removal request from someone who is not logged in.
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="reports_made")
    reason = models.CharField(_("reason"), max_length=20, choices=REASONS)
    note = models.TextField(_("note"), blank=True)
    # Removal requests: where the data is (as the requester wrote it) and where to answer.
    url = models.CharField(_("address of the post"), max_length=500, blank=True)
    contact_email = models.EmailField(_("e-mail address for the answer"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    handled_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        constraints = [
            # One open report per member and target (a report of a post carries its thread too);
            # removal requests are not reports of a member's and may be sent again.
            models.UniqueConstraint(fields=["reporter", "post"],
                                    condition=Q(status="open", post__isnull=False) & ~Q(reason="removal"),
                                    name="report_open_once_per_post"),
            models.UniqueConstraint(fields=["reporter", "thread"],
                                    condition=Q(status="open", post__isnull=True, thread__isnull=False)
                                    & ~Q(reason="removal"),
                                    name="report_open_once_per_thread"),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="report_status_oldest"),
            models.Index(fields=["post", "status"], name="report_post_status"),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} ({self.get_status_display()})"

    @property
    def is_removal_request(self) -> bool:
        return self.reason == self.REMOVAL


class ModerationLog(models.Model):
    """Who did what to which target, when and why. Written in the action's own transaction and
    never changed: save() refuses an update and the admin shows the rows read-only.

    `reason` is the moderator's note (staff only); `public` rows show on the thread itself
    (moved, locked, merged). The target is kept as text too, for when its row is gone."""

    class Action(models.TextChoices):
        HIDE_POST = "hide_post", _("hid a post")
        RESTORE_POST = "restore_post", _("restored a post")
        APPROVE_POST = "approve_post", _("approved a post")
        REJECT_POST = "reject_post", _("rejected a post")
        DISMISS_REPORTS = "dismiss_reports", _("kept a reported post")
        DELETE_POST = "delete_post", _("deleted a post for good")
        EDIT_POST = "edit_post", _("edited a post")
        REDACT_POST = "redact_post", _("redacted a post")
        LOCK_THREAD = "lock_thread", _("locked a thread")
        UNLOCK_THREAD = "unlock_thread", _("unlocked a thread")
        HIDE_THREAD = "hide_thread", _("hid a thread")
        RESTORE_THREAD = "restore_thread", _("restored a thread")
        MOVE_THREAD = "move_thread", _("moved a thread")
        MERGE_THREAD = "merge_thread", _("merged a thread into this one")
        DELETE_THREAD = "delete_thread", _("deleted a thread for good")
        CLOSE_REPORT = "close_report", _("closed a report")
        SILENCE_MEMBER = "silence_member", _("silenced a member")
        SUSPEND_MEMBER = "suspend_member", _("suspended a member")
        BAN_ACCOUNT = "ban_account", _("banned an account")
        BAN_EMAIL = "ban_email", _("banned an e-mail address")
        BAN_DOMAIN = "ban_domain", _("banned an e-mail domain")
        BAN_IP = "ban_ip", _("banned an IP range")
        LIFT_BAN = "lift_ban", _("lifted a ban")
        # A member's own act (forum.accounts): no actor; the target is "member #id", never the name.
        DELETE_ACCOUNT = "delete_account", _("deleted their own account")

    created_at = models.DateTimeField(_("when"), default=timezone.now, editable=False)
    # None: Daiou itself (a post hidden automatically after reports).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("who"))
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(_("what"), max_length=20, choices=Action.choices)
    board = models.ForeignKey(Board, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    thread = models.ForeignKey(Thread, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The member the action concerns: a post's author, a sanctioned member.
    member = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    target = models.CharField(_("target"), max_length=300)
    category = models.CharField(max_length=20, blank=True)
    reason = models.TextField(_("why"))
    public = models.BooleanField(default=False)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("moderation log entry")
        verbose_name_plural = _("moderation log")
        # Nobody is ever given a permission to change or delete a row.
        default_permissions = ("view",)
        permissions = [("delete_for_good", _("Can delete posts for good"))]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="modlog_newest"),
            models.Index(fields=["thread", "public", "-created_at", "-id"], name="modlog_thread_public"),
            models.Index(fields=["member", "-created_at"], name="modlog_member_recent"),
            models.Index(fields=["action", "-created_at"], name="modlog_action_recent"),
            models.Index(fields=["actor", "-created_at"], name="modlog_actor_recent"),
            models.Index(fields=["board", "-created_at"], name="modlog_board_recent"),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.action} {self.target}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("moderation log entries are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("moderation log entries are never deleted")

    @property
    def by_system(self) -> bool:
        return self.actor_id is None and not self.actor_name


class PostRevision(models.Model):
    """A post as it was before an edit (an author's or a moderator's); number 1 is the first text."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    subtitle = models.CharField(max_length=200, blank=True)
    source = models.TextField(blank=True)
    device = models.CharField(max_length=100, blank=True)
    os = models.CharField(max_length=100, blank=True)
    blocks = models.JSONField(default=list, blank=True)
    quote_details = models.JSONField(default=list, blank=True)
    # Who replaced this text, when, and (for a moderator's edit) why.
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    edited_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["post", "number"]
        verbose_name = _("post revision")
        verbose_name_plural = _("post revisions")
        constraints = [models.UniqueConstraint(fields=["post", "number"], name="post_revision_number")]


class ThreadRedirect(models.Model):
    """An address a thread had before it was moved or merged: it redirects there for good.
    Thread numbers are never given twice, so no thread can take the old address."""

    board = models.ForeignKey(Board, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField()
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("thread redirect")
        verbose_name_plural = _("thread redirects")
        constraints = [models.UniqueConstraint(fields=["board", "number"], name="thread_redirect_address")]


class BanQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(lifted_at__isnull=True, starts_at__lte=now).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))


class Ban(models.Model):
    """A sanction: a member silenced or suspended for a while, an account banned, or an e-mail
    address, e-mail domain or IP range banned. forum.moderation.bans.refusal_for enforces them."""

    class Kind(models.TextChoices):
        SILENCE = "silence", _("silenced (may not post)")
        SUSPEND = "suspend", _("suspended (may not post, edit or report)")
        ACCOUNT = "account", _("account banned")
        EMAIL = "email", _("e-mail address")
        DOMAIN = "domain", _("e-mail domain")
        IP = "ip", _("IP range")

    MEMBER_KINDS = (Kind.SILENCE, Kind.SUSPEND, Kind.ACCOUNT)

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="bans", verbose_name=_("member"))
    # E-mail address or domain in lower case; an IP range as a network (203.0.113.0/24).
    value = models.CharField(_("value"), max_length=254, blank=True)
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    starts_at = models.DateTimeField(default=timezone.now)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")

    objects = BanQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = _("ban")
        verbose_name_plural = _("bans")
        indexes = [
            models.Index(fields=["user", "kind"], name="ban_user_kind"),
            models.Index(fields=["kind", "value"], name="ban_kind_value"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind__in=["silence", "suspend", "account"], user__isnull=False)
                           | Q(kind__in=["email", "domain", "ip"], user__isnull=True) & ~Q(value="")),
                name="ban_has_its_target"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.user or self.value}"

    @property
    def target_label(self) -> str:
        return self.user.get_username() if self.user_id else self.value
