"""The new-member gate's decision (forum.limits.gate.decide), rule by rule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from forum import actions
from forum.actions import PostFields
from forum.limits import confirmation, gate
from forum.models import Post
from forum.quoting import PendingQuote
from forum.tests import factories
from forum.tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("gate_settings")]

NOW = timezone.now()
LIVE = "https://www.nikkei.com/article/1"  # nikkei.com is on the allowlist (migration 0007)


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def decide(user, body="本文です。", *, seconds=0, client_token="", **fields):
    return gate.decide(user, fields=PostFields(body=body, **fields), ip="198.51.100.7",
                       now=NOW + timedelta(seconds=seconds), client_token=client_token)


def member_with_history(*, approved: int, days: int, held: int = 0, hidden: int = 0):
    user = UserFactory()
    user.date_joined = NOW - timedelta(days=days)
    user.save()
    thread = factories.thread(user=factories.UserFactory())
    for n in range(approved + held + hidden):
        post = actions.create_reply(thread=thread, user=user, fields=PostFields(body=f"過去の投稿 {n}"))
        Post.objects.filter(pk=post.pk).update(held=n >= approved and n < approved + held, hidden=n >= approved + held)
    return user


def mail_quote(body: str) -> PendingQuote:
    return PendingQuote(kind="mail", headers=[("Subject", "ご確認")], body=body, html="", html_text="", attachments=[])


# --- who is gated ----------------------------------------------------------------------------------

def test_staff_and_moderators_are_never_gated(moderator, admin_user):
    pending_staff = UserFactory(is_staff=True)
    confirmation.require(pending_staff)
    for user in (moderator, admin_user, pending_staff):
        for n in range(3):  # quickly, the same links-heavy text every time
            assert decide(user, f"{LIVE} {LIVE}/2 {LIVE}/3", seconds=n).outcome == gate.ALLOW


def test_a_moderator_of_one_board_is_not_gated(new_member):
    from forum.moderation.models import BoardModerator

    BoardModerator.objects.create(user=new_member, board=factories.board("info"))
    assert decide(new_member, f"{LIVE} {LIVE}/2 {LIVE}/3").outcome == gate.ALLOW


def test_the_role_fixtures_are_established_and_the_new_member_is_not(member, other_member, new_member):
    assert gate.standing(member).established and gate.standing(other_member).established
    assert not gate.standing(new_member).established and gate.standing(new_member).held


@pytest.mark.parametrize("approved, days, held, hidden, established, holds", [
    (3, 8, 0, 0, True, False),    # enough approved posts, old enough
    (3, 2, 0, 0, False, False),   # approved, but the account is too young: new, but not held
    (5, 6, 0, 0, False, False),
    (2, 30, 1, 0, False, True),   # a post still waiting does not count
    (2, 30, 0, 4, False, True),   # nor do posts a moderator hid
    (0, 400, 0, 0, False, True),
])
def test_established_means_approved_posts_and_an_old_enough_account(approved, days, held, hidden, established, holds):
    user = member_with_history(approved=approved, days=days, held=held, hidden=hidden)
    standing = gate.standing(user, NOW)
    assert (standing.established, standing.held) == (established, holds)
    assert decide(user).outcome == (gate.HOLD if holds else gate.ALLOW)


def test_the_settings_decide_what_established_means(settings):
    user = member_with_history(approved=1, days=2)
    assert not gate.standing(user, NOW).established
    settings.DAIOU_HELD_POSTS, settings.DAIOU_ESTABLISHED_DAYS = 1, 1
    assert gate.standing(user, NOW).established


# --- held for approval -------------------------------------------------------------------------------

def test_a_new_members_posts_are_held_until_enough_are_approved(new_member):
    decision = decide(new_member)
    assert (decision.outcome, decision.code) == (gate.HOLD, "held")
    assert "approval" in decision.reason
    thread = factories.thread(user=UserFactory())
    for n in range(3):
        post = actions.create_reply(thread=thread, user=new_member, fields=PostFields(body=f"返信 {n}"),
                                              held=True)
        assert decide(new_member, f"次 {n}", seconds=31 * (n + 1)).held
        Post.objects.filter(pk=post.pk).update(held=False)  # a moderator approves it
    # Three approved posts: no longer held, though still new (the account is a day old).
    assert decide(new_member, "四つ目", seconds=200).outcome == gate.ALLOW
    assert not gate.standing(new_member).established


# --- links -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, live", [
    (f"{LIVE} と {LIVE}/2", 2),
    (f"{LIVE}\n\n[記事](https://www.asahi.com/x) <https://mainichi.jp/y>", 3),
    ("https://rakuten-co-jp.example/login https://evil.example/a https://evil.example/b", 0),  # shown defanged
    (f"```\n{LIVE}\n{LIVE}/2\n{LIVE}/3\n```", 0),  # code is never linked
    ("hxxps://www[.]nikkei[.]com/a hxxps://www[.]nikkei[.]com/b hxxps://nikkei[.]com/c", 0),  # defanged already
    ("mailto:a@example.org と [書く](mailto:b@example.org)", 2),  # clickable too
])
def test_live_links_are_the_ones_readers_can_click(body, live):
    assert gate.live_links(body) == live


def test_a_new_member_may_post_at_most_two_live_links(new_member):
    assert decide(new_member, f"{LIVE} {LIVE}/2").held
    refused = decide(new_member, f"{LIVE} {LIVE}/2 https://www.asahi.com/z", seconds=60)
    assert (refused.outcome, refused.code) == (gate.REFUSE, "links")
    assert "at most 2 clickable links" in refused.reason and "has 3" in refused.reason


def test_links_in_quoted_mails_and_defanged_addresses_are_not_counted(new_member):
    quote = mail_quote(f"{LIVE} {LIVE}/2 {LIVE}/3 https://phish.example/login")
    assert not decide(new_member, "このメールが届きました https://phish.example/a https://phish.example/b "
                                  "https://phish.example/c", quotes=(quote,)).refused


def test_established_members_may_post_more_links(member):
    assert decide(member, " ".join(f"{LIVE}/{n}" for n in range(10))).outcome == gate.ALLOW


def test_the_link_limit_is_a_setting(new_member, settings):
    settings.DAIOU_NEW_MEMBER_LINKS = 0
    assert decide(new_member, LIVE).code == "links"


# --- flood interval and duplicates -------------------------------------------------------------------

def test_an_established_member_waits_fifteen_seconds_between_posts(member):
    assert decide(member, "一つ目").outcome == gate.ALLOW
    too_soon = decide(member, "二つ目", seconds=10)
    assert (too_soon.outcome, too_soon.code, too_soon.status) == (gate.REFUSE, "flood", 429)
    assert too_soon.retry_after == 5 and "15 seconds" in too_soon.reason
    assert decide(member, "二つ目", seconds=15).outcome == gate.ALLOW


def test_a_new_member_waits_thirty_seconds(new_member):
    assert decide(new_member, "一つ目").held
    assert decide(new_member, "二つ目", seconds=29).code == "flood"
    assert decide(new_member, "二つ目", seconds=30).held


def test_the_flood_interval_is_per_member(member, other_member):
    assert not decide(member, "一つ目").refused
    assert not decide(other_member, "一つ目").refused


def test_a_refused_post_does_not_use_up_the_interval(new_member):
    assert decide(new_member, f"{LIVE} {LIVE}/2 {LIVE}/3").code == "links"
    assert decide(new_member, "直しました", seconds=1).held


def test_the_same_text_twice_is_refused_for_ten_minutes(member):
    assert not decide(member, "同じ本文").refused
    duplicate = decide(member, "同じ本文", seconds=20)
    assert (duplicate.code, duplicate.status) == ("duplicate", 400)
    assert decide(member, " 同じ本文\n", seconds=40).code == "duplicate"  # white space around it aside
    assert not decide(member, "違う本文", seconds=60).refused
    assert not decide(member, "同じ本文", seconds=620).refused


def test_the_same_text_by_another_member_is_no_duplicate(member, other_member):
    assert not decide(member, "同じ本文").refused
    assert not decide(other_member, "同じ本文").refused


def test_posts_of_quoted_mails_alone_are_told_apart_by_the_mails(member):
    assert not decide(member, "", quotes=(mail_quote("一通目"),)).refused
    assert not decide(member, "", quotes=(mail_quote("二通目"),), seconds=20).refused
    assert decide(member, "", quotes=(mail_quote("一通目"),), seconds=40).code == "duplicate"


def test_a_duplicate_refused_for_flood_is_not_remembered(member):
    assert not decide(member, "一つ目").refused
    assert decide(member, "二つ目", seconds=5).code == "flood"
    assert not decide(member, "二つ目", seconds=16).refused


def test_a_form_sent_twice_at_once_is_not_refused_as_too_soon(new_member):
    """A double click: both sends reach the gate before either post exists; the actions then
    make one post of them (the composer's one-time token)."""
    token = "t" * 32
    assert decide(new_member, "一つ目", client_token=token).held
    assert decide(new_member, "一つ目", seconds=1, client_token=token).held
    assert decide(new_member, "別の本文", seconds=2, client_token="u" * 32).code == "flood"
    assert decide(new_member, "別の本文", seconds=3).code == "flood"


def test_a_form_refused_as_too_soon_is_not_let_through_when_sent_again(new_member):
    assert decide(new_member, "一つ目").held
    token = "t" * 32
    assert decide(new_member, "二つ目", seconds=5, client_token=token).code == "flood"
    assert decide(new_member, "二つ目", seconds=6, client_token=token).code == "flood"
    assert decide(new_member, "二つ目", seconds=30, client_token=token).held


def test_zero_turns_the_flood_interval_and_duplicate_check_off(member, settings):
    settings.DAIOU_FLOOD_SECONDS = settings.DAIOU_DUPLICATE_SECONDS = 0
    assert [decide(member, "同じ").outcome for _ in range(3)] == [gate.ALLOW] * 3


# --- confirmation and bans ---------------------------------------------------------------------------

def test_an_unconfirmed_member_may_not_post(new_member):
    confirmation.require(new_member)
    refused = decide(new_member)
    assert (refused.outcome, refused.code) == (gate.REFUSE, "unconfirmed")
    assert new_member.email in refused.reason
    confirmation.confirm(new_member)
    assert decide(new_member).held


def test_bans_are_asked_with_the_ip_address(member):
    from forum.moderation.models import Ban

    Ban.objects.create(kind=Ban.Kind.IP, value="198.51.100.0/24", reason="spam")
    refused = decide(member)
    assert (refused.outcome, refused.code) == (gate.REFUSE, "banned")
    assert not gate.decide(member, fields=PostFields(body="x"), ip="203.0.113.1", now=NOW).refused


def test_the_decision_says_whether_the_gate_checked_the_bans(member, new_member, moderator):
    """The action is told rather than asking again; staff are not gated: their bans are left to it."""
    assert decide(member).bans_checked
    held = decide(new_member)
    assert held.held and held.bans_checked
    assert not decide(moderator).bans_checked


def test_a_silenced_member_may_not_post(member):
    from forum.moderation.models import Ban

    Ban.objects.create(kind=Ban.Kind.SILENCE, user=member, reason="flame war", ends_at=NOW + timedelta(days=1))
    assert decide(member).code == "banned"


# --- edits -------------------------------------------------------------------------------------------

def test_an_edit_is_checked_for_links_and_held_but_not_for_flood_or_duplicates(new_member, member):
    edit = dict(fields=PostFields(body="本文です。"), ip=None, now=NOW, editing=True)
    # The same text twice at once is neither a flood nor a duplicate; a new member's edit waits
    # for approval as their posts do.
    for user, outcome in ((member, gate.ALLOW), (new_member, gate.HOLD), (member, gate.ALLOW), (new_member, gate.HOLD)):
        assert gate.decide(user, **edit).outcome == outcome
    assert "edits" in gate.decide(new_member, **edit).reason
    edit["fields"] = PostFields(body=f"{LIVE} {LIVE}/2 {LIVE}/3")
    assert gate.decide(new_member, **edit).code == "links"


def test_the_decision_carries_the_text_rendered_for_the_link_count(new_member, member, moderator):
    from forum.render import render_markdown

    body = f"{LIVE} と **太字**"
    held = decide(new_member, body)
    assert held.fields.body == body and held.fields.body_html == render_markdown(body, gate.allowed_hosts())
    # Nothing to count for established members and moderators: the action renders it.
    assert decide(member, body).fields.body_html is None and decide(moderator, body).fields.body_html is None


def test_the_composer_notice(new_member, member, moderator):
    assert gate.notice(new_member).code == "held"
    assert gate.notice(member) is None and gate.notice(moderator) is None
    confirmation.require(new_member)
    assert gate.notice(new_member).code == "unconfirmed"
