"""Watching, notices of new replies and marking them read (forum.watching.actions)."""

import pytest

from forum import actions
from forum.models import Thread
from forum.moderation import actions as moderation
from forum.tests import factories
from forum.watching import actions as watching
from forum.watching.models import Notification, Watch

pytestmark = pytest.mark.django_db


def reply(thread, user, body="返信です。", **kwargs):
    return actions.create_reply(thread=thread, user=user, fields=actions.PostFields(body=body), **kwargs)


def notified(user) -> list[int]:
    return list(Notification.objects.filter(user=user).order_by("pk").values_list("post__position", flat=True))


def test_watch_and_unwatch_are_idempotent(member, other_member):
    thread = factories.thread(user=member)
    watching.watch(thread, other_member)
    watching.watch(thread, other_member)
    assert Watch.objects.filter(user=other_member, thread=thread).count() == 1
    watching.unwatch(thread, other_member)
    watching.unwatch(thread, other_member)
    assert not Watch.objects.filter(user=other_member, thread=thread).exists()


def test_starting_or_replying_to_a_thread_watches_it(member, other_member):
    thread = factories.thread(user=member)
    assert Watch.objects.filter(user=member, thread=thread).exists()
    reply(thread, other_member)
    assert Watch.objects.filter(user=other_member, thread=thread).exists()


def test_a_reply_notifies_the_watchers_but_not_its_author(member, other_member, moderator):
    thread = factories.thread(user=member)
    watching.watch(thread, moderator)
    post = reply(thread, other_member)
    assert notified(member) == [post.position] and notified(moderator) == [post.position]
    assert notified(other_member) == []
    reply(thread, member)  # the originator's own reply: only the others hear of it
    assert notified(member) == [2] and notified(other_member) == [3] and notified(moderator) == [2, 3]


def test_a_held_reply_notifies_only_once_approved(member, other_member, moderator):
    thread = factories.thread(user=member)
    post = reply(thread, other_member, held=True)
    assert notified(member) == []
    moderation.approve_post(post=post, actor=moderator, reason="問題なし")
    assert notified(member) == [post.position]


def test_a_rejected_held_reply_never_notifies(member, other_member, moderator):
    thread = factories.thread(user=member)
    post = reply(thread, other_member, held=True)
    moderation.reject_post(post=post, actor=moderator, reason="宣伝")
    assert notified(member) == []


def test_replies_in_a_hidden_thread_or_a_hidden_post_do_not_notify(member, other_member, moderator):
    thread = factories.thread(user=member)
    post = reply(thread, other_member)
    Notification.objects.all().delete()
    post.hidden = True
    assert watching.notify_reply(post) == 0
    moderation.hide_thread(thread=thread, actor=moderator, reason="個人情報")
    reply(Thread.objects.get(pk=thread.pk), other_member)
    assert notified(member) == []


def test_a_reply_in_a_thread_whose_first_post_is_held_does_not_notify(member, other_member):
    thread = actions.create_thread(board=factories.board(), user=member, title="保留中",
                                   fields=actions.PostFields(body="本文"), held=True)
    watching.watch(thread, other_member)
    reply(thread, member)
    assert notified(other_member) == []


def test_mark_read_some_or_all(member, other_member):
    thread = factories.thread(user=member)
    for _ in range(3):
        reply(thread, other_member)
    first, *rest = Notification.objects.filter(user=member).order_by("pk")
    assert watching.mark_read(member, [first.pk]) == 1
    assert watching.mark_read(other_member, [rest[0].pk]) == 0  # not theirs
    assert Notification.objects.filter(user=member, read_at__isnull=True).count() == 2
    assert watching.mark_read(member) == 2
    assert not Notification.objects.filter(user=member, read_at__isnull=True).exists()
