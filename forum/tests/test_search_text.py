"""forum.search_text: folding, segmentation, query parsing and snippets (no database)."""

import re

import pytest
from hypothesis import given, settings, strategies as st

from forum import search_text as text
from forum.search_text import Term, fold, fold_with_offsets, parse_query


@pytest.mark.parametrize("written, folded", [
    ("ﾌｨｯｼﾝｸﾞ", "フィッシング"),
    ("ＡＭＡＺＯＮ", "amazon"),
    ("Amazon", "amazon"),
    ("楽\u200b天", "楽天"),  # zero-width space inside a brand name
    ("ア\u202eマゾン", "アマゾン"),  # a bidi override too
    ("hxxps://evil[.]example/login", "https://evil.example/login"),
    ("ＨＸＸＰ：／／ｅｖｉｌ［．］ｅｘａｍｐｌｅ", "http://evil.example"),
    ("口座\n\n  番号\t\x00x", "口座 番号 x"),
    ("Straße", "strasse"),
])
def test_fold_brings_documents_and_queries_to_one_form(written, folded):
    assert fold(written) == folded


def test_fold_never_outputs_the_index_own_characters():
    assert text.FIELD_SEPARATOR not in fold("a\x1fb")
    assert text.META_MARK not in fold("a\uffffb") and text.HEAD_MARK not in fold("a\ufffeb")


