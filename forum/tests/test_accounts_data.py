"""A member's own data (forum.accounts): the download, deleting the account, the privacy page."""

import json
import re

import pytest
from django.contrib.auth import get_user_model

from forum import accounts, actions, search_text
from forum.models import Draft, Post, Profile, SearchDocument, Thread
from forum.moderation import actions as moderation
from forum.moderation.models import ModerationLog, Report
from forum.tests import factories
from forum.tests.factories import PASSWORD
from forum.watching.models import DigestSetting, Notification, Watch

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(member, other_member):
    """The member started a thread the other member replied to, replied to the other's thread,
    keeps a draft, reported a post and has a notice and the digest on."""
    own = factories.thread(user=member, title="会員のスレッド", body="会員の本文です。", device="iPhone", os="iOS")
    actions.create_reply(thread=own, user=other_member, fields=actions.PostFields(body="他の会員の返信。"))
    theirs = factories.thread(user=other_member, title="他の会員のスレッド", body="他の会員の本文。")
    actions.create_reply(thread=theirs, user=member, fields=actions.PostFields(body="会員の返信です。"))
    actions.save_draft(user=member, key="reply:1", body="書きかけの下書き")
    actions.save_draft(user=other_member, key="reply:1", body="他の会員の下書き")
    other_post = Post.objects.get(thread=theirs, position=1)
    moderation.file_report(reporter=member, reason="spam", note="宣伝です", post=other_post)
    DigestSetting.objects.create(user=member, enabled=True)
    return own, theirs


