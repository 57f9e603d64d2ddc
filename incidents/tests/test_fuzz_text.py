"""Fuzzing the defanger and the redactor with hostile text (issue 9, point 5).

Neither refuses anything: every text gives an answer, within the time cap, and the answer
keeps its promises (only the defanger's own tags in its HTML; marks point at what they say)."""
import re

from hypothesis import example, given
from hypothesis import strategies as st

from incidents.defang import defang_text_html, find_indicators
from incidents.redact import apply_redactions, find_flags, redact_text
from incidents.tests.fuzzing import fuzz_settings, mails, mutated, seed_volume, small_text, time_cap, xss_payloads

# The only tags defang_text_html writes (its docstring): everything else is escaped text.
OWN_TAGS = re.compile(r'<span class="(?:ioc ioc-(?:url|email|host)|ioc-puny|redacted)">|</span>')


def texts():
    mail_texts = [mail.decode("utf-8", "replace")[:20_000] for mail in mails()[:40]]
    seeds = [*xss_payloads(), *mail_texts, seed_volume()[:20_000]]
    return mutated(seeds) | small_text()


def defang_checked(text: str) -> None:
    with time_cap():
        spans = find_indicators(text)
        shown = defang_text_html(text)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text) and text[span.start:span.end] == span.raw
    top = [span for span in spans if not span.nested]
    assert all(a.end <= b.start for a, b in zip(top, top[1:]))
    assert "<" not in OWN_TAGS.sub("", shown)


@fuzz_settings()
@given(texts())
@example("http://%" * 50)
@example("a" * 100_000 + "@")
@example("ｈｔｔｐ：／／" * 20_000)
@example("x." * 50_000)
def test_the_defanger_answers_any_text_with_only_its_own_tags(text):
    defang_checked(text)


ADDRESSES = st.lists(st.emails() | st.sampled_from(["me@example.jp", "a.b+c@xn--r8jz45g.jp", "ｍｅ＠ｅｘ．ｊｐ"]),
                     max_size=3)
NAMES = st.lists(st.sampled_from(["山田太郎", "Taro Yamada", "磯津", "ｱｲｳ", "x"]) | st.text(max_size=12), max_size=3)


@fuzz_settings()
@given(texts(), ADDRESSES, NAMES)
@example("4111 1111 1111 1111 " * 5000, [], [])
@example("〒100-0001 " * 20_000, ["a@b.jp"], ["山田"])
def test_the_redactor_answers_any_text_with_marks_that_point_where_they_say(text, addresses, names):
    with time_cap():
        result = redact_text(text, addresses=addresses, names=names)
        flags = find_flags(result.text)
        apply_redactions(result.text, flags)
    for mark in result.marks:
        assert 0 <= mark.start <= mark.end <= len(result.text)
        if not mark.is_flag:
            assert result.text[mark.start:mark.end] == mark.replacement
