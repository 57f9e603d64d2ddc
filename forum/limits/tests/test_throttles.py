"""Login throttling and the rate limits of searching and the indicator lookup: HTTP 429 and a
friendly page, never a 500."""

import pytest
from django.test import Client

from forum.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def login_limits(settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "login_account": (5, 900), "login_ip": (8, 900)}


def log_in(username, password="wrong password", ip="198.51.100.7"):
    return Client().post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **EN)


def test_five_failures_block_the_account_for_fifteen_minutes(member, login_limits, clock):
    assert [log_in(member.username).status_code for _ in range(5)] == [200] * 5
    blocked = log_in(member.username, PASSWORD)  # even the right password, now
    assert blocked.status_code == 429
    assert "Too many failed logins" in blocked.content.decode()
    assert blocked["Retry-After"] == "900"
    assert "_auth_user_id" not in blocked.wsgi_request.session
    # From elsewhere too: the account is what is attacked.
    assert log_in(member.username, PASSWORD, ip="203.0.113.80").status_code == 429
    clock["t"] += 900
    assert log_in(member.username, PASSWORD).status_code == 302


def test_a_name_without_an_account_is_throttled_the_same_way(member, login_limits):
    """Nobody learns from the throttle which names have accounts."""
    taken = [(r.status_code, r.content.decode().count("errorlist")) for r in
             (log_in(member.username, ip="198.51.100.7") for _ in range(6))]
    free = [(r.status_code, r.content.decode().count("errorlist")) for r in
            (log_in("nobody-has-this-name", ip="198.51.100.8") for _ in range(6))]
    assert taken == free
    assert [status for status, _ in free] == [200] * 5 + [429]


def test_one_network_trying_many_accounts_is_blocked(member, other_member, login_limits):
    names = [f"guess{n}" for n in range(8)]
    assert all(log_in(name).status_code == 200 for name in names)
    assert log_in(member.username, PASSWORD).status_code == 429  # the network, not the account
    assert log_in(other_member.username, PASSWORD, ip="203.0.113.80").status_code == 302


def test_successful_logins_are_not_counted(member, login_limits):
    for _ in range(10):
        assert log_in(member.username, PASSWORD).status_code == 302


def test_the_user_name_is_counted_whatever_its_case(member, login_limits):
    for _ in range(5):
        log_in(member.username.upper())
    assert log_in(member.username, PASSWORD).status_code == 429


def test_the_login_page_still_refuses_open_redirects(member):
    response = Client().post("/accounts/login/", {"username": member.username, "password": PASSWORD,
                                                  "next": "https://evil.example/"})
    assert response["Location"] == "/"


# --- searching and the lookup ---------------------------------------------------------------------

def test_searching_is_limited_per_reader(client, settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "search": (3, 60)}
    assert [client.get("/search/", {"q": f"楽天 {n}"}).status_code for n in range(3)] == [200] * 3
    limited = client.get("/search/", {"q": "楽天"}, **EN)
    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode() and int(limited["Retry-After"]) > 0
    assert client.get("/search/").status_code == 200  # the empty form is not counted
    assert Client(REMOTE_ADDR="203.0.113.80").get("/search/", {"q": "楽天"}).status_code == 200


def test_members_are_counted_apart_from_their_network(client, member_client, settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "search": (1, 60)}
    assert client.get("/search/", {"q": "a"}).status_code == 200
    assert member_client.get("/search/", {"q": "a"}).status_code == 200
    assert member_client.get("/search/", {"q": "a"}).status_code == 429


def test_the_indicator_lookup_page_and_api_share_a_limit(client, settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "lookup": (2, 60)}
    assert client.get("/indicators/", {"q": "example.com"}).status_code == 200
    assert client.get("/api/indicators.json", {"q": "example.com"}).status_code == 200
    page = client.get("/indicators/", {"q": "example.com"}, **EN)
    assert page.status_code == 429 and "Too many requests" in page.content.decode()
    api = client.get("/api/indicators.json", {"q": "example.com"}, **EN)
    assert api.status_code == 429 and api["Content-Type"].startswith("application/json")
    assert "Too many requests" in api.json()["error"] and api["Cache-Control"] == "no-store"
    assert client.get("/indicators/").status_code == 200  # the list without a lookup is not counted


def test_the_429_page_is_in_japanese_by_default(client, settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "search": (0, 60)}
    page = client.get("/search/", {"q": "x"}).content.decode()
    assert "Too many requests" not in page and "秒" in page


@pytest.mark.parametrize("path, field, extra", [
    ("/accounts/delete/", "password", {"confirm": "on"}),
    ("/accounts/password_change/", "old_password", {"new_password1": "a new long passphrase 8", "new_password2": "a new long passphrase 8"}),
])
def test_wrong_current_passwords_elsewhere_count_as_failed_logins(member, login_limits, clock, path, field, extra):
    # An open session is no faster way to guess the password than the login form.
    session = Client()
    session.force_login(member)
    for _ in range(5):
        wrong = session.post(path, {field: "wrong password", **extra}, REMOTE_ADDR="198.51.100.7", **EN)
        assert wrong.status_code in (200, 400) and "not your current password" in wrong.content.decode().replace("&#x27;", "'")
    right = session.post(path, {field: PASSWORD, **extra}, REMOTE_ADDR="198.51.100.7", **EN)
    assert right.status_code == 429 and "Too many failed logins" in right.content.decode()
    assert right["Retry-After"] == "900"  # the limits' clock stands still (six password checks took over a second)
    member.refresh_from_db()
    assert member.is_active and member.check_password(PASSWORD)  # neither deleted nor changed
    assert log_in(member.username, PASSWORD, ip="203.0.113.80").status_code == 429  # and the login is blocked too


def test_the_right_old_password_still_changes_it(member, login_limits):
    session = Client()
    session.force_login(member)
    changed = session.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": "a new long passphrase 8", "new_password2": "a new long passphrase 8"})
    assert changed.status_code == 302
    member.refresh_from_db()
    assert member.check_password("a new long passphrase 8")
