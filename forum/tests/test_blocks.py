"""Post bodies as blocks: the seed's marks, exactness for every text, the stored JSON."""

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forum.archive.volume import parse_volume
from forum.blocks import (
    Blank, BlockError, Citation, Crossref, Deadlink, Elision, Figure, News, Note, Quote, Subtitle, Supplement, Text,
    blocks_from_json, blocks_to_json, build_quote, parse_body, serialize_body,
)


@pytest.fixture(scope="module")
def seed_threads(seed_path):
    return {thread.number: thread for thread in parse_volume(seed_path.read_text(encoding="utf-8")).threads}


def kinds(blocks):
    return [block.kind for block in blocks]


def of_kind(blocks, cls):
    return [block for block in blocks if isinstance(block, cls)]


# ---- the seed -------------------------------------------------------------------------------


def test_first_post_of_916_holds_quotes_1_to_8(seed_threads):
    blocks = parse_body(seed_threads[916].posts[0].body)
    quotes = of_kind(blocks, Quote)
    assert [quote.number for quote in quotes] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert isinstance(blocks[0], Text) and blocks[0].text.startswith(" こんにちは。")
    assert blocks[1] == Blank(2)

    first = quotes[0]
    assert first.mark == "********** 以下引用1 **********"
    assert [(h.name, h.value) for h in first.headers] == [
        ("From", "【楽天市場】 <mktvchjwn@rakuten.co.jp>"), ("To", "xxxx <xxxx@xxxx.name>"), ("Cc", ""),
        ("Subject", "【楽天市場】支払情報一致していません"), ("Date", "2020/08/21 07:30"),
    ]
    assert first.headers[2].line == "Cc:"
    assert (first.blank_after_mark, first.blank_after_headers) == (1, 5)
    assert first.body.startswith("Rakutenお客様\n\n") and first.body.endswith("発行元:楽天カード株式会社")
    assert first.elision is None


def test_quotes_2_and_5_keep_only_subject_and_date_and_an_elision(seed_threads):
    quotes = of_kind(parse_body(seed_threads[916].posts[0].body), Quote)
    second, fifth = quotes[1], quotes[4]
    assert [h.name for h in second.headers] == [h.name for h in fifth.headers] == ["Subject", "Date"]
    assert second.body == fifth.body == ""
    assert second.elision == Elision("<以下同文につき省略>", "以下同文につき省略", None)
    assert fifth.elision == Elision("<以下引用3と同文のため省略>", "以下引用3と同文のため省略", 3)


def test_html_quotes_end_with_their_elision_split_off(seed_threads):
    quotes = of_kind(parse_body(seed_threads[916].posts[0].body), Quote)
    for quote in quotes[6:]:
        assert quote.body.startswith('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">')
        assert quote.elision.line == "<以下省略>"
        assert "以下省略" not in quote.body
    # Quote 7 stops inside a tag: the elision must not be part of the HTML source.
    assert quotes[6].body.endswith("align=right>楽天カードからのお知らせ<SPAN lang=EN-US")
    assert quotes[6].blank_before_elision == 0
    assert quotes[6].headers[-1].line == "Date:"


def test_a_bracketed_line_inside_a_mail_is_mail_text(seed_threads):
    fourth = of_kind(parse_body(seed_threads[916].posts[0].body), Quote)[3]
    assert "\n【新品未開封品】Apple iPhone 11 128GB SIMフリー" in fourth.body


def test_single_quotes_are_unnumbered_and_may_have_nine_stars(seed_threads):
    posts = seed_threads[916].posts
    quotes = [of_kind(parse_body(post.body), Quote) for post in posts[1:]]
    assert [[(q.number, q.mark) for q in found] for found in quotes] == [
        [(None, "********** 以下引用 **********")],
        [(None, "********** 以下引用 **********")],
        [(None, "********* 以下引用 *********")],
    ]


