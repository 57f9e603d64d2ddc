import pytest
from django.test import Client

from forum.models import Draft, Post, Thread
from forum.tests import factories
from forum.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_failed_submit_keeps_the_text_as_a_draft(member_client, member):
    response = member_client.post("/info/new/", {"title": "", "body": "書きかけの長い本文"})
    assert response.status_code == 400
    assert Draft.objects.get(user=member, key="thread:info").body == "書きかけの長い本文"
    page = member_client.get("/info/new/").content.decode()
    assert "書きかけの長い本文" in page and "下書きを復元しました" in page


def test_the_draft_goes_once_the_post_is_made(member_client, member):
    member_client.post("/drafts/", {"key": "thread:info", "title": "題", "body": "下書き"})
    assert Draft.objects.filter(user=member).count() == 1
    member_client.post("/info/new/", {"title": "題", "body": "本文"})
    assert Draft.objects.filter(user=member).count() == 0


def test_the_autosave_endpoint_keeps_the_latest_text(member_client, member):
    thread = factories.thread(user=member)
    for body in ("一", "一二", "一二三"):
        assert member_client.post("/drafts/", {"key": f"reply:{thread.pk}", "body": body}).status_code == 204
    assert Draft.objects.get(user=member, key=f"reply:{thread.pk}").body == "一二三"
    assert f"一二三" in member_client.get(f"/info/{thread.number}/reply/").content.decode()


@pytest.mark.parametrize("data", [{"key": "../../etc", "body": "x"}, {"key": "thread:info", "body": "\x00"},
                                  {"key": "reply:" + "9" * 30, "body": "x"}])
def test_the_autosave_endpoint_refuses_bad_input(member_client, data):
    assert member_client.post("/drafts/", data).status_code == 400
    assert Draft.objects.count() == 0


def test_the_autosave_endpoint_is_for_members(client):
    assert client.post("/drafts/", {"key": "thread:info", "body": "x"}).status_code == 403


def test_an_expired_session_loses_nothing(member):
    client = Client()
    # The member's session has expired: the submit arrives anonymous.
    response = client.post("/info/new/", {"title": "大事な題", "body": "長い時間をかけて書いた本文"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/info/new/")
    assert Thread.objects.count() == 0
    response = client.post("/accounts/login/?next=/info/new/",
                           {"username": member.username, "password": PASSWORD, "next": "/info/new/"})
    assert response["Location"] == "/info/new/"
    page = client.get("/info/new/").content.decode()
    assert "長い時間をかけて書いた本文" in page and "大事な題" in page
    assert Draft.objects.get(user=member).body == "長い時間をかけて書いた本文"
    assert Post.objects.count() == 0
