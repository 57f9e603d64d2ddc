"""Sign-up needs a confirmed e-mail address (a signed link that expires) and is limited per network."""

import re
import time
import types

import pytest
from django.contrib.auth import get_user_model
from django.core import mail, signing
from django.test import Client

from forum.limits import confirmation
from forum.limits.models import PendingConfirmation
from forum.models import Post
from forum.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def signup(client, name="newcomer", **extra):
    return client.post("/accounts/signup/", {"username": name, "display_name": f"新人{name}",
                                             "email": f"{name}@example.org", "password1": PASSWORD,
                                             "password2": PASSWORD}, **EN, **extra)


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/confirm/\S+/)", message.body).group(1)


def test_sign_up_sends_a_confirmation_link_and_posting_waits_for_it(client):
    response = signup(client)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    assert confirmation.is_pending(user)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newcomer@example.org"]
    assert "confirm" in mail.outbox[0].subject.lower() or "確認" in mail.outbox[0].subject
    home = client.get("/", **EN).content.decode()
    assert "We sent a link to newcomer@example.org" in home
    refused = client.post("/info/new/", {"title": "題", "body": "本文", "step": "post"}, **EN)
    assert refused.status_code == 400 and "Confirm your e-mail address" in refused.content.decode()
    assert not Post.objects.exists()


def test_the_link_shows_a_button_and_confirms_on_post(client):
    signup(client)
    link = link_in(mail.outbox[0])
    user = get_user_model().objects.get(username="newcomer")
    page = client.get(link, **EN)
    assert page.status_code == 200 and "Confirm my address" in page.content.decode()
    assert confirmation.is_pending(user)  # a GET (a mail scanner following the link) confirms nothing
    response = client.post(link, **EN)
    assert response.status_code == 302 and response["Location"] == "/"
    assert not confirmation.is_pending(user)
    assert client.post("/info/new/", {"title": "題", "body": "確認後の本文", "step": "post"}).status_code == 302
    assert Post.objects.get().held  # a new member's first post waits for approval
    again = client.get(link, **EN)
    assert again.status_code == 302  # confirmed already: no second button


def test_the_link_works_in_another_browser_without_a_login(client):
    signup(client)
    other = Client()
    response = other.post(link_in(mail.outbox[0]), **EN)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not PendingConfirmation.objects.exists()


@pytest.mark.parametrize("damage", [lambda t: t[:-3] + "abc", lambda t: t.replace(":", "-"), lambda t: "x"])
def test_a_damaged_link_is_refused_clearly(client, damage):
    signup(client)
    token = link_in(mail.outbox[0]).split("/")[-2]
    for method in (client.get, client.post):
        response = method(f"/accounts/confirm/{damage(token)}/", **EN)
        assert response.status_code == 400 and "damaged" in response.content.decode()
    assert PendingConfirmation.objects.count() == 1


def test_an_expired_link_is_refused(client, monkeypatch, settings):
    settings.DAIOU_CONFIRMATION_DAYS = 3
    signup(client)
    link = link_in(mail.outbox[0])
    later = time.time() + 3 * 86400 + 60
    monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: later))
    response = client.post(link, **EN)
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert "Send the link again" in response.content.decode()
    assert PendingConfirmation.objects.count() == 1


def test_a_link_for_an_address_the_account_no_longer_has_is_refused(client):
    signup(client)
    get_user_model().objects.filter(username="newcomer").update(email="changed@example.org")
    response = client.post(link_in(mail.outbox[0]), **EN)
    assert response.status_code == 400 and "no longer has" in response.content.decode()


def test_the_link_does_not_carry_the_address():
    user = get_user_model().objects.create_user("x", "secret.person@example.org", PASSWORD)
    token = confirmation.make_token(user)
    assert "secret" not in signing.b64_decode(token.split(":")[0].encode()).decode(errors="replace")


def test_the_link_is_sent_again_on_request_a_few_times(client, settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "confirmation": (2, 3600)}
    signup(client)
    for _ in range(2):
        response = client.post("/accounts/confirm/again/", {"next": "/info/new/"}, **EN)
        assert response.status_code == 302 and response["Location"] == "/info/new/"
    assert len(mail.outbox) == 3
    assert link_in(mail.outbox[2]).startswith("/accounts/confirm/")
    limited = client.post("/accounts/confirm/again/", **EN)
    assert limited.status_code == 429 and "Please wait" in limited.content.decode()
    assert len(mail.outbox) == 3


def test_send_again_never_redirects_off_the_site(client):
    signup(client)
    response = client.post("/accounts/confirm/again/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_send_again_needs_a_login_and_a_post(client, member_client):
    assert client.post("/accounts/confirm/again/")["Location"].startswith("/accounts/login/")
    assert member_client.get("/accounts/confirm/again/").status_code == 405
    assert member_client.post("/accounts/confirm/again/").status_code == 302  # confirmed already: nothing sent
    assert mail.outbox == []


def test_a_mail_that_cannot_be_sent_loses_nothing(client, monkeypatch):
    def fail(*args, **kwargs):
        raise ConnectionRefusedError("no SMTP server")

    monkeypatch.setattr(confirmation, "send_mail", fail)
    response = signup(client)
    assert response.status_code == 302
    assert confirmation.is_pending(get_user_model().objects.get(username="newcomer"))
    assert "could not be sent" in client.get("/", **EN).content.decode()


def test_sign_up_is_limited_per_network(settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "signup": (2, 3600)}
    assert [signup(Client(), f"n{i}", REMOTE_ADDR="203.0.113.5").status_code for i in range(2)] == [302, 302]
    limited = signup(Client(), "n2", REMOTE_ADDR="203.0.113.5")
    assert limited.status_code == 429
    page = limited.content.decode()
    assert "Too many accounts were made from your network" in page and 'value="n2"' in page
    assert not get_user_model().objects.filter(username="n2").exists()
    assert signup(Client(), "n3", REMOTE_ADDR="198.51.100.9").status_code == 302


def test_behind_a_proxy_sign_up_is_counted_per_forwarded_address(settings):
    settings.DAIOU_BEHIND_PROXY = True
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "signup": (1, 3600)}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    assert signup(Client(), "a", HTTP_X_FORWARDED_FOR="203.0.113.5", **proxy).status_code == 302
    assert signup(Client(), "b", HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy).status_code == 302
    # Writing another first hop does not help: the proxy's own (last) hop counts.
    assert signup(Client(), "c", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.5", **proxy).status_code == 429


def test_a_banned_e_mail_domain_may_not_sign_up(client):
    from forum.moderation.models import Ban

    Ban.objects.create(kind=Ban.Kind.DOMAIN, value="example.org", reason="throwaway addresses")
    response = signup(client)
    assert response.status_code == 400 and "not possible" in response.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()
    assert mail.outbox == []


def test_accounts_made_elsewhere_count_as_confirmed(member):
    assert not confirmation.is_pending(member)
    assert not confirmation.is_pending(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