def test_the_download_holds_the_members_data_and_nobody_elses(member_client, member, other_member, history):
    response = member_client.get("/accounts/data/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="daiou-{member.username}-data.json"'
    data = json.loads(response.content)
    assert data["account"]["username"] == member.username
    assert data["account"]["email"] == member.email
    assert data["profile"]["display_name"] == "磯津千由紀"
    assert [(p["thread"]["title"], p["position"], p["source"]) for p in data["posts"]] == [
        ("会員のスレッド", 1, "会員の本文です。"), ("他の会員のスレッド", 2, "会員の返信です。")]
    assert data["posts"][0]["device"] == "iPhone" and data["posts"][0]["hidden"] is False
    assert [d["body"] for d in data["drafts"]] == ["書きかけの下書き"]
    assert [(r["note"], r["post"]["position"]) for r in data["reports"]] == [("宣伝です", 1)]
    assert {w["thread"]["title"] for w in data["watches"]} == {"会員のスレッド", "他の会員のスレッド"}
    assert [n["thread"]["title"] for n in data["notifications"]] == ["会員のスレッド"]
    assert data["digest"]["enabled"] is True
    text = response.content.decode()
    for theirs in (other_member.username, other_member.email, "シバケン", "他の会員の返信。", "他の会員の下書き"):
        assert theirs not in text


def test_deleting_with_a_wrong_password_changes_nothing(member_client, member, history):
    response = member_client.post("/accounts/delete/", {"password": "wrong", "confirm": "on"})
    assert response.status_code == 400
    assert "現在のパスワードと違います。何も変更していません。" in response.content.decode()
    response = member_client.post("/accounts/delete/", {"password": PASSWORD})  # the box not ticked
    assert response.status_code == 400
    assert get_user_model().objects.filter(pk=member.pk).exists()
    assert Post.objects.filter(author=member).count() == 2
    assert member_client.get("/accounts/profile/").status_code == 200


def test_deleting_the_account_anonymises_the_posts_and_removes_the_rest(
        client, member_client, member, other_member, history, django_capture_on_commit_callbacks):
    own, theirs = history
    pk = member.pk
    assert member_client.get("/accounts/delete/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "on"})
    assert response.status_code == 302
    assert not get_user_model().objects.filter(pk=pk).exists()
    # Logged out: the member's pages send the login page.
    assert member_client.get("/accounts/profile/").status_code == 302
    for model, field in ((Profile, "user_id"), (Draft, "user_id"), (Watch, "user_id"), (Notification, "user_id"),
                         (DigestSetting, "user_id")):
        assert not model.objects.filter(**{field: pk}).exists(), model
    assert Draft.objects.filter(user=other_member).exists()
    # The report stays, without its reporter.
    assert Report.objects.get(note="宣伝です").reporter_id is None
    own.refresh_from_db()
    assert (own.originator_id, own.originator_name) == (None, accounts.DELETED_MEMBER)
    anonymised = Post.objects.get(thread=own, position=1)
    assert (anonymised.author_id, anonymised.author_name, anonymised.handle, anonymised.device, anonymised.os) == (
        None, accounts.DELETED_MEMBER, "", "", "")
    assert anonymised.source == "会員の本文です。"
    other = Post.objects.get(thread=own, position=2)
    assert (other.author_id, other.author_name) == (other_member.pk, "シバケン")
    page = client.get(own.get_absolute_url()).content.decode()
    assert accounts.DELETED_MEMBER in page and "会員の本文です。" in page and "シバケン" in page
    assert "磯津千由紀" not in page and "寫眞機廢人" not in page
    page = client.get(theirs.get_absolute_url()).content.decode()
    assert "会員の返信です。" in page and "磯津千由紀" not in page
    # The author's name leaves the search index.
    body = SearchDocument.objects.get(post=anonymised).body
    assert search_text.fold(accounts.DELETED_MEMBER) in body and search_text.fold("磯津千由紀") not in body
    log = ModerationLog.objects.get(action=ModerationLog.Action.DELETE_ACCOUNT)
    assert (log.actor_id, log.target) == (None, f"member #{pk}")
    assert member.username not in str(log.__dict__)


def test_a_thread_page_cached_before_the_deletion_is_not_served_after_it(client, member, history):
    own, _theirs = history
    assert "磯津千由紀" in client.get(own.get_absolute_url()).content.decode()
    version = own.version
    accounts.delete_account(member)
    assert Thread.objects.get(pk=own.pk).version > version
    assert "磯津千由紀" not in client.get(own.get_absolute_url()).content.decode()


def test_anonymous_readers_are_sent_to_log_in(client):
    for url in ("/accounts/data/", "/accounts/delete/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "on"}).status_code == 302


def test_deleting_needs_a_csrf_token(member):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert client.post("/accounts/delete/", {"password": PASSWORD, "confirm": "on"}).status_code == 403
    assert get_user_model().objects.filter(pk=member.pk).exists()


def test_the_privacy_page_is_public_and_linked(client, member_client):
    response = client.get("/privacy/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "/contact/removal/" in html and "14" in html  # Django's session age: two weeks
    assert 'href="/privacy/"' in client.get("/").content.decode()
    english = client.get("/privacy/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Privacy policy" in english and "14 days" in english
    assert "プライバシーポリシー" in html and "14 日後" in html
    profile = member_client.get("/accounts/profile/").content.decode()
    assert 'href="/accounts/data/"' in profile and 'href="/accounts/delete/"' in profile


def test_a_banned_member_who_deletes_the_account_stays_banned_by_address(member, moderator):
    from forum.moderation import bans
    from forum.moderation.models import Ban

    member.email = "Banned.Member@example.com"
    member.save()
    Ban.objects.create(kind=Ban.Kind.ACCOUNT, user=member, reason="spam", created_by=moderator)
    accounts.delete_account(member, reason="deleted their own account")
    assert bans.refusal_for(email="banned.member@example.com", action=bans.SIGNUP)
    assert Ban.objects.filter(kind=Ban.Kind.EMAIL, value="banned.member@example.com", ends_at=None).exists()


def test_a_member_in_good_standing_leaves_no_address_behind(member):
    from forum.moderation.models import Ban

    accounts.delete_account(member, reason="deleted their own account")
    assert not Ban.objects.filter(kind=Ban.Kind.EMAIL).exists()
