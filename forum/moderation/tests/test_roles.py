"""Roles: members, moderators of one board, moderators of every board, admins; staff pages refuse
everyone else (members 403, anonymous readers to the login page)."""

import pytest

from forum import actions
from forum.models import Post, Thread
from forum.moderation.roles import can_moderate, can_purge, is_moderator
from forum.tests import factories

pytestmark = pytest.mark.django_db


def staff_urls(thread, post) -> list[str]:
    return ["/moderation/", "/moderation/log/", f"/moderation/post/{post.pk}/", f"/moderation/thread/{thread.pk}/",
            f"/moderation/member/{post.author_id}/", "/moderation/bans/"]


def test_who_moderates_what(member, moderator, admin_user, board_moderator):
    info, chat = factories.board("info"), factories.board("chat")
    assert not can_moderate(member, info) and not is_moderator(member)
    assert can_moderate(board_moderator, info) and not can_moderate(board_moderator, chat)
    assert can_moderate(moderator, info) and can_moderate(moderator, chat)
    assert can_purge(admin_user) and not can_purge(moderator) and not can_purge(board_moderator)


def test_the_admins_group_may_delete_for_good(member):
    from django.contrib.auth.models import Group

    member.groups.add(Group.objects.get(name="admins"))
    member = type(member).objects.get(pk=member.pk)  # permissions are cached per object
    assert can_purge(member) and can_moderate(member, factories.board("chat"))


def test_staff_pages_send_anonymous_readers_to_log_in_and_refuse_members(client, member_client, spam_thread):
    post = spam_thread.posts.get(position=2)
    for url in staff_urls(spam_thread, post):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url
        assert member_client.get(url).status_code == 403, url


def test_staff_pages_open_for_moderators_and_admins(moderator_client, admin_client, spam_thread):
    post = spam_thread.posts.get(position=2)
    for url in staff_urls(spam_thread, post):
        assert moderator_client.get(url).status_code == 200, url
        assert admin_client.get(url).status_code == 200, url


def test_a_board_moderator_is_refused_other_boards(board_moderator_client, member, spam_thread):
    chat = factories.thread(user=member, board_slug="chat", title="雑談です")
    assert board_moderator_client.get(f"/moderation/thread/{spam_thread.pk}/").status_code == 200
    assert board_moderator_client.get(f"/moderation/thread/{chat.pk}/").status_code == 403
    assert board_moderator_client.get(f"/moderation/post/{chat.posts.get().pk}/").status_code == 403
    response = board_moderator_client.post(f"/moderation/thread/{chat.pk}/act/", {"action": "lock", "reason": "r"})
    assert response.status_code == 403 and not Thread.objects.get(pk=chat.pk).locked
    # Bans are for moderators of every board.
    assert board_moderator_client.get("/moderation/bans/").status_code == 403


@pytest.mark.parametrize("who, allowed", [("member", False), ("board_moderator_of_chat", False),
                                          ("board_moderator", True), ("moderator", True), ("admin_user", True)])
def test_every_post_action_asks_for_the_right_role(request, who, allowed, spam_thread):
    from forum.moderation import actions as moderation
    from forum.moderation.models import BoardModerator, ModerationLog

    if who == "board_moderator_of_chat":
        actor = factories.UserFactory()
        BoardModerator.objects.create(user=actor, board=factories.board("chat"))
    else:
        actor = request.getfixturevalue(who)
    post = spam_thread.posts.get(position=2)
    calls = [
        lambda: moderation.hide_post(post=post, actor=actor, reason="宣伝", category="spam"),
        lambda: moderation.restore_post(post=post, actor=actor, reason="誤り"),
        lambda: moderation.lock_thread(thread=spam_thread, actor=actor, reason="荒れた"),
        lambda: moderation.unlock_thread(thread=spam_thread, actor=actor, reason="落ち着いた"),
        lambda: moderation.redact_post(post=post, actor=actor, reason="個人情報", text="激安"),
        lambda: moderation.edit_post(post=post, actor=actor, reason="直す", fields=actions.PostFields(body="直した")),
    ]
    for call in calls:
        if allowed:
            call()
        else:
            with pytest.raises(moderation.ModerationRefused):
                call()
    assert ModerationLog.objects.count() == (len(calls) if allowed else 0)


def test_held_posts_are_seen_by_their_author_and_the_boards_moderators_only(
        client, member, member_client, other_member_client, moderator_client, board_moderator_client):
    thread = factories.thread(user=member, title="スレッド")
    newcomer = factories.UserFactory(profile__display_name="新入り")
    actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body="承認待ちの返信"), held=True)
    url = thread.get_absolute_url()

    def shown(c):
        return "承認待ちの返信" in c.get(url).content.decode()

    assert not shown(client) and not shown(other_member_client) and not shown(member_client)
    assert shown(moderator_client) and shown(board_moderator_client)
    from django.test import Client

    own = Client()
    own.force_login(newcomer)
    page = own.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "承認待ちの返信" in page and "Awaiting approval" in page
    assert Post.objects.visible_to(newcomer).filter(held=True).count() == 1


def test_a_thread_whose_first_post_is_held_is_not_there_for_readers(client, member_client, moderator_client):
    newcomer = factories.UserFactory()
    thread = actions.create_thread(board=factories.board(), user=newcomer, title="新人のスレッド",
                                   fields=actions.PostFields(body="本文"), held=True)
    url = thread.get_absolute_url()
    assert client.get(url).status_code == 404 and member_client.get(url).status_code == 404
    assert "新人のスレッド" not in client.get("/info/").content.decode()
    assert moderator_client.get(url).status_code == 200
    assert Thread.objects.visible_to(newcomer).filter(pk=thread.pk).exists()


