"""Moving a thread to another board (next NO. there, the old address redirects for good) and
merging threads."""

import pytest

from forum import actions
from forum.models import Post, Thread
from forum.moderation import actions as moderation
from forum.moderation.models import ModerationLog, Report, ThreadRedirect
from forum.tests import factories

pytestmark = pytest.mark.django_db


def test_a_moved_thread_takes_the_next_number_and_its_old_address_redirects(client, member, moderator):
    factories.thread(user=member, board_slug="chat", title="雑談の一番")
    thread = factories.thread(user=member, title="雑談向きの話", replies=2)
    old_url, old_volume = thread.get_absolute_url(), thread.volume
    moved = moderation.move_thread(thread=thread, board=factories.board("chat"), actor=moderator,
                                   reason="雑談板の話題")
    assert (moved.board.slug, moved.number) == ("chat", 2)
    moved.volume.refresh_from_db()
    assert moved.volume.board.slug == "chat" and moved.volume.thread_count == 2
    old_volume.refresh_from_db()
    assert old_volume.thread_count == 0
    response = client.get(old_url + "?page=1")
    assert response.status_code == 301 and response["Location"] == "/chat/2/?page=1"
    page = client.get("/chat/2/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Moved here from 情報NO.1" in page and "by a moderator" in page and "雑談板の話題" not in page
    entry = ModerationLog.objects.get()
    assert (entry.action, entry.public, entry.details) == (ModerationLog.Action.MOVE_THREAD, True,
                                                          {"from": "情報NO.1", "to": "雑談NO.2"})
    # The next thread on each board takes the next number: none is given twice.
    assert factories.thread(user=member, board_slug="chat").number == 3
    assert factories.thread(user=member).number == 2


def test_moving_back_and_forth_keeps_every_old_address(client, member, moderator):
    thread = factories.thread(user=member)
    moderation.move_thread(thread=thread, board=factories.board("chat"), actor=moderator, reason="移動")
    moderation.move_thread(thread=thread, board=factories.board("info"), actor=moderator, reason="戻す")
    thread.refresh_from_db()
    assert (thread.board.slug, thread.number) == ("info", 2)
    for old in ("/info/1/", "/chat/1/"):
        response = client.get(old)
        assert response.status_code == 301 and response["Location"] == "/info/2/", old
    assert client.get("/info/99/").status_code == 404


def test_moving_needs_both_boards(member, board_moderator):
    thread = factories.thread(user=member)
    with pytest.raises(moderation.ModerationRefused):
        moderation.move_thread(thread=thread, board=factories.board("chat"), actor=board_moderator, reason="移動")
    with pytest.raises(moderation.ModerationRefused):
        moderation.move_thread(thread=thread, board=factories.board("info"), actor=board_moderator, reason="同じ")
    assert not ThreadRedirect.objects.exists() and not ModerationLog.objects.exists()


def test_merging_appends_the_posts_and_redirects_the_old_address(client, member, other_member, moderator,
                                                                   django_capture_on_commit_callbacks):
    target = factories.thread(user=member, title="本スレ", replies=2)
    source = factories.thread(user=other_member, board_slug="chat", title="重複スレ", body="重複の一番",
                              replies=1)
    moderation.file_report(reporter=member, reason="off_topic", thread=source)
    with django_capture_on_commit_callbacks(execute=True):
        merged = moderation.merge_threads(source=source, target=target, actor=moderator, reason="重複")
    assert not Thread.objects.filter(pk=source.pk).exists()
    assert list(merged.posts.order_by("position").values_list("position", "source")) == [
        (1, "本文です。"), (2, "返信 1"), (3, "返信 2"), (4, "重複の一番"), (5, "返信 1")]
    assert (merged.post_count, merged.last_position) == (5, 5)
    response = client.get("/chat/1/")
    assert response.status_code == 301 and response["Location"] == target.get_absolute_url()
    assert Report.objects.get().thread == merged
    page = client.get(target.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "雑談NO.1 was merged into this thread" in page and "重複の一番" in page
    # The next reply goes after the merged posts.
    reply = actions.create_reply(thread=merged, user=member, fields=actions.PostFields(body="続き"))
    assert reply.position == 6
    # Search finds the merged posts in their new thread.
    from forum.models import SearchDocument

    assert set(SearchDocument.objects.filter(post__thread=merged).values_list("thread_id", flat=True)) == {merged.pk}


def test_a_thread_cannot_be_merged_into_itself(member, moderator):
    thread = factories.thread(user=member)
    with pytest.raises(moderation.ModerationRefused):
        moderation.merge_threads(source=thread, target=thread, actor=moderator, reason="同じ")
    assert Post.objects.count() == 1


def test_move_and_merge_from_the_thread_page(moderator_client, member):
    thread = factories.thread(user=member, title="移す")
    target = factories.thread(user=member, board_slug="chat", title="先")
    url = f"/moderation/thread/{thread.pk}/act/"
    response = moderator_client.post(url, {"action": "move", "board": factories.board("chat").pk, "reason": ""})
    assert response.status_code == 400 and Thread.objects.get(pk=thread.pk).board.slug == "info"
    response = moderator_client.post(url, {"action": "merge", "board": factories.board("chat").pk, "number": 99,
                                           "reason": "重複"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "There is no thread" in response.content.decode()
    response = moderator_client.post(url, {"action": "merge", "board": factories.board("chat").pk,
                                           "number": target.number, "reason": "重複"})
    assert response.status_code == 302 and not Thread.objects.filter(pk=thread.pk).exists()
