"""The daily e-mail digest (manage.py send_digests): thread titles and links only. Post bodies
never go out by mail: they quote scam material (links, numbers, names)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from forum.views import post_url

from . import actions
from .models import DigestSetting, Notification


def _new_for(setting: DigestSetting, until):
    """Unread notices since the last digest, of posts and threads readers still see."""
    notices = Notification.objects.filter(user_id=setting.user_id, read_at__isnull=True, created_at__lte=until,
                                          post__held=False, post__hidden=False, thread__hidden=False)
    if setting.last_sent_at is not None:
        notices = notices.filter(created_at__gt=setting.last_sent_at)
    return notices.select_related("thread__board", "post").only(
        "thread__number", "thread__title", "thread__board__slug", "thread__board__name", "post__position",
    ).order_by("created_at", "pk")


def _threads(notices) -> list[dict]:
    site = settings.DAIOU_SITE_URL.rstrip("/")
    threads: dict[int, dict] = {}
    for notice in notices:
        thread = notice.thread
        item = threads.get(thread.pk)
        if item is None:  # the link goes to the first new reply
            threads[thread.pk] = {"label": f"{thread.board.name}NO.{thread.number}", "title": thread.title,
                                  "link": site + post_url(thread, notice.post.position), "count": 1}
        else:
            item["count"] += 1
    return list(threads.values())


def send_digests() -> int:
    """One mail per member with the digest on and unread notices since their last one; returns
    how many were sent. A member's last_sent_at moves only after their mail went out."""
    now = timezone.now()
    sent = 0
    opted_in = (DigestSetting.objects.filter(enabled=True, user__is_active=True).exclude(user__email="")
                 .select_related("user").order_by("pk"))
    for setting in opted_in:
        threads = _threads(_new_for(setting, now))
        if not threads:
            continue
        user = setting.user
        context = {"user": user, "threads": threads,
                   "notifications_link": settings.DAIOU_SITE_URL.rstrip("/") + reverse("watching:notifications")}
        with translation.override(setting.language or settings.LANGUAGE_CODE):
            subject = " ".join(render_to_string("watching/digest_subject.txt", context).split())
            body = render_to_string("watching/digest_mail.txt", context)
        send_mail(subject, body, None, [user.email])
        actions.digest_sent(setting, now)
        sent += 1
    return sent