def test_news_citations_and_deadlinks_of_917(seed_threads):
    second = parse_body(seed_threads[917].posts[1].body)
    assert kinds(second) == ["subtitle", "blank", "text", "blank", "news", "blank", "citation"]
    assert second[0] == Subtitle("副題=ドコモ口座所有も、ひも付けられるの銀行口座2つ以上あると、不正引き出し可能",
                                 "ドコモ口座所有も、ひも付けられるの銀行口座2つ以上あると、不正引き出し可能")
    citation = second[-1]
    assert (citation.title, citation.source, citation.date) == (
        "被害者全員がドコモ口座持たず スマホ決済使わない人が標的", "産経ニュース", None)
    # The deadlink on the line under the citation belongs to it.
    assert citation.deadlink == Deadlink("<消滅・21/05/30>", date(2021, 5, 30))

    with_deadlinks = [post for post in seed_threads[917].posts if "<消滅・" in post.body]
    assert len(with_deadlinks) == 3
    for post in with_deadlinks:
        blocks = parse_body(post.body)
        assert not of_kind(blocks, Deadlink)  # none left standing alone
        assert of_kind(blocks, Citation)[-1].deadlink is not None


def test_citation_titles_hold_brackets_and_sources_a_date(seed_threads):
    citations = [c for post in seed_threads[917].posts for c in of_kind(parse_body(post.body), Citation)]
    assert ("「あなた大丈夫?」 ドコモ口座問題、便乗メールに注意", "朝日新聞", None) in [
        (c.title, c.source, c.date) for c in citations]
    dated = [(c.title, c.source, c.date) for c in citations if c.date]
    assert dated == [
        ("送金事業者に利用者の本人確認義務付けへ 金融庁 「ドコモ口座」問題うけ", "毎日新聞", "9月11日"),
        ("ドコモ口座事件、真の原因は「認識の甘さ」ではない 露呈した「銀行との風通しの悪さ」", "ITmedia", "9月14日"),
    ]


def test_a_news_block_holds_a_line_without_its_marker(seed_threads):
    post = seed_threads[917].posts[8]
    news = of_kind(parse_body(post.body), News)
    assert len(news) == 1
    assert "\nドコモ口座問題、なぜ起きた? 事業拡大、顧客保護おろそか―ニュースQ&A\n\n>ドコモ口座では" in news[0].text


def test_figures_with_captions(seed_threads):
    figures = [f for post in seed_threads[917].posts for f in of_kind(parse_body(post.body), Figure)]
    assert figures == [
        Figure("<図>", "図", None, "「ドコモ口座」問題に便乗した迷惑メールのイメージ(トビラシステムズ提供)"),
        Figure("<図1>", "図1", 1, "フィッシング詐欺の手口"),
        Figure("<図2>", "図2", 2, "フィッシング対策協議会に寄せられたフィッシング報告件数"),
    ]


def test_note_and_angle_text(seed_threads):
    blocks = parse_body(seed_threads[917].posts[2].body)
    assert of_kind(blocks, Note) == [Note("<注=ドコモ発表>", "ドコモ発表")]
    assert "被害額1700万円<?>" in blocks[2].text  # other angle-bracket text is text
    subtitle = parse_body(seed_threads[917].posts[4].body)[0]
    assert subtitle.text == "「セキュリティと利便性は相反する」=常識<!>"


def test_supplements_and_cross_references(seed_threads):
    last_two = [parse_body(post.body) for post in seed_threads[917].posts[-2:]]
    assert kinds(last_two[0]) == ["supplement", "blank", "crossref", "blank", "crossref"]
    assert last_two[0][0] == Supplement("<補足>")
    refs = [ref for blocks in last_two for ref in of_kind(blocks, Crossref)]
    assert [(r.board, r.number, r.date) for r in refs] == [
        ("雑談", 2093, date(2020, 9, 14)), ("雑談", 2094, date(2020, 9, 15)), ("雑談", 2095, date(2020, 9, 17))]
    assert refs[0].title == "「Bank Pay」新規登録受け付け停止 「ドコモ口座」の問題受け"


def test_every_seed_body_serialises_back(seed_threads):
    for thread in seed_threads.values():
        for post in thread.posts:
            blocks = parse_body(post.body)
            assert serialize_body(blocks) == post.body
            assert blocks_from_json(json.loads(json.dumps(blocks_to_json(blocks)))) == blocks


