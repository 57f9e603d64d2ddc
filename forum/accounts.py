"""A member's own personal data: all of it as one JSON download, and deleting the account.

Deleting an account keeps the member's posts in their threads (the archive's evidence) with the
author shown as DELETED_MEMBER: the author link, name, handle, device and OS go, the text stays
(a member who wants text removed sends a removal request). Everything else that is the member's
alone (profile, drafts, watches, notifications, digest choice, learned recipients, unposted
figures, pending e-mail confirmation, bans on the account) goes with the user row, by the
foreign keys' CASCADE; reports they made stay with the reporter set to NULL.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from . import counters, search_index
from .figures.models import Figure
from .models import Draft, Post, Profile, Thread
from .moderation.models import ModerationLog, PostRevision, Report
from .watching.models import DigestSetting, Notification, Watch

# The author of a deleted member's posts and threads, as readers see it.
DELETED_MEMBER = "退会したメンバー"


def _stamp(value):
    return value.isoformat() if value else None


def export_data(user) -> dict:
    """Everything Daiou keeps that is this member's own, as JSON-ready data. Only the member's
    rows: other members appear as thread titles and positions, never by name."""
    profile = Profile.objects.filter(user=user).first()
    posts = (Post.objects.filter(author=user).select_related("thread__board")
             .order_by("posted_at", "pk"))
    digest = DigestSetting.objects.filter(user=user).first()
    return {
        "account": {
            "username": user.get_username(),
            "email": user.email,
            "date_joined": _stamp(user.date_joined),
            "last_login": _stamp(user.last_login),
        },
        "profile": None if profile is None else {
            "display_name": profile.display_name, "handle": profile.handle,
            "device": profile.device, "os": profile.os,
        },
        "posts": [{
            "thread": _thread(post.thread),
            "position": post.position,
            "posted_at": _stamp(post.posted_at),
            "subtitle": post.subtitle,
            "source": post.source,
            "name": post.author_name,
            "handle": post.handle,
            "device": post.device,
            "os": post.os,
            "edited_at": _stamp(post.edited_at),
            "hidden": post.hidden,
            "held": post.held,
        } for post in posts],
        "threads_started": [_thread(thread) for thread in
                            Thread.objects.filter(originator=user).select_related("board").order_by("pk")],
        "drafts": [{"key": d.key, "title": d.title, "subtitle": d.subtitle, "body": d.body,
                    "updated_at": _stamp(d.updated_at)}
                   for d in Draft.objects.filter(user=user).order_by("pk")],
        "reports": [{
            "reason": report.reason,
            "post": _post_target(report.post),
            "thread": _thread(report.thread) if report.thread_id else None,
            "note": report.note,
            "url": report.url,
            "contact_email": report.contact_email,
            "created_at": _stamp(report.created_at),
            "status": report.status,
        } for report in Report.objects.filter(reporter=user).select_related("post__thread__board", "thread__board")],
        "watches": [{"thread": _thread(w.thread), "since": _stamp(w.created_at)}
                    for w in Watch.objects.filter(user=user).select_related("thread__board").order_by("pk")],
        "notifications": [{"thread": _thread(n.thread), "position": n.post.position,
                           "created_at": _stamp(n.created_at), "read_at": _stamp(n.read_at)}
                          for n in Notification.objects.filter(user=user)
                          .select_related("thread__board", "post").order_by("pk")],
        "digest": {"enabled": bool(digest and digest.enabled),
                   "last_sent_at": _stamp(digest.last_sent_at) if digest else None},
    }


def _thread(thread) -> dict:
    return {"board": thread.board.slug, "number": thread.number, "title": thread.title}


def _post_target(post) -> dict | None:
    return None if post is None else {**_thread(post.thread), "position": post.position}


@transaction.atomic
def _keep_bans_on_the_address(user) -> None:
    """A suspended or banned member who deletes the account must not sign up again at once with
    the same address: each such ban goes on as a ban of the address, until it would have ended.
    (The address is kept for that long only; docs/moderation.md.)"""
    from .moderation.models import Ban

    email = (user.email or "").strip().lower()
    if not email:
        return
    for ban in Ban.objects.active().filter(user=user, kind__in=[Ban.Kind.SUSPEND, Ban.Kind.ACCOUNT]):
        Ban.objects.create(kind=Ban.Kind.EMAIL, value=email, ends_at=ban.ends_at, created_by=ban.created_by,
                           reason=f"carried over from ban #{ban.pk} when its account was deleted: {ban.reason}")


def delete_account(user, reason: str = "") -> ModerationLog:
    """Delete the member's account for good; their posts stay, anonymised (see the module).
    Logged as the member's own act: no actor, the target "member #id" (never the name)."""
    User = get_user_model()
    user = User.objects.select_for_update().get(pk=user.pk)
    label = f"member #{user.pk}"
    post_ids = list(Post.objects.filter(author=user).values_list("pk", flat=True))
    thread_ids = set(Post.objects.filter(pk__in=post_ids).values_list("thread_id", flat=True))
    started = list(Thread.objects.filter(originator=user).values_list("pk", flat=True))
    Post.objects.filter(pk__in=post_ids).update(author=None, author_name=DELETED_MEMBER, handle="", device="", os="")
    # Earlier versions of their posts keep the text (as the post does) but not the device and OS.
    PostRevision.objects.filter(post__in=post_ids).update(device="", os="")
    Thread.objects.filter(pk__in=started).update(originator=None, originator_name=DELETED_MEMBER)
    counters.note_threads_changed(thread_ids | set(started))
    # Figures uploaded and never posted are the member's alone (posted ones stay with their post).
    Figure.objects.filter(owner=user, post__isnull=True).delete()
    log = ModerationLog.objects.create(
        actor=None, actor_name=label, action=ModerationLog.Action.DELETE_ACCOUNT, target=label,
        reason=reason or "deleted their own account",
        details={"posts": len(post_ids), "threads": len(started), "at": timezone.now().isoformat()})
    _keep_bans_on_the_address(user)
    user.delete()  # CASCADE: profile, drafts, watches, notifications, digest, bans…; SET_NULL: reports
    # The author's name is searchable: the index is written again now, not only after commit.
    # Nothing else derived from a post holds its author (indicators read the text, which stays),
    # so posts_changed, which would index them all again and re-read their quotes, is not sent.
    search_index.index_posts(post_ids)
    return log
