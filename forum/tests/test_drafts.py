import json

import pytest
from django.test import Client

from forum import quoting

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


# ---- pending quotes and figures kept with the draft -----------------------------------------

from forum.figures.models import Figure  # noqa: E402
from forum.figures.tests.helpers import add_figure, token  # noqa: E402
from forum.tests.test_quoting import MAIL, SECRETS, add_mail  # noqa: E402


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def kept(member, key="thread:info"):
    return Draft.objects.get(user=member, key=key).quotes


def test_a_quote_step_keeps_the_redacted_quote_in_the_draft_and_reopening_restores_it(member_client, member):
    response, quotes_token = add_mail(member_client, "/info/new/", {"body": "書きかけ"})
    (quote,) = kept(member)
    assert quote["kind"] == "mail" and "hxxps" not in quote["body"]
    assert quoting.unsign(quotes_token) == [quoting.PendingQuote.from_dict(quote)], "the form the token carries"
    stored = json.dumps(kept(member), ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in stored, secret
    page = member_client.get("/info/new/").content.decode()
    assert "書きかけ" in page and "rakuten-secure[.]top" in page and 'value="remove:0"' in page
    assert quoting.unsign(token(member_client.get("/info/new/"), "quotes_token")) == quoting.unsign(quotes_token)


def test_a_figure_step_keeps_the_figure_and_reopening_restores_it(member_client, member, media_root):
    add_figure(member_client, "/info/new/", body="図の説明を書く")
    figure = Figure.objects.get()
    assert kept(member) == [{"kind": "figure", "id": figure.pk}]
    page = member_client.get("/info/new/")
    assert f"/media/figures/{figure.name}" in page.content.decode() and token(page)
    response = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "post",
                                                 "figures_token": token(page)})
    assert response.status_code == 302 and Figure.objects.get().post is not None
    assert not Draft.objects.filter(user=member).exists(), "the draft goes once the post is made"


def test_a_failed_submit_keeps_quotes_and_figures(member_client, member, media_root):
    _, quotes_token = add_mail(member_client, "/info/new/")
    _, figures_token = add_figure(member_client, "/info/new/", quotes_token=quotes_token)
    Draft.objects.all().delete()
    response = member_client.post("/info/new/", {"title": "", "body": "題がない", "step": "post",
                                                 "quotes_token": quotes_token, "figures_token": figures_token})
    assert response.status_code == 400
    draft = Draft.objects.get(user=member)
    assert draft.body == "題がない" and [item["kind"] for item in draft.quotes] == ["mail", "figure"]


def test_the_autosave_keeps_the_pending_items_and_a_script_without_them_leaves_them(member_client, member,
                                                                                    media_root):
    _, quotes_token = add_mail(member_client, "/info/new/")
    _, figures_token = add_figure(member_client, "/info/new/", quotes_token=quotes_token)
    data = {"key": "thread:info", "body": "自動保存"}
    assert member_client.post("/drafts/", {**data, "quotes_token": "", "figures_token": ""}).status_code == 204
    assert kept(member) == []
    assert member_client.post("/drafts/", {**data, "quotes_token": quotes_token,
                                           "figures_token": figures_token}).status_code == 204
    assert [item["kind"] for item in kept(member)] == ["mail", "figure"]
    assert member_client.post("/drafts/", {**data, "body": "古いスクリプト"}).status_code == 204
    assert len(kept(member)) == 2 and Draft.objects.get().body == "古いスクリプト"
    # An expired or forged token saves the text and leaves the kept items as they were.
    assert member_client.post("/drafts/", {**data, "body": "新しい", "quotes_token": "forged"}).status_code == 204
    assert len(kept(member)) == 2 and Draft.objects.get().body == "新しい"


def test_posting_clears_the_pending_items(member_client, member):
    _, quotes_token = add_mail(member_client, "/info/new/")
    assert Draft.objects.filter(user=member).exists()
    member_client.post("/info/new/", {"title": "題", "body": "", "step": "post", "quotes_token": quotes_token})
    assert not Draft.objects.filter(user=member).exists()
    assert [block["kind"] for block in Post.objects.get().blocks] == ["quote"]


def test_an_expired_session_keeps_quotes_and_figures_through_the_login(member, media_root):
    client = Client()
    client.force_login(member)
    _, quotes_token = add_mail(client, "/info/new/")
    _, figures_token = add_figure(client, "/info/new/", quotes_token=quotes_token)
    Draft.objects.all().delete()
    client.logout()  # the session expired while the member wrote
    response = client.post("/info/new/", {"title": "大事な題", "body": "本文", "step": "post",
                                          "quotes_token": quotes_token, "figures_token": figures_token})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.post("/accounts/login/?next=/info/new/", {"username": member.username, "password": PASSWORD,
                                                     "next": "/info/new/"})
    page = client.get("/info/new/")
    text = page.content.decode()
    assert "大事な題" in text and "rakuten-secure[.]top" in text and f"/media/figures/{Figure.objects.get().name}" in text
    assert [item["kind"] for item in kept(member)] == ["mail", "figure"]
    response = client.post("/info/new/", {"title": "大事な題", "body": "本文", "step": "post",
                                          "quotes_token": token(page, "quotes_token"), "figures_token": token(page)})
    assert response.status_code == 302
    post = Post.objects.get()
    assert "quote" in [block["kind"] for block in post.blocks] and post.figures.count() == 1


def test_a_figure_the_draft_kept_that_was_pruned_is_reported(member_client, member, media_root):
    add_figure(member_client, "/info/new/", body="本文")
    Figure.objects.all().delete()
    page = member_client.get("/info/new/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "本文" in page and "not posted within a day have been deleted" in page


def test_a_draft_holding_damaged_items_still_opens(member_client, member):
    Draft.objects.create(user=member, key="thread:info", body="本文",
                         quotes=[{"kind": "mail"}, "x", {"kind": "figure", "id": "1"}, 7])
    page = member_client.get("/info/new/")
    assert page.status_code == 200 and "本文" in page.content.decode()
