"""Fuzzing the mail parser with the real phishing mails, damaged (issue 9, point 5).

Any input parses (and redacts) or is refused with MailError, within the time cap."""
from hypothesis import example, given
from hypothesis import strategies as st

from incidents.defang import defang_text_html
from incidents.mail import MAX_MAIL_BYTES, MailError, MailTooLarge, parse_mail
from incidents.redact import redact_mail
from incidents.tests.fuzzing import fuzz_settings, mails, mutated, time_cap


def parse_redact_show(data):
    """The composer's path for a mail: parse, redact, show; MailError is the only refusal."""
    with time_cap():
        try:
            parsed = parse_mail(data)
        except MailError as refusal:
            assert str(refusal)  # a message for the member
            return None
        redacted = redact_mail(parsed)
        for text in (redacted.text, redacted.html, redacted.html_text, *(v for _, v in redacted.headers)):
            assert isinstance(defang_text_html(text), str)
        return redacted


@fuzz_settings()
@given(mutated(mails()))
@example(b"")
@example(b"\r\n" * 3)
@example(b"Content-Type: multipart/mixed; boundary=a\n\n" + b"--a\nContent-Type: multipart/mixed; boundary=a\n\n" * 500)
def test_damaged_mails_parse_or_are_refused(data):
    parse_redact_show(data)


@fuzz_settings(share=0.5)
@given(mutated([mail.decode("utf-8", "replace") for mail in mails()]))
def test_damaged_mails_pasted_as_text_parse_or_are_refused(text):
    parse_redact_show(text)


@fuzz_settings(share=0.25)
@given(st.lists(st.sampled_from(mails()), min_size=2, max_size=4), st.sampled_from([b"\n", b"\r\n", b"\n\n"]))
def test_mails_glued_together_parse_or_are_refused(parts, glue):
    parse_redact_show(glue.join(parts))


def test_an_oversized_mail_is_refused_with_a_clear_message():
    for data in (b"From: a@example.com\n\n" + b"x" * MAX_MAIL_BYTES, "あ" * MAX_MAIL_BYTES):
        with time_cap():
            try:
                parse_mail(data)
            except MailTooLarge as refusal:
                assert "larger than 10 MB" in str(refusal)
            else:
                raise AssertionError("an oversized mail was parsed")