@given(st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_offsets_point_back_to_what_each_folded_character_comes_from(value):
    mapped = fold_with_offsets(value)
    if mapped is None:  # pieces fold differently from the whole: callers show no marks
        return
    folded, starts, ends = mapped
    assert folded == fold(value) and len(starts) == len(ends) == len(folded)
    for ch, start, end in zip(folded, starts, ends):
        assert 0 <= start < end <= len(value)
        if ch != " ":
            assert ch in fold(value[start:end]) or fold(value[start:end]) == ""


def test_offsets_of_half_width_kana_and_defanged_urls():
    folded, starts, ends = fold_with_offsets("ｸﾞｰｸﾞﾙ hxxp://a[.]b")
    assert folded == "グーグル http://a.b"
    assert (starts[0], ends[0]) == (0, 2)  # グ from ｸﾞ
    dot = folded.index(".")
    assert "ｸﾞｰｸﾞﾙ hxxp://a[.]b"[starts[dot]:ends[dot]] == "[.]"


def test_documents_are_bigrams_and_each_segment_last_character():
    assert text.fts_tokens(["楽天市場 x", "口座"]) == f"楽天 天市 市場 場 x {text.BOUNDARY_TOKEN} 口座 座"
    assert text.lexemes(["楽天 x"]) == {"楽天", "楽", "天", "x"}


@pytest.mark.parametrize("raw, terms", [
    ("楽天 口座", ["楽天", "口座"]),
    ('"口座 番号" 楽天', ["口座 番号", "楽天"]),
    ('"unclosed phrase', ["unclosed phrase"]),
    ('a"b', ['a"b']),
    ('""  ', []),
    ("楽天 楽天市場", ["楽天市場"]),  # a term inside another adds nothing
    ("NEAR AND OR NOT * : ^ -x {col}", ["near", "and", "or", "not", "*", ":", "^", "-x", "{col}"]),
    ("ＡＭＡＺＯＮ\u3000ｶｰﾄﾞ", ["amazon", "カード"]),
])
def test_queries_are_words_and_quoted_phrases(raw, terms):
    assert [t.text for t in parse_query(raw).terms] == terms


def test_queries_are_limited_in_length_and_words():
    with pytest.raises(text.QueryTooLong):
        parse_query("あ" * (text.MAX_QUERY_CHARS + 1))
    with pytest.raises(text.QueryTooLong):
        parse_query(" ".join(f"x{i}y" for i in range(text.MAX_TERMS + 1)))
    assert parse_query("あ" * text.MAX_QUERY_CHARS).terms


@pytest.mark.parametrize("term, phrase", [
    ("口座番号", '"口座 座番 番号"'),
    ("口", '"口" *'),
    ("口座", '"口座"'),
    ("口座 番号", '"口座 座 番号"'),
    ("a b", '"a b" *'),
    ('say "hi"', '"sa ay y ""h hi i"""'),
])
def test_a_term_is_the_phrase_of_its_tokens(term, phrase):
    assert Term(term).fts_phrase() == phrase


def test_postgres_lexemes_of_a_term():
    assert Term("口座番号").query_lexemes() == {"口座", "座番", "番号"}
    assert Term("口").query_lexemes("\x02") == {"\x02口"}
    assert Term("ab c").query_lexemes() == {"ab", "c"}
    assert Term("abc").needs_check and Term("a c").needs_check and not Term("ab").needs_check


def test_snippets_escape_everything_and_mark_matches():
    body = ["関係ない文", 'こんにちは。\n<script>alert("x")</script> の口座番号を入力させるメール https://evil.example/a?b=<c>']
    snippet = text.snippet_html(body, parse_query("口座 <script>").terms)
    assert snippet.matched
    assert "<script" not in snippet.html and "&lt;<mark>" not in snippet.html
    assert "<mark>&lt;script&gt;</mark>" in snippet.html and "<mark>口座</mark>" in snippet.html
    assert "hxxps://evil[.]example" in snippet.html and "https://evil" not in snippet.html
    assert set(re.findall(r"</?([a-z]+)", snippet.html)) <= {"mark", "span"}


def test_a_match_inside_a_url_marks_the_whole_defanged_url():
    snippet = text.snippet_html(["送信元 https://evil.example/login です"], parse_query("evil.example").terms)
    assert '<mark><span class="ioc">hxxps://evil[.]example/login</span></mark>' in snippet.html


def test_a_snippet_without_a_match_is_the_start_of_the_post():
    snippet = text.snippet_html(["", "本文の最初", "二つ目"], parse_query("見つからない").terms)
    assert not snippet.matched and snippet.html == "本文の最初"


def test_long_texts_are_cut_around_the_first_match():
    body = "あ" * 500 + "口座" + "い" * 500
    snippet = text.snippet_html([body], parse_query("口座").terms)
    assert snippet.html.startswith("…") and snippet.html.endswith("…")
    assert len(snippet.html) < 200 and "<mark>口座</mark>" in snippet.html


def test_highlight_matches_folded_forms_in_the_original_text():
    assert text.highlight_html("<ＡＭＡＺＯＮ>を名乗る", parse_query("amazon").terms) == \
        "&lt;<mark>ＡＭＡＺＯＮ</mark>&gt;を名乗る"


def test_indexed_text_is_capped():
    assert len(text.cap_indexed("あ" * (text.MAX_INDEXED_CHARS + 10))) == text.MAX_INDEXED_CHARS
    # Distinct characters everywhere: cut before a tsvector would overflow.
    crafted = "".join(chr(0x4E00 + i % 20000) + chr(0x3400 + i // 20000) for i in range(150_000))
    capped = text.cap_indexed(crafted)
    assert len(capped) < len(crafted)
    assert sum(len(x.encode()) + 1 for x in text.lexemes([capped])) <= text.MAX_LEXEME_BYTES + 16


def test_trigrams_are_kept_while_they_fit_and_say_whether_all_did():
    assert text.trigrams("口座番号") == ["口座番", "座番号"]
    assert text.trigram_lexemes(["口座番号 口座番", "ab"]) == ({"口座番", "座番号"}, True)
    assert text.trigram_lexemes(["口座番号"], "\ufffe") == ({"\ufffe口座番", "\ufffe座番号"}, True)
    one = len("口座番".encode()) + 4
    assert text.trigram_lexemes(["口座番号 口座番"], budget=one) == ({"口座番"}, False)
    assert text.trigram_lexemes(["口座番"], budget=one) == ({"口座番"}, True)


def test_a_term_asks_for_its_trigrams_where_it_has_any():
    [term] = text.parse_query("口座番号").terms
    assert term.trigram_lexemes() == {"口座番", "座番号"}
    assert term.query_lexemes() == {"口座", "座番", "番号"}
    [phrase] = text.parse_query('"口座 番号を 楽"').terms
    assert phrase.trigram_lexemes() == {"口座", "番号を", "楽"}
    assert text.parse_query("口座").terms[0].trigram_lexemes() is None
    assert text.parse_query('"ab c"').terms[0].trigram_lexemes() is None
