import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from forum.models import Profile
from forum.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SIGNUP = {"username": "newcomer", "display_name": "新人", "email": "newcomer@example.org",
          "password1": PASSWORD, "password2": PASSWORD}


def test_signup_makes_a_member_with_a_profile_and_logs_in(client):
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    assert user.profile.display_name == "新人"
    assert "newcomer" in client.get("/").content.decode()


@pytest.mark.parametrize("change", [{"display_name": "磯津千由紀"}, {"display_name": "ｉｓｏｚｕ"},
                                    {"email": "ISOZU@example.org"}, {"password2": "different"},
                                    {"display_name": "二行\n名前"}, {"username": "isozu"}])
def test_signup_refuses_taken_or_bad_details(client, change):
    from forum.tests.factories import UserFactory

    UserFactory(username="isozu", email="isozu@example.org", profile__display_name="磯津千由紀")
    UserFactory(profile__display_name="Isozu")
    response = client.post("/accounts/signup/", {**SIGNUP, **change})
    assert response.status_code == 400
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_login_and_logout(client, member):
    response = client.post("/accounts/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.post("/accounts/logout/").status_code == 302
    assert "ログイン" in client.get("/").content.decode()


def test_login_next_never_leaves_the_site(client, member):
    response = client.post("/accounts/login/", {"username": member.username, "password": PASSWORD,
                                                "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_password_reset_sends_a_working_link(client, member):
    client.post("/accounts/password_reset/", {"email": member.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"})
    assert response.status_code == 302
    assert client.login(username=member.username, password="a brand new passphrase")


def test_profile_edit(member_client, member):
    response = member_client.post("/accounts/profile/", {"display_name": "磯津", "handle": "寫眞機廢人",
                                                         "device": "ThinkPad T520", "os": "Win10Pro64bit"})
    assert response.status_code == 302
    member.profile.refresh_from_db()
    assert (member.profile.display_name, member.profile.device) == ("磯津", "ThinkPad T520")
    assert 'value="ThinkPad T520"' in member_client.get("/info/new/").content.decode()


def test_profile_needs_login(client):
    assert client.get("/accounts/profile/")["Location"].startswith("/accounts/login/")
