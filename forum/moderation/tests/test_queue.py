"""The review queue at /moderation/ and the log at /moderation/log/."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from forum import actions
from forum.models import Post
from forum.moderation import actions as moderation
from forum.moderation.models import ModerationLog, Report
from forum.tests import factories

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def queued_positions(html: str) -> list[str]:
    return re.findall(r'<article class="queue-item[^"]*" id="q(\d+)"', html)


def fill(member, *, held: int, reported: int) -> list[Post]:
    thread = factories.thread(user=member)
    made = []
    for n in range(held):
        newcomer = factories.UserFactory()
        made.append(actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body=f"保留 {n}"),
                                         held=True))
    for n in range(reported):
        author = factories.UserFactory()
        post = actions.create_reply(thread=thread, user=author, fields=actions.PostFields(body=f"通報 {n}"))
        moderation.file_report(reporter=member, reason="spam", post=post)
        made.append(post)
    return made


def test_the_queue_shows_held_and_reported_posts_oldest_first(moderator_client, member):
    first, second = fill(member, held=1, reported=1)
    Report.objects.update(created_at=timezone.now() - timedelta(days=2))  # reported before the held post was made
    html = text(moderator_client.get("/moderation/", HTTP_ACCEPT_LANGUAGE="en"))
    assert queued_positions(html) == [str(second.pk), str(first.pk)]
    assert "awaiting approval" in html and "1 open report" in html and "保留 0" in html and "通報 0" in html


def test_the_queue_shows_the_authors_history(moderator, moderator_client, member):
    (post,) = fill(member, held=0, reported=1)
    earlier = actions.create_reply(thread=post.thread, user=post.author, fields=actions.PostFields(body="前の投稿"))
    moderation.hide_post(post=earlier, actor=moderator, reason="以前の宣伝", category="spam")
    html = text(moderator_client.get("/moderation/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "2 posts, 1 hidden" in html and "以前の宣伝" in html


def test_the_queue_runs_a_fixed_number_of_queries(moderator_client, member, django_assert_num_queries):
    fill(member, held=1, reported=1)
    # session, user, permissions (2), held posts, reported posts, their reports, the authors'
    # posts, the authors' log rows, reported threads, removal requests; the header's unread
    # notices (forum.watching)
    with django_assert_num_queries(12):
        moderator_client.get("/moderation/")
    fill(member, held=6, reported=6)
    with django_assert_num_queries(12):
        html = text(moderator_client.get("/moderation/"))
    assert len(queued_positions(html)) == 14


def test_a_board_moderator_sees_their_boards_only(board_moderator_client, member):
    fill(member, held=1, reported=0)
    chat = factories.thread(user=member, board_slug="chat")
    actions.create_reply(thread=chat, user=factories.UserFactory(), fields=actions.PostFields(body="雑談の保留"),
                         held=True)
    html = text(board_moderator_client.get("/moderation/"))
    assert "保留 0" in html and "雑談の保留" not in html


def test_one_click_decisions_from_the_queue(client, moderator_client, member):
    held, reported = fill(member, held=1, reported=1)
    response = moderator_client.post(f"/moderation/post/{held.pk}/act/",
                                     {"action": "approve", "reason": "問題なし", "next": "/moderation/"})
    assert response.status_code == 302 and response["Location"] == "/moderation/"
    response = moderator_client.post(f"/moderation/post/{reported.pk}/act/",
                                     {"action": "hide", "category": "spam", "reason": "宣伝", "next": "/moderation/"})
    assert response.status_code == 302
    assert queued_positions(text(moderator_client.get("/moderation/"))) == []
    page = text(client.get(held.thread.get_absolute_url()))
    assert "保留 0" in page and "通報 0" not in page


def test_bad_input_gets_a_clear_message_and_changes_nothing(member, moderator, moderator_client, admin_client):
    (held,) = fill(member, held=1, reported=0)
    url = f"/moderation/post/{held.pk}/act/"
    # A reason left empty.
    response = moderator_client.post(url, {"action": "approve", "reason": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Give a reason" in text(response)
    # An action that does not exist, a category that does not exist.
    assert moderator_client.post(url, {"action": "explode", "reason": "r"}).status_code == 400
    assert moderator_client.post(url, {"action": "hide", "category": "bogus", "reason": "r"}).status_code == 400
    # Delete for good is for admins only: refused for the role, the 403 page.
    response = moderator_client.post(url, {"action": "delete", "reason": "r"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403 and "Only admins" in text(response)
    # A missing item.
    assert moderator_client.post("/moderation/post/999999/act/", {"action": "approve", "reason": "r"}).status_code == 404
    assert moderator_client.post("/moderation/post/99999999999/act/", {"action": "approve", "reason": "r"}).status_code == 404
    assert Post.objects.get(pk=held.pk).held and not ModerationLog.objects.exists()
    # Already handled.
    assert moderator_client.post(url, {"action": "approve", "reason": "問題なし"}).status_code == 302
    response = moderator_client.post(url, {"action": "approve", "reason": "二度目"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "nothing to approve" in text(response)
    assert ModerationLog.objects.count() == 1
    # A forged form: no CSRF token.
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(moderator)
    assert forged.post(url, {"action": "restore", "reason": "r"}).status_code == 403
    # A GET never acts.
    assert moderator_client.get(url).status_code == 405


def test_the_log_is_filtered_by_actor_action_board_and_date(moderator, moderator_client, admin_user, member):
    info = factories.thread(user=member)
    chat = factories.thread(user=member, board_slug="chat")
    moderation.lock_thread(thread=info, actor=moderator, reason="情報をロック")
    moderation.lock_thread(thread=chat, actor=admin_user, reason="雑談をロック")
    moderation.hide_thread(thread=chat, actor=moderator, reason="雑談を隠す")

    def shown(**params) -> list[str]:
        html = text(moderator_client.get("/moderation/log/", params))
        return [reason for reason in ("情報をロック", "雑談をロック", "雑談を隠す") if reason in html]

    assert shown() == ["情報をロック", "雑談をロック", "雑談を隠す"]
    assert shown(actor=moderator.username) == ["情報をロック", "雑談を隠す"]
    assert shown(action="lock_thread") == ["情報をロック", "雑談をロック"]
    assert shown(board=factories.board("chat").pk) == ["雑談をロック", "雑談を隠す"]
    today = timezone.localdate()
    assert shown(since=today.isoformat(), until=today.isoformat()) == ["情報をロック", "雑談をロック", "雑談を隠す"]
    assert shown(until=(today - timedelta(days=1)).isoformat()) == []
    assert moderator_client.get("/moderation/log/", {"since": "not a date"}).status_code == 400


def test_the_log_is_read_only_in_the_admin(admin_client, moderator, member):
    entry = moderation.lock_thread(thread=factories.thread(user=member), actor=moderator, reason="ロック")
    assert admin_client.get("/admin/moderation/moderationlog/").status_code == 200
    page = admin_client.get(f"/admin/moderation/moderationlog/{entry.pk}/change/")
    assert page.status_code == 200 and 'type="submit"' not in text(page).split('id="content-main"')[1]
    admin_client.post(f"/admin/moderation/moderationlog/{entry.pk}/change/", {"reason": "書き換え"})
    assert admin_client.post(f"/admin/moderation/moderationlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ModerationLog.objects.get().reason == "ロック"


def test_moderation_pages_hold_no_inline_script_or_style(moderator_client, member):
    held, reported = fill(member, held=1, reported=1)
    for url in ["/moderation/", "/moderation/log/", f"/moderation/post/{held.pk}/",
                f"/moderation/thread/{held.thread_id}/", f"/moderation/member/{held.author_id}/", "/moderation/bans/",
                "/contact/removal/", f"/moderation/report/info/{held.thread.number}/p1/"]:
        html = text(moderator_client.get(url))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html), url


def test_approving_a_post_the_author_changed_since_the_page_was_opened_is_refused(member, moderator_client):
    (held,) = fill(member, held=1, reported=0)
    for page in ("/moderation/", f"/moderation/post/{held.pk}/"):  # both carry what they showed
        assert re.search(r'name="seen" value=""', text(moderator_client.get(page)))
    actions.edit_post(post=held, user=held.author, fields=actions.PostFields(body="あとで差し替えた本文"), held=True)
    url = f"/moderation/post/{held.pk}/act/"
    stale = moderator_client.post(url, {"action": "approve", "reason": "問題なし", "seen": ""}, HTTP_ACCEPT_LANGUAGE="en")
    assert stale.status_code == 400 and "changed this post after you opened it" in text(stale)
    held.refresh_from_db()
    assert held.held  # still waiting: nothing unread went public
    # The page shown again carries the new version, and approving from it works.
    seen = re.search(r'name="seen" value="([^"]+)"', text(moderator_client.get(f"/moderation/post/{held.pk}/")))[1]
    assert moderator_client.post(url, {"action": "approve", "reason": "問題なし", "seen": seen}).status_code == 302
    held.refresh_from_db()
    assert not held.held
