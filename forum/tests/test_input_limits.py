"""Oversized input is refused with a clear message at every entry point (issue 9, point 5).

The caps and where they are tested: a whole request 25 MB (here), a post's body 100,000
characters (here), a pasted or uploaded mail 10 MB (here; figures/tests for images), an SMS
5,000 characters (here), a search query 200 characters (test_search), a volume page 50 MB
(test_fuzz_archive), the markdown preview (test_preview), a mail file for ingest_email (here)."""
import pytest
from django.core.management import CommandError, call_command

from forum.tests import factories
from incidents.mail import MAX_MAIL_BYTES

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def test_a_request_larger_than_any_form_is_refused_unread(member_client, member, settings):
    thread = factories.thread(user=member)
    declared = settings.DAIOU_MAX_REQUEST_BYTES + 1
    # Only the declared length matters: the body is never read.
    response = member_client.generic("POST", f"/info/{thread.number}/reply/", b"body=x",
                                     content_type="application/x-www-form-urlencoded", CONTENT_LENGTH=str(declared),
                                     **EN)
    assert response.status_code == 413
    assert "larger than 25 MB" in response.content.decode()
    ja = member_client.generic("POST", "/info/new/", b"", CONTENT_LENGTH=str(declared))
    assert ja.status_code == 413 and "25 MB を超えています" in ja.content.decode()
    assert member_client.post(f"/info/{thread.number}/reply/", {"body": "普通の大きさ"}).status_code == 302


def test_an_over_long_body_is_refused_and_kept_as_a_draft(member_client, member, settings):
    thread = factories.thread(user=member)
    body = "あ" * (settings.DAIOU_MAX_BODY_LENGTH + 1)
    response = member_client.post(f"/info/{thread.number}/reply/", {"body": body}, **EN)
    assert response.status_code == 400
    assert "at most 100000 characters" in response.content.decode()
    assert thread.posts.count() == 1


def test_an_over_large_pasted_mail_is_refused_with_a_message(member_client, member):
    thread = factories.thread(user=member)
    source = "From: a@example.com\n\n" + "x" * MAX_MAIL_BYTES
    response = member_client.post(f"/info/{thread.number}/reply/", {"mail_source": source, "step": "add_mail"}, **EN)
    assert response.status_code == 400
    assert "larger than 10 MB" in response.content.decode()


def test_an_over_long_sms_is_refused_with_a_message(member_client, member):
    thread = factories.thread(user=member)
    response = member_client.post(f"/info/{thread.number}/reply/",
                                  {"sms_text": "ア" * 5001, "sms_sender": "+81", "step": "add_sms"}, **EN)
    assert response.status_code == 400
    assert "more than 5000 characters is not an SMS" in response.content.decode()


def test_an_over_large_mail_file_is_refused_by_ingest_email(tmp_path, member):
    path = tmp_path / "huge.eml"
    path.write_bytes(b"From: a@example.com\n\n" + b"x" * MAX_MAIL_BYTES)
    with pytest.raises(CommandError, match="larger than 10 MB"):
        call_command("ingest_email", str(path), "--board", "info", "--user", member.username)
