"""Watching threads and notices of new replies: plain functions taking the member. Personal
settings of a member's own, so no moderation log row; each runs in one transaction."""

from __future__ import annotations

import functools

from django.conf import settings
from django.db import router, transaction
from django.db.models import Exists
from django.utils import timezone

from forum.models import Post, Thread
from forum.precompiled import Precompiled

from .models import DigestSetting, Notification, Watch


# watch and notify_reply run inside every reply's transaction: no savepoint of their own (an
# error rolls the whole reply back anyway), which costs two statements each.
@transaction.atomic(savepoint=False)
def watch(thread: Thread, user) -> None:
    """Idempotent: one INSERT that does nothing when the member already watches the thread
    (no read first, and two requests racing cannot fail on the unique constraint)."""
    Watch.objects.bulk_create([Watch(user=user, thread=thread)], ignore_conflicts=True)


@transaction.atomic
def unwatch(thread: Thread, user) -> None:
    Watch.objects.filter(user=user, thread=thread).delete()


@transaction.atomic(savepoint=False)
def notify_reply(post: Post) -> int:
    """One notice per watcher of the post's thread but its author, for a post readers see: not
    held, not hidden, in a thread neither hidden nor started by a held post (`post.thread` is
    read). A held post is notified when a moderator approves it
    (forum.moderation.actions.approve_post). Returns how many notices were made."""
    if post.held or post.hidden or post.thread.hidden:
        return 0
    query = _watchers_query(router.db_for_read(Watch), post.position > 1, post.author_id is not None)
    now = timezone.now()
    made = Notification.objects.bulk_create(
        [Notification(user_id=user_id, thread_id=post.thread_id, post=post, created_at=now)
         for user_id in query(post.thread_id, *([post.author_id] if post.author_id is not None else []))]
    )
    return len(made)


@functools.cache
def _watchers_query(alias: str, reply: bool, by_member: bool) -> Precompiled:
    """The ids of a thread's watchers to notify of a post, but its author's, its SQL written once
    per process (building it cost ten times running it)."""
    thread, author = Precompiled.stand_in(0), Precompiled.stand_in(1)
    watchers = Watch.objects.filter(thread_id=thread)
    if reply:  # the held-start test rides in the watchers' query: no query of its own
        watchers = watchers.exclude(Exists(Post.objects.filter(thread_id=thread, position=1, held=True)))
    if by_member:
        watchers = watchers.exclude(user_id=author)
    return Precompiled(watchers.values_list("user_id", flat=True), alias, (thread, author) if by_member else (thread,))


@transaction.atomic
def mark_read(user, ids=None) -> int:
    """Mark the member's unread notices read: those of `ids`, or all of them when None."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


@transaction.atomic
def set_digest(user, enabled: bool, language: str = "") -> DigestSetting:
    """The member's digest on or off, written in `language` (the pages they use) from now on."""
    defaults = {"enabled": enabled, **({"language": language} if _site_language(language) else {})}
    setting, _ = DigestSetting.objects.update_or_create(user=user, defaults=defaults)
    return setting


def digest_language_at_login(sender, request, user, **kwargs) -> None:
    """A member's digest follows the language they log in with (switching languages is a plain
    link, a GET, which writes nothing; logging in is a POST)."""
    language = getattr(request, "LANGUAGE_CODE", "") if request is not None else ""
    if _site_language(language):
        DigestSetting.objects.filter(user=user).exclude(language=language).update(language=language)


def _site_language(code: str) -> bool:
    return code in dict(settings.LANGUAGES)


@transaction.atomic
def digest_sent(setting: DigestSetting, at) -> None:
    DigestSetting.objects.filter(pk=setting.pk).update(last_sent_at=at)
