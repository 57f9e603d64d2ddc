"""Fuzzing the search query parser and the search page (issue 9, point 5).

Any query parses or is refused with QueryTooLong; snippets of any text hold only their own
tags; the page answers any query and any parameters with 200 or 400, within the time cap."""
import re
from urllib.parse import urlencode

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from forum import search_text
from forum.archive_io import import_volume
from forum.search_text import QueryTooLong, highlight_html, parse_query, snippet_html
from incidents.tests.fuzzing import fuzz_settings, mutated, seed_volume, small_text, time_cap, xss_payloads

QUERIES = mutated([p[:300] for p in xss_payloads()] + [seed_volume()[i:i + 200] for i in range(0, 5000, 500)],
                  max_size=1200) | small_text(300)
# The only tags in snippets and highlighted titles: marks and the defanger's spans.
OWN_TAGS = re.compile(r'</?mark>|<span class="(?:ioc(?: ioc-(?:url|email|host))?|ioc-puny|redacted)">|</span>')


@fuzz_settings()
@given(QUERIES, mutated([seed_volume()[i:i + 3000] for i in range(0, 50_000, 5000)] + list(xss_payloads()[:50])))
@example('"', "")
@example("NEAR(a b) OR c* -d", "a b c d")
@example("\ufeff\u200b", "\u200b")
def test_any_query_parses_or_is_refused_and_snippets_hold_only_their_own_tags(raw, text):
    with time_cap():
        try:
            query = parse_query(raw)
        except QueryTooLong as refusal:
            assert "at most" in str(refusal)
            return
        assert len(query.terms) <= search_text.MAX_TERMS
        snippet = snippet_html([text], query.terms)
        title = highlight_html(text[:200], query.terms)
    for html in (snippet.html, title):
        assert "<" not in OWN_TAGS.sub("", html), html


@pytest.fixture
def indexed_seed(django_capture_on_commit_callbacks, settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "search": (10 ** 6, 60)}
    with django_capture_on_commit_callbacks(execute=True):  # the search index is built on commit
        import_volume(seed_volume(), "seed.txt")


DATES = st.sampled_from(["", "2020-09-08", "0001-01-01", "9999-12-31", "2020-02-30", "20/09/08", "-1", "２０２０"])
CURSORS = st.sampled_from(["", "1.1", "0.9223372036854775807", "1.9223372036854775808", "2.5", "1.", ".", "1.-1"])


PAGE_QUERIES = mutated([p[:120] for p in xss_payloads()] + [seed_volume()[i:i + 60] for i in range(0, 5000, 250)],
                       max_size=300) | small_text(100)
# Half the requests are ones the form accepts (so the query reaches the database), half anything.
ACCEPTED = st.fixed_dictionaries({"q": PAGE_QUERIES}, optional={
    "order": st.sampled_from(["relevance", "newest"]), "since": st.just("2020-09-01"), "until": st.just("2020-10-31"),
    "board": st.just("info"), "author": st.sampled_from(["磯津千由紀", "シバケン"]), "quotes": st.just("1")})
ANYTHING = st.fixed_dictionaries({
    "q": QUERIES, "order": st.sampled_from(["", "relevance", "newest", "x"]), "since": DATES, "until": DATES,
    "after": CURSORS | st.text(max_size=30), "board": st.sampled_from(["", "info", "nosuch", "0"]),
    "author": st.sampled_from(["", "磯津千由紀", "%", "_"]) | st.text(max_size=120),
    "quotes": st.sampled_from(["", "1", "on", "x"]),
})


@pytest.mark.django_db
@fuzz_settings(share=0.25)
@given(ACCEPTED | ANYTHING)
def test_the_search_page_answers_any_query_with_200_or_400(client, indexed_seed, params):
    # Sent as raw bytes: lone surrogates become bytes that are not UTF-8, as a forged request has.
    query = urlencode({k: v.encode("utf-8", "surrogatepass") for k, v in params.items() if v})
    with time_cap():
        response = client.get(f"/search/?{query}")
    assert response.status_code in (200, 400), response.status_code
    event(str(response.status_code))
