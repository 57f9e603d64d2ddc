"""Fuzzing the composer's quoting of mails and SMS (issue 9, point 5): parse, redact, check,
show. Any input becomes quotes or is refused with QuoteError (a message for the member),
within the time cap."""
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from forum import actions, quoting
from incidents.tests.fuzzing import fuzz_settings, mails, mutated, small_text, time_cap, xss_payloads


@pytest.mark.django_db
@fuzz_settings(share=0.25)
@given(mutated(mails()))
def test_any_mail_is_quoted_or_refused_with_a_message(member, data):
    with time_cap():
        try:
            quotes, _addresses, _names = quoting.quote_mail(data, member)
        except quoting.QuoteError as refusal:
            assert str(refusal)
            event("refused")
            return
        for number, quote in enumerate(quotes, 1):
            try:
                quoting.check_quote(quote, number)
            except quoting.QuoteError as refusal:
                assert str(refusal)
                event("quote refused")
                continue
            assert isinstance(actions.preview_quote_html(quote, number), str)
            event("quoted")


@pytest.mark.django_db
@fuzz_settings(share=0.25)
@given(mutated(xss_payloads(), max_size=6000) | small_text(), small_text(60), st.text(max_size=40))
def test_any_sms_is_quoted_or_refused_with_a_message(member, text, sender, received):
    with time_cap():
        try:
            quote = quoting.quote_sms(sender=sender, received=received, text=text, user=member)
            quoting.check_quote(quote, 1)
        except quoting.QuoteError as refusal:
            assert str(refusal)
            return
        for index in range(len(quote.flags)):
            quoting.redact_flag(quote, index)
        assert isinstance(actions.preview_quote_html(quote, 1), str)


@pytest.mark.django_db
def test_a_quote_with_a_line_that_reads_as_a_post_header_is_refused_when_added(member_client, member):
    # Found by the fuzzer: such an SMS was accepted, then the page that shows it failed (500).
    from forum.tests import factories

    thread = factories.thread(user=member)
    response = member_client.post(f"/info/{thread.number}/reply/",
                                  {"sms_text": "【名前】 2020/09/08 (Tue) 14:54", "step": "add_sms"},
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "This mail cannot be quoted as it is" in response.content.decode()