# ---- marks one at a time --------------------------------------------------------------------


def test_a_deadlink_away_from_a_citation_stands_alone():
    blocks = parse_body("<参考=「記事」(新聞)>\n\n<消滅・21/05/30>")
    assert kinds(blocks) == ["citation", "blank", "deadlink"]
    assert blocks[0].deadlink is None


def test_marks_accept_full_width_brackets_and_keep_the_line():
    blocks = parse_body("＜参考＝「記事」（新聞、9月1日）＞\n＜消滅・２１/０５/３０＞\n＜図１＞\n説明\n＜補足＞")
    assert blocks[0] == Citation("＜参考＝「記事」（新聞、9月1日）＞", "記事", "新聞", "9月1日",
                                 Deadlink("＜消滅・２１/０５/３０＞", date(2021, 5, 30)))
    assert blocks[1] == Figure("＜図１＞", "図１", 1, "説明")
    assert blocks[2] == Supplement("＜補足＞")


def test_a_figure_without_caption_and_a_standalone_elision():
    assert parse_body("<図>\n\n本文") == [Figure("<図>", "図", None, None), Blank(1), Text("本文")]
    assert parse_body("<以下省略>") == [Elision("<以下省略>", "以下省略", None)]


def test_not_quite_marks_are_text():
    for line in ("<!>", "<ご連絡先>", "<参考=記事>", "<消滅・21/02/30>", "<参考=雑談NO.1 題>(21/02/30)", "副題なし",
                 "** 以下引用 **", "<図ア>"):
        assert parse_body(line) == [Text(line)], line


def test_a_subtitle_only_on_the_first_line():
    assert kinds(parse_body("副題=題\n\n本文")) == ["subtitle", "blank", "text"]
    assert parse_body("本文\n副題=題") == [Text("本文\n副題=題")]


def test_news_paragraphs_join_across_empty_lines_and_stop_at_marks_and_text():
    blocks = parse_body(">一\n続き\n\n> 二\n\n\n地の文\n>三\n<参考=「記事」(新聞)>")
    assert blocks == [News(">一\n続き\n\n> 二"), Blank(2), Text("地の文"), News(">三"),
                      Citation("<参考=「記事」(新聞)>", "記事", "新聞", None, None)]


def test_a_quote_without_headers_and_one_with_an_elision_after_empty_lines():
    [quote] = parse_body("********** 以下引用 **********\n\nFrom me\n\n本文\n\n<以下省略>")
    assert quote.headers == () and quote.body == "From me\n\n本文"
    assert (quote.blank_after_mark, quote.blank_before_elision) == (1, 1)
    assert quote.elision.text == "以下省略"


def test_a_quote_runs_to_the_next_mark_and_leaves_trailing_empty_lines():
    blocks = parse_body("前\n********** 以下引用1 **********\n>本文\n<参考=「x」(y)>\n\n\n********* 以下引用2 *********")
    assert kinds(blocks) == ["text", "quote", "blank", "quote"]
    assert blocks[1].body == ">本文\n<参考=「x」(y)>"  # a mail's lines are the mail's, not marks
    assert blocks[2] == Blank(2)


def test_empty_and_blank_bodies():
    assert parse_body("") == []
    assert parse_body("\n\n") == [Blank(3)]
    assert serialize_body([]) == ""


def test_parse_body_refuses_what_is_not_text():
    with pytest.raises(BlockError):
        parse_body(b"bytes")


# ---- build_quote ----------------------------------------------------------------------------


def test_build_quote_lays_a_mail_out_as_the_seed_does():
    quote = build_quote(2, [("From", "楽天 <a@example.jp>"), ("Cc", ""), ("Subject", "件名")], "\n\r\n本文\r\n二行目\n\n")
    assert quote.lines() == [
        "********** 以下引用2 **********", "", "From: 楽天 <a@example.jp>", "Cc:", "Subject: 件名", "", "本文", "二行目",
    ]
    body = serialize_body([Text("自分の文"), Blank(2), quote])
    assert parse_body(body) == [Text("自分の文"), Blank(2), quote]


