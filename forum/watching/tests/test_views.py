"""The Watch button, the notifications page, its forms and the header's count."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from forum import actions
from forum.tests import factories
from forum.watching.models import DigestSetting, Notification, Watch

pytestmark = pytest.mark.django_db

LIST = reverse("watching:notifications")


def text(response) -> str:
    return response.content.decode()


def reply(thread, user, body="返信です。"):
    return actions.create_reply(thread=thread, user=user, fields=actions.PostFields(body=body))


@pytest.mark.parametrize("path", ["watch", "unwatch"])
def test_anonymous_posts_are_sent_to_log_in(client, member, path):
    thread = factories.thread(user=member)
    response = client.post(reverse(f"watching:{path}", args=[thread.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", ["read", "digest"])
def test_anonymous_forms_and_list_are_sent_to_log_in(client, name):
    for response in (client.post(reverse(f"watching:{name}")), client.get(LIST)):
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_watch_and_unwatch_from_the_thread_page(member, other_member_client, other_member):
    thread = factories.thread(user=member)
    page = text(other_member_client.get(thread.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Watch this thread" in page and reverse("watching:watch", args=[thread.pk]) in page
    response = other_member_client.post(reverse("watching:watch", args=[thread.pk]))
    assert response.status_code == 302 and response["Location"] == thread.get_absolute_url()
    other_member_client.post(reverse("watching:watch", args=[thread.pk]))  # again: no error, one row
    assert Watch.objects.filter(user=other_member, thread=thread).count() == 1
    page = text(other_member_client.get(thread.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Stop watching" in page
    other_member_client.post(reverse("watching:unwatch", args=[thread.pk]))
    assert not Watch.objects.filter(user=other_member, thread=thread).exists()


def test_a_hidden_thread_cannot_be_watched_by_a_reader(member, other_member_client, moderator):
    from forum.moderation import actions as moderation

    thread = factories.thread(user=member)
    moderation.hide_thread(thread=thread, actor=moderator, reason="個人情報")
    assert other_member_client.post(reverse("watching:watch", args=[thread.pk])).status_code == 404


def test_forged_or_missing_csrf_token_is_refused(member, other_member):
    thread = factories.thread(user=member)
    client = Client(enforce_csrf_checks=True)
    client.force_login(other_member)
    assert client.post(reverse("watching:watch", args=[thread.pk])).status_code == 403
    client.get(LIST)  # sets the CSRF cookie
    forged = client.post(reverse("watching:watch", args=[thread.pk]), {"csrfmiddlewaretoken": "x" * 64})
    assert forged.status_code == 403
    assert client.post(reverse("watching:read")).status_code == 403
    assert not Watch.objects.filter(user=other_member, thread=thread).exists()


def test_the_button_in_japanese(member_client, other_member):
    thread = factories.thread(user=other_member)
    assert "このスレッドをウォッチ" in text(member_client.get(thread.get_absolute_url()))
    assert "通知はまだありません。" in text(member_client.get(LIST))


def test_anonymous_readers_see_no_button_nor_count(client, member):
    thread = factories.thread(user=member)
    page = text(client.get(thread.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Watch this thread" not in page and LIST not in page and "csrfmiddlewaretoken" not in page


def test_the_list_newest_first_with_links_unread_marks_and_header_count(member_client, member, other_member,
                                                                        settings):
    settings.DAIOU_POSTS_PER_PAGE = 2
    thread = factories.thread(user=member, title="楽天を名乗るメール")
    first, second = reply(thread, other_member), reply(thread, other_member)
    Notification.objects.filter(post=first).update(read_at=first.posted_at)
    page = text(member_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en"))
    assert page.index(f"{thread.get_absolute_url()}?page=2#p3") < page.index(f"{thread.get_absolute_url()}#p2")
    assert page.count("unread-mark") == 1 and "楽天を名乗るメール" in page and "シバケン" in page
    assert re.search(r'class="unread-count">\(1\)<', page)
    # One notice marked read by its own button; the other stays new.
    third = reply(thread, other_member)
    page = text(member_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en"))
    assert page.count("Mark read</button>") == 2  # the two unread notices
    one = Notification.objects.get(post=third)
    assert f'name="notification" value="{one.pk}"' in page
    member_client.post(reverse("watching:read"), {"notification": one.pk})
    assert list(Notification.objects.filter(user=member, read_at__isnull=True).values_list("post", flat=True)) == [second.pk]
    response = member_client.post(reverse("watching:read"))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Notification.objects.filter(user=member, read_at__isnull=True).exists()
    assert "unread-count" not in text(member_client.get(LIST))


def test_the_digest_checkbox(member_client, member):
    member_client.post(reverse("watching:digest"), {"enabled": "on"})
    assert DigestSetting.objects.get(user=member).enabled
    assert "checked" in text(member_client.get(LIST))
    member_client.post(reverse("watching:digest"))
    assert not DigestSetting.objects.get(user=member).enabled


def test_the_thread_page_costs_a_member_one_query_more_and_readers_none(client, member_client, member,
                                                                        django_assert_num_queries):
    thread = factories.thread(user=member, replies=3)
    url = thread.get_absolute_url()
    with django_assert_num_queries(3):  # as before: the version (page cache), the thread, its posts
        client.get(url)
    # the seven of forum/tests/test_views.py (session, user, permissions, moderated boards,
    # thread, posts) and one: the header's unread count with whether the member watches the thread
    with django_assert_num_queries(8):
        assert "Stop watching" in text(member_client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