def test_held_posts_stay_out_of_the_api_feeds_and_search(client, member, moderator_client,
                                                          django_capture_on_commit_callbacks):
    newcomer = factories.UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        thread = factories.thread(user=member, title="公開のスレッド", body="公開の本文")
        actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body="承認待ちのことば"), held=True)
        actions.create_thread(board=factories.board(), user=newcomer, title="承認待ちのスレッド",
                              fields=actions.PostFields(body="本文"), held=True)
    api = client.get(f"/api/info/{thread.number}.json").json()
    assert [p["position"] for p in api["posts"]] == [1]
    assert [p["position"] for p in moderator_client.get(f"/api/info/{thread.number}.json").json()["posts"]] == [1, 2]
    feed = client.get("/feeds/info.atom").content.decode()
    assert "公開のスレッド" in feed and "承認待ちのスレッド" not in feed
    hits = 'class="search-hit-title"'
    assert hits in client.get("/search/", {"q": "公開の本文"}).content.decode()
    assert hits not in client.get("/search/", {"q": "承認待ちのことば"}).content.decode()


# ---- a moderator of another board: the 403 page on every moderation page and action ------------

@pytest.fixture
def chat_moderator_client(db):
    """Moderates 雑談 (chat) only: everything on 情報 is another board's."""
    from django.test import Client

    from forum.moderation.models import BoardModerator

    user = factories.UserFactory()
    BoardModerator.objects.create(user=user, board=factories.board("chat"))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_a_moderator_of_another_board_gets_the_403_page_on_every_page_and_action(
        chat_moderator_client, board_moderator_client, member, moderator, spam_thread):
    """The staff pages about 情報's posts and threads, every decision on them, and the decisions
    for moderators of every board; the permission is asked before the form is read (an empty
    reason is refused with 403 as well). Nothing changes."""
    from forum.moderation import actions as moderation
    from forum.moderation.forms import POST_ACTIONS, THREAD_ACTIONS
    from forum.moderation.models import ModerationLog

    post, chat = spam_thread.posts.get(position=2), factories.thread(user=member, board_slug="chat")
    report = moderation.file_report(reporter=member, reason="spam", thread=spam_thread)
    removal = moderation.request_removal(requester=member, email="me@example.org", url="https://example.org/x",
                                         what="私の電話番号")  # names no post: for moderators of every board
    ban = moderation.sanction_member(member=factories.UserFactory(), actor=moderator, reason="宣伝", kind="silence",
                                     days=3)
    before = ModerationLog.objects.count()
    edit = f"/info/{spam_thread.number}/p2/edit/"
    refused = [("get", f"/moderation/post/{post.pk}/", {}), ("get", f"/moderation/thread/{spam_thread.pk}/", {}),
               ("get", edit, {}), ("post", edit, {"body": "直した", "reason": "r"}),
               ("post", f"/moderation/post/{post.pk}/redact/", {"text": "激安", "reason": "r"}),
               ("post", f"/moderation/reports/{report.pk}/close/", {"outcome": "dismissed", "reason": "r"}),
               ("post", f"/moderation/reports/{removal.pk}/close/", {"outcome": "dismissed", "reason": "r"}),
               ("post", f"/moderation/member/{post.author_id}/", {"kind": "silence", "days": "3", "reason": "r"}),
               ("post", f"/moderation/member/{post.author_id}/", {"kind": "silence", "reason": ""}),
               ("get", "/moderation/bans/", {}),
               ("post", "/moderation/bans/", {"kind": "domain", "value": "spam.example", "reason": "r"}),
               ("post", f"/moderation/bans/{ban.pk}/lift/", {"reason": "r"}),
               ("post", f"/moderation/bans/{ban.pk}/lift/", {"reason": ""})]
    refused += [("post", f"/moderation/post/{post.pk}/act/", {"action": action, "category": "spam", "reason": "r"})
                for action in [*POST_ACTIONS, "explode"]]
    refused += [("post", f"/moderation/thread/{spam_thread.pk}/act/",
                 {"action": action, "board": chat.board_id, "number": chat.number, "reason": "r"})
                for action in THREAD_ACTIONS]
    for method, url, data in refused:
        response = getattr(chat_moderator_client, method)(url, data)
        assert response.status_code == 403 and "Not allowed" in response.content.decode(), (method, url, data)
    # 情報's own moderator, sending 情報's thread to 雑談 or merging it there, or deleting for good.
    for data in ({"action": "move", "board": chat.board_id, "reason": "r"},
                 {"action": "merge", "board": chat.board_id, "number": chat.number, "reason": "r"}):
        response = board_moderator_client.post(f"/moderation/thread/{spam_thread.pk}/act/", data,
                                               HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 403 and "Not allowed" in response.content.decode(), data
    response = board_moderator_client.post(f"/moderation/post/{post.pk}/act/", {"action": "delete", "reason": "r"},
                                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403 and "Only admins" in response.content.decode()
    assert ModerationLog.objects.count() == before
    assert Thread.objects.get(pk=spam_thread.pk).board.slug == "info" and Thread.objects.filter(pk=chat.pk).exists()
    assert not Post.objects.get(pk=post.pk).hidden and Post.objects.get(pk=post.pk).source == "激安ブランド品はこちら"
