"""Bans enforced: refusal_for, posting in the browser and through forum.actions, sign-up."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from forum import actions
from forum.models import Post, Thread
from forum.moderation import actions as moderation
from forum.moderation.bans import refusal_for
from forum.moderation.models import Ban
from forum.tests import factories

pytestmark = pytest.mark.django_db


def test_refusal_for_each_kind(moderator, member):
    assert refusal_for(user=member) is None
    moderation.sanction_member(member=member, actor=moderator, reason="荒らし", kind=Ban.Kind.SILENCE, days=2)
    assert refusal_for(user=member, action="post") and refusal_for(user=member, action="edit")
    assert refusal_for(user=member, action="report") is None  # silenced members may still report
    moderation.ban_address(kind=Ban.Kind.DOMAIN, value="spam.example", actor=moderator, reason="使い捨て")
    moderation.ban_address(kind=Ban.Kind.EMAIL, value="Bad@Example.org", actor=moderator, reason="荒らし")
    moderation.ban_address(kind=Ban.Kind.IP, value="2001:db8:1::/48", actor=moderator, reason="荒らし")
    assert refusal_for(email="x@mail.spam.example", action="signup")
    assert refusal_for(email="bad@example.org", action="signup")
    assert refusal_for(email="good@example.org", action="signup") is None
    assert refusal_for(ip="2001:db8:1:2::5", action="post") and refusal_for(ip="2001:db8:1:2::5", action="signup")
    assert refusal_for(ip="2001:db8:2::5", action="post") is None
    assert refusal_for(ip="not an address", action="post") is None
    with pytest.raises(ValueError):
        refusal_for(user=member, action="fly")


def test_a_ban_ends_when_its_period_ends(moderator, member):
    ban = moderation.sanction_member(member=member, actor=moderator, reason="荒らし", kind=Ban.Kind.SUSPEND, days=1)
    assert refusal_for(user=member)
    Ban.objects.filter(pk=ban.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert refusal_for(user=member) is None


def test_a_ban_refuses_from_its_start_until_it_ends_or_is_lifted(member, other_member):
    """refusal_for's query leaves the times to each row: a ban not started, ended or lifted
    refuses nothing; a member's and an address's, for IPv4 and IPv6, each refuse on their own."""
    now = timezone.now()
    ban = Ban.objects.create(kind=Ban.Kind.SILENCE, user=member, reason="荒らし", starts_at=now + timedelta(hours=1))
    assert refusal_for(user=member, ip="192.0.2.1") is None
    Ban.objects.filter(pk=ban.pk).update(starts_at=now - timedelta(hours=1))
    assert refusal_for(user=member, ip="192.0.2.1") and refusal_for(user=member, ip="2001:db8::1")
    assert refusal_for(user=member) and refusal_for(user=other_member, ip="192.0.2.1") is None
    Ban.objects.filter(pk=ban.pk).update(lifted_at=now)
    assert refusal_for(user=member) is None
    ip_ban = Ban.objects.create(kind=Ban.Kind.IP, value="192.0.2.0/24", reason="荒らし")
    assert refusal_for(user=other_member, ip="192.0.2.1") and refusal_for(ip="192.0.2.200", action="signup")
    assert refusal_for(user=other_member, ip="192.0.3.1") is None
    Ban.objects.filter(pk=ip_ban.pk).update(ends_at=now - timedelta(seconds=1))
    assert refusal_for(ip="192.0.2.1") is None


def test_a_silenced_moderator_of_a_board_is_refused_by_the_action(member, member_client):
    """The gate lets moderators through without asking about bans (Decision.bans_checked is
    false): the action asks."""
    from forum.moderation.models import BoardModerator

    thread = factories.thread(user=member)
    BoardModerator.objects.create(user=member, board=factories.board())
    Ban.objects.create(kind=Ban.Kind.SILENCE, user=member, reason="荒らし")
    response = member_client.post(f"/info/{thread.number}/reply/", {"body": "返信", "step": "post"},
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "You have been silenced" in response.content.decode()
    with pytest.raises(actions.ActionRefused):
        actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="返信"))
    assert Post.objects.count() == 1


def test_a_suspended_member_cannot_post_anywhere(moderator, member, member_client):
    thread = factories.thread(user=member)
    moderation.sanction_member(member=member, actor=moderator, reason="荒らし", kind=Ban.Kind.ACCOUNT)
    response = member_client.post(f"/info/{thread.number}/reply/", {"body": "返信"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (400, 403) and "This account is banned" in response.content.decode()
    with pytest.raises(actions.ActionRefused):
        actions.create_thread(board=factories.board(), user=member, title="題", fields=actions.PostFields(body="本文"))
    with pytest.raises(actions.ActionRefused):
        actions.edit_post(post=thread.posts.get(), user=member, fields=actions.PostFields(body="直す"))
    assert Post.objects.count() == 1 and Thread.objects.count() == 1


def test_a_banned_ip_range_cannot_post_or_sign_up(moderator, member_client, member, client):
    thread = factories.thread(user=member)
    moderation.ban_address(kind=Ban.Kind.IP, value="198.51.100.0/24", actor=moderator, reason="荒らし")
    response = member_client.post(f"/info/{thread.number}/reply/", {"body": "返信"}, REMOTE_ADDR="198.51.100.9",
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (400, 403) and "not possible from this network" in response.content.decode()
    assert Post.objects.count() == 1
    signup = {"username": "newbie", "display_name": "新人", "email": "newbie@example.org",
              "password1": "a long passphrase for tests", "password2": "a long passphrase for tests"}
    response = client.post("/accounts/signup/", signup, REMOTE_ADDR="198.51.100.10", HTTP_ACCEPT_LANGUAGE="en")
    assert "not possible from this network" in response.content.decode()
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_a_banned_address_cannot_sign_up(moderator, client):
    moderation.ban_address(kind=Ban.Kind.DOMAIN, value="throwaway.example", actor=moderator, reason="使い捨て")
    signup = {"username": "newbie", "display_name": "新人", "email": "me@throwaway.example",
              "password1": "a long passphrase for tests", "password2": "a long passphrase for tests"}
    response = client.post("/accounts/signup/", signup, HTTP_ACCEPT_LANGUAGE="en")
    assert "this e-mail address is not possible" in response.content.decode()
    assert not get_user_model().objects.filter(username="newbie").exists()


def test_sanctions_from_the_member_page_and_bans_page(moderator_client, member):
    response = moderator_client.post(f"/moderation/member/{member.pk}/", {"kind": "silence", "days": "", "reason": "r"},
                                     HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "how many days" in response.content.decode()
    assert moderator_client.post(f"/moderation/member/{member.pk}/",
                                 {"kind": "silence", "days": 3, "reason": "荒らし"}).status_code == 302
    assert Ban.objects.active().filter(user=member, kind="silence").exists()
    assert moderator_client.post("/moderation/bans/", {"kind": "ip", "value": "0.0.0.0/0", "reason": "r"}).status_code == 400
    assert moderator_client.post("/moderation/bans/",
                                 {"kind": "email", "value": "x@example.org", "reason": "荒らし"}).status_code == 302
    ban = Ban.objects.get(kind="email")
    assert moderator_client.post(f"/moderation/bans/{ban.pk}/lift/", {"reason": ""}).status_code == 400
    assert moderator_client.post(f"/moderation/bans/{ban.pk}/lift/", {"reason": "間違い"}).status_code == 302
    assert not Ban.objects.active().filter(kind="email").exists()