def test_build_quote_without_headers_or_body():
    assert build_quote(None, [], "").lines() == ["********** 以下引用 **********"]
    assert build_quote(None, [], "本文").lines() == ["********** 以下引用 **********", "", "本文"]


def test_build_quote_takes_a_trailing_elision_as_the_quote_reads_it():
    quote = build_quote(1, [("Subject", "件名")], "本文\n<以下省略>")
    assert (quote.body, quote.elision.line) == ("本文", "<以下省略>")


@pytest.mark.parametrize(("headers", "body", "message"), [
    ([("Subject", "x")], "前\n********** 以下引用 **********", "quote mark"),
    ([("X-Spam-Score", "x")], "本文", "would not read back"),
    ([("Subject", "一\n二")], "本文", "line break"),
    ([], "From: someone\n本文", "would not read back"),
])
def test_build_quote_refuses_what_would_not_read_back(headers, body, message):
    with pytest.raises(BlockError, match=message):
        build_quote(1, headers, body)


def test_build_quote_refuses_a_bad_number():
    with pytest.raises(BlockError):
        build_quote(-1, [], "x")
    with pytest.raises(BlockError):
        build_quote(True, [], "x")


# ---- JSON -----------------------------------------------------------------------------------


def test_json_shape_of_each_kind():
    body = ("副題=題\n\n本文\n>ニュース\n<参考=「記事」(新聞、9月1日)>\n<消滅・21/05/30>\n<図1>\n説明\n<補足>\n"
            "<注=注記>\n<参考=雑談NO.2093 題>(20/09/14)\n<以下省略>\n<消滅・21/05/31>\n"
            "********** 以下引用3 **********\n\nSubject: 件\n\n<以下同文につき省略>")
    assert blocks_to_json(parse_body(body)) == [
        {"kind": "subtitle", "line": "副題=題", "text": "題"},
        {"kind": "blank", "count": 1},
        {"kind": "text", "text": "本文"},
        {"kind": "news", "text": ">ニュース"},
        {"kind": "citation", "line": "<参考=「記事」(新聞、9月1日)>", "title": "記事", "source": "新聞", "date": "9月1日",
         "deadlink": {"line": "<消滅・21/05/30>", "date": "2021-05-30"}},
        {"kind": "figure", "line": "<図1>", "label": "図1", "number": 1, "caption": "説明"},
        {"kind": "supplement", "line": "<補足>"},
        {"kind": "note", "line": "<注=注記>", "text": "注記"},
        {"kind": "crossref", "line": "<参考=雑談NO.2093 題>(20/09/14)", "board": "雑談", "number": 2093, "title": "題",
         "date": "2020-09-14"},
        {"kind": "elision", "line": "<以下省略>", "text": "以下省略", "same_as_quote": None},
        {"kind": "deadlink", "line": "<消滅・21/05/31>", "date": "2021-05-31"},
        {"kind": "quote", "mark": "********** 以下引用3 **********", "number": 3, "blank_after_mark": 1,
         "headers": [{"name": "Subject", "value": "件", "line": "Subject: 件"}], "blank_after_headers": 1, "body": "",
         "blank_before_elision": 0,
         "elision": {"line": "<以下同文につき省略>", "text": "以下同文につき省略", "same_as_quote": None}},
    ]


@pytest.mark.parametrize("data", [
    "not a list",
    [{"kind": "nothing"}],
    ["blank"],
    [{"kind": "blank"}],
    [{"kind": "blank", "count": "2"}],
    [{"kind": "blank", "count": True}],
    [{"kind": "blank", "count": -1}],
    [{"kind": "blank", "count": 10**12}],
    [{"kind": "blank", "count": 1, "extra": 1}],
    [{"kind": "deadlink", "line": "x", "date": "not a date"}],
    [{"kind": "deadlink", "line": "x", "date": 20210530}],
    [{"kind": "quote", "mark": "m", "number": None, "blank_after_mark": 0, "headers": "From: x",
      "blank_after_headers": 0, "body": "", "blank_before_elision": 0, "elision": None}],
    [{"kind": "quote", "mark": "m", "number": None, "blank_after_mark": 0, "headers": [{"name": "From"}],
      "blank_after_headers": 0, "body": "", "blank_before_elision": 0, "elision": None}],
])
def test_blocks_from_json_refuses_anything_else(data):
    with pytest.raises(BlockError):
        blocks_from_json(data)


