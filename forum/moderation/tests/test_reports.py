"""Members' reports, the automatic hide at DAIOU_REPORTS_TO_HIDE distinct members, and the
removal request form open to anyone."""

import pytest
from django.test import Client

from forum.models import Post
from forum.moderation import actions as moderation
from forum.moderation.models import ModerationLog, Report
from forum.tests import factories

pytestmark = pytest.mark.django_db


def reporters(n: int) -> list:
    return [factories.UserFactory() for _ in range(n)]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_member_reports_a_post_from_a_form_without_javascript(member_client, spam_thread):
    url = f"/moderation/report/info/{spam_thread.number}/p2/"
    page = member_client.get(url).content.decode()
    assert 'type="radio"' in page and "<script" not in page.split("</footer>")[0].split("<main")[1]
    response = member_client.post(url, {"reason": "spam", "note": "宣伝です"})
    assert response.status_code == 302 and response["Location"].endswith("#p2")
    report = Report.objects.get()
    assert (report.post.position, report.thread, report.reason, report.note) == (2, spam_thread, "spam", "宣伝です")
    # One open report per member and target: a second one is refused with a clear message.
    again = member_client.post(url, {"reason": "phishing"}, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 400 and "reported this already" in again.content.decode()
    assert Report.objects.count() == 1


def test_a_thread_is_reported_and_other_needs_a_note(member_client, spam_thread):
    url = f"/moderation/report/info/{spam_thread.number}/"
    response = member_client.post(url, {"reason": "other"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and "Say in the note" in response.content.decode()
    assert member_client.post(url, {"reason": "off_topic"}).status_code == 302
    assert Report.objects.get().post is None and Report.objects.get().thread == spam_thread


def test_anonymous_readers_are_sent_to_log_in_and_bad_forms_are_refused(client, member_client, spam_thread):
    url = f"/moderation/report/info/{spam_thread.number}/p2/"
    response = client.post(url, {"reason": "spam"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert member_client.post(url, {"reason": "removal"}).status_code == 400  # not a member's choice
    assert member_client.post(url, {"reason": "spam", "note": "x" * 2001}).status_code == 400
    assert member_client.get(f"/moderation/report/info/{spam_thread.number}/p9/").status_code == 404
    assert not Report.objects.exists()


def test_three_members_hide_a_post_until_a_moderator_decides(client, moderator, spam_thread, settings):
    assert settings.DAIOU_REPORTS_TO_HIDE == 3
    post = spam_thread.posts.get(position=2)
    first, second, third = reporters(3)
    moderation.file_report(reporter=first, reason="spam", post=post)
    moderation.file_report(reporter=second, reason="phishing", post=post)
    assert not Post.objects.get(pk=post.pk).hidden
    moderation.file_report(reporter=third, reason="spam", post=post)
    post.refresh_from_db()
    assert post.hidden and post.hidden_reason == "reported"
    entry = ModerationLog.objects.get()
    assert entry.actor is None and entry.action == ModerationLog.Action.HIDE_POST and "3" in entry.reason
    page = client.get(spam_thread.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This post has been hidden." in page and "激安" not in page
    # The reports stay open: the post waits in the queue for a moderator.
    assert Report.objects.filter(status="open").count() == 3
    moderation.approve_post(post=post, actor=moderator, reason="宣伝ではない")
    post.refresh_from_db()
    assert not post.hidden and Report.objects.filter(status="dismissed").count() == 3


def test_the_same_member_counts_once(spam_thread):
    post = spam_thread.posts.get(position=2)
    member, other = reporters(2)
    moderation.file_report(reporter=member, reason="spam", post=post)
    with pytest.raises(moderation.ModerationRefused):
        moderation.file_report(reporter=member, reason="phishing", post=post)
    moderation.file_report(reporter=other, reason="spam", post=post)
    assert not Post.objects.get(pk=post.pk).hidden


def test_anyone_asks_for_removal_of_their_data(client, spam_thread, moderator_client):
    response = client.post("/contact/removal/", {
        "url": f"http://testserver/info/{spam_thread.number}/?page=1#p2", "what": "私の電話番号が載っています",
        "email": "victim@example.jp"})
    assert response.status_code == 302
    request = Report.objects.get()
    assert (request.reason, request.post.position, request.reporter, request.contact_email) == (
        "removal", 2, None, "victim@example.jp")
    queue = moderator_client.get("/moderation/").content.decode()
    assert "私の電話番号が載っています" in queue and "victim@example.jp" in queue


def test_removal_requests_are_checked_and_rate_limited(client, settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "removal": (2, 3600)}
    bad = client.post("/contact/removal/", {"url": "", "what": "", "email": "nope"})
    assert bad.status_code == 400 and not Report.objects.exists()
    data = {"url": "https://example.org/elsewhere", "what": "私の名前", "email": "a@example.jp"}
    assert client.post("/contact/removal/", data).status_code == 302
    assert Report.objects.get().post is None  # not an address of this site: kept as written
    assert client.post("/contact/removal/", data).status_code == 429
    assert Report.objects.count() == 1


def test_reports_from_a_suspended_member_are_refused(moderator, member, spam_thread):
    from forum.moderation.models import Ban

    moderation.sanction_member(member=member, actor=moderator, reason="荒らし", kind=Ban.Kind.SUSPEND, days=3)
    with pytest.raises(moderation.ModerationRefused, match="suspended"):
        moderation.file_report(reporter=member, reason="spam", post=spam_thread.posts.get(position=2))


def test_a_member_may_send_a_removal_request_again(member_client, spam_thread):
    data = {"url": f"/info/{spam_thread.number}/#p2", "what": "私の住所", "email": "me@example.jp"}
    assert member_client.post("/contact/removal/", data).status_code == 302
    assert member_client.post("/contact/removal/", data).status_code == 302
    assert Report.objects.filter(reason="removal", status="open").count() == 2