# ---- properties -----------------------------------------------------------------------------

FRAGMENTS = [
    "", "", "", " ", "　", "text", " 字下げ", "<!>", "<?>", "【新品】Apple", "【山田】 2020/09/11 (Fri) 09:58", ">", "> ニュース",
    ">ニュース", "＞全角", "副題=題", "副題＝題", "<参考=「題「入れ子」」(新聞、9月11日)>", "<参考=「題」(新聞)>", "<消滅・21/05/30>",
    "<消滅・21/02/30>", "<図>", "<図12>", "<補足>", "<注=注>", "<参考=雑談NO.2093 題>(20/09/14)", "<以下省略>",
    "<以下引用3と同文のため省略>", "********** 以下引用1 **********", "********* 以下引用 *********", "From: a <b@c>",
    "Cc:", "Subject:x", "DATE: 2020/08/21 07:30", "<HTML><BODY", "\r", "x\r", "\u2028", "\x0b", "\ufeff",
]
format_like_text = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30).map("\n".join)


@given(st.text() | format_like_text)
def test_serialize_gives_back_every_text(text):
    assert serialize_body(parse_body(text)) == text


@given(st.text() | format_like_text)
def test_json_round_trip_is_exact_and_json_safe(text):
    blocks = parse_body(text)
    data = blocks_to_json(blocks)

    def json_safe(value):
        if isinstance(value, dict):
            return all(isinstance(k, str) and json_safe(v) for k, v in value.items())
        if isinstance(value, list):
            return all(json_safe(v) for v in value)
        return value is None or type(value) in (str, int)

    assert json_safe(data)
    assert blocks_from_json(json.loads(json.dumps(data))) == blocks


@given(st.integers(1, 99) | st.none(),
       st.lists(st.tuples(st.sampled_from(["From", "To", "Cc", "Subject", "Date"]),
                          st.text(max_size=10).filter(lambda v: "\n" not in v and "\r" not in v)), max_size=5),
       format_like_text)
def test_built_quotes_read_back_as_built_or_are_refused(number, headers, body):
    try:
        quote = build_quote(number, headers, body)
    except BlockError:
        return
    assert parse_body(serialize_body([quote])) == [quote]


def test_a_body_of_more_empty_lines_than_a_stored_row_may_claim_still_parses():
    text = "\n" * 10_000_001
    assert parse_body(text) == [Blank(10_000_002)]
    with pytest.raises(BlockError, match="empty lines"):
        blocks_from_json(blocks_to_json(parse_body(text)))


@pytest.mark.parametrize(("headers", "body"), [
    ([("From", 1)], "x"), ([("From",)], "x"), ([], None), ([["To", b"x"]], ""),
])
def test_build_quote_refuses_what_is_not_text(headers, body):
    with pytest.raises(BlockError, match="pairs of text"):
        build_quote(1, headers, body)


def test_build_quote_takes_header_pairs_as_lists_too():
    assert build_quote(1, [["Subject", "件名"]], "本文").headers[0].value == "件名"


def test_the_shown_headers_of_a_parsed_mail_read_back_as_headers():
    shown = [("From", "a <a@b.jp>"), ("Sender", "s@b.jp"), ("Reply-To", "r@b.jp"), ("Return-Path", "<p@b.jp>"),
             ("To", "xxxx <xxxx@xxxx.name>"), ("Cc", ""), ("Subject", "件名"), ("Date", "Mon, 1 Jan 2024 10:00:00 +0900"),
             ("Message-ID", "<1@b.jp>"), ("X-Mailer", "Foxmail 7"), ("Authentication-Results", "spf=fail")]
    quote = build_quote(1, shown, "本文")
    assert [(h.name, h.value) for h in quote.headers] == shown
