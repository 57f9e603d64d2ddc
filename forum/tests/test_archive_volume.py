"""Volume pages: the seed, messy pages, refused pages, the writer, the member-body rule."""

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from forum.archive.member_body import (
    BodyProblem, MemberBodyError, check_member_body, compose_body, normalize_member_body,
)
from forum.archive.volume import (
    ArchiveError, ParsedVolume, Post, Repair, Thread, TitleRow, Volume, VolumeLink, layout_of, parse_volume,
    reads_as_structure, title_rows_for, with_layout, write_volume,
)
from forum.blocks import parse_body

FIXTURES = Path(__file__).parent / "archive_fixtures"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed_text(seed_path):
    return seed_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text):
    return parse_volume(seed_text, "seed")


def with_repairs(text: str, repairs: list[Repair]) -> str:
    """The page as write_volume must give it back: each repaired line in its repaired form."""
    lines = text.split("\n")
    for repair in repairs:
        lines[repair.line - 1] = lines[repair.line - 1].replace(repair.original, repair.repaired, 1)
    return "\n".join(lines)


def volume_fields(volume: Volume) -> Volume:
    return Volume(**{f.name: getattr(volume, f.name) for f in dataclasses.fields(Volume)})


# ---- the seed -------------------------------------------------------------------------------


def test_seed_volume_and_title_list(seed):
    assert (seed.board, seed.number) == ("情報", 70)
    assert seed.newer == VolumeLink("情報", 71)
    assert seed.older == VolumeLink("情報", 69)
    assert seed.title_rows == [
        TitleRow(917, "<ドコモ口座>第三者の不正な預金引き出し発覚", "シバケン", date(2020, 9, 11)),
        TitleRow(916, "楽天市場を名乗るフィッシングメール", "磯津千由紀", date(2020, 9, 8)),
    ]
    assert seed.front_matter is None  # the seed's head is exactly Daiou's layout


def test_seed_threads_and_posts(seed):
    assert [(t.number, len(t.posts)) for t in seed.threads] == [(916, 4), (917, 12)]
    first = seed.threads[0].posts[0]
    assert (first.name, first.handle, first.device, first.os, first.posted_at) == (
        "磯津千由紀", "寫眞機廢人", "ProOne 600 G1 AiO", "Win10Pro64", datetime(2020, 9, 8, 14, 54))
    assert first.body.startswith(" こんにちは。\n\n\n アマゾンジャパンを名乗る")
    third = seed.threads[0].posts[2]
    assert (third.device, third.os, third.posted_at) == (
        "ThinkPad T520", "Win10Pro64bit", datetime(2020, 9, 21, 22, 26))
    shibaken = seed.threads[1].posts[0]
    assert (shibaken.name, shibaken.handle, shibaken.device, shibaken.os) == ("シバケン", "", "", "")
    assert seed.threads[1].title == "<ドコモ口座>第三者の不正な預金引き出し発覚"
    assert (seed.threads[1].originator, seed.threads[1].started) == ("シバケン", date(2020, 9, 11))
    assert [p.subtitle for p in seed.threads[1].posts[:3]] == [
        None, "ドコモ口座所有も、ひも付けられるの銀行口座2つ以上あると、不正引き出し可能", "ドコモ口座のQ&A"]
    last = seed.threads[1].posts[-1]
    assert last.posted_at == datetime(2020, 9, 17, 11, 56)
    assert last.body.endswith("「ドコモ」問題から浮かんだ弱点>(20/09/17)")
    assert last.blank_after_body == 0 and not seed.final_newline


def test_seed_repairs_the_header_that_lost_its_bracket(seed):
    repaired = seed.threads[1].posts[5]
    assert (repaired.name, repaired.posted_at) == ("シバケン", datetime(2020, 9, 11, 23, 34))
    assert repaired.subtitle == "早速にも、便乗メール=迷惑メール"
    assert seed.repairs == [Repair(611, "post header lost a bracket; restored",
                                   "シバケン】 2020/09/11 (Fri) 23:34", "【シバケン】 2020/09/11 (Fri) 23:34")]
    assert [w.line for w in seed.warnings] == [840]  # the missing final line break


def test_seed_is_written_back_byte_for_byte_but_the_repaired_line(seed, seed_text):
    written = write_volume(seed)
    old_lines, new_lines = seed_text.split("\n"), written.split("\n")
    assert len(old_lines) == len(new_lines) == 840
    assert [(n, old, new) for n, (old, new) in enumerate(zip(old_lines, new_lines), 1) if old != new] == [
        (611, "シバケン】 2020/09/11 (Fri) 23:34", "【シバケン】 2020/09/11 (Fri) 23:34")]
    assert written == with_repairs(seed_text, seed.repairs)


def test_the_written_seed_reads_back_without_repairs(seed):
    again = parse_volume(write_volume(seed))
    assert again.repairs == []
    assert volume_fields(again) == volume_fields(seed)


def test_seed_bodies_hold_no_structure(seed):
    for thread in seed.threads:
        for post in thread.posts:
            assert all(reads_as_structure(line) is None for line in post.body.split("\n"))


# ---- messy pages ----------------------------------------------------------------------------


def round_trip(name: str) -> ParsedVolume:
    text = fixture_text(name)
    volume = parse_volume(text, name)
    assert write_volume(volume) == with_repairs(text, volume.repairs)
    return volume


def warnings_of(volume: ParsedVolume) -> list[tuple[int, str]]:
    return [(w.line, w.what) for w in volume.warnings]


def test_site_name_before_the_board_line_is_kept():
    volume = round_trip("extra_site_line.txt")
    assert (volume.board, volume.number) == ("情報", 12)
    assert volume.front_matter.startswith("みんながパソコン大王\n情報<NO.12>\n")
    assert (1, "site name before the board line; kept as written") in warnings_of(volume)


def test_header_variants():
    volume = round_trip("header_variants.txt")
    posts = volume.threads[0].posts
    assert [(p.name, p.handle, p.device, p.os) for p in posts] == [
        ("山田", "", "", ""),
        ("山田", "やまだ", "", ""),
        ("山田", "", "iPhone", ""),
        ("山田", "やまだ", "Let's note CF-SZ6/富士通 FMV", "Win 11 Home"),
        ("山田", "", "iPhone (SE2)", "iOS 17"),
        ("山田", "やまだ", "ThinkPad T520", "Win10Pro64bit"),
        ("山田", "", "", ""),
        ("佐藤", "sato@home", "Mac mini", "macOS 14"),  # the device starts at the first @ outside parentheses
    ]
    assert all(p.header_line is None for p in posts[:5])


def test_a_weekday_that_does_not_match_is_a_warning_and_kept():
    volume = round_trip("header_variants.txt")
    mismatched = volume.threads[0].posts[5]
    assert mismatched.posted_at == datetime(2021, 1, 4, 9, 50)
    assert mismatched.header_line == "【山田(やまだ)@ThinkPad T520(Win10Pro64bit)】 2021/01/04 (Tue) 09:50"
    assert (41, "weekday (Tue) does not match 2021/01/04 (Mon); kept as written") in warnings_of(volume)


def test_a_header_that_lost_its_closing_bracket_is_repaired():
    volume = round_trip("header_variants.txt")
    assert volume.repairs == [Repair(46, "post header lost a bracket; restored",
                                     "【山田 2021/01/05 (Tue) 08:00", "【山田】 2021/01/05 (Tue) 08:00")]
    assert volume.threads[0].posts[6].posted_at == datetime(2021, 1, 5, 8, 0)


def test_full_width_brackets_and_digits():
    volume = round_trip("full_width.txt")
    assert (volume.board, volume.number, volume.newer) == ("情報", 5, VolumeLink("情報", 6))
    assert volume.title_rows == [TitleRow(51, "全角の数字", "山田", date(2020, 9, 11))]
    thread = volume.threads[0]
    assert (thread.number, thread.title, thread.originator, thread.started) == (51, "全角の数字", "山田", date(2020, 9, 11))
    assert thread.title_line == "NO．５１ 全角の数字＜起稿 山田＞（２０/０９/１１）"
    wide, narrow = thread.posts
    assert (wide.name, wide.handle, wide.device, wide.os, wide.posted_at) == (
        "山田", "やまだ", "ＰＣ−９８０１", "ＭＳ−ＤＯＳ", datetime(2020, 9, 11, 23, 34))
    assert wide.header_line.startswith("【山田（やまだ）＠")
    assert (narrow.device, narrow.os, narrow.header_line) == ("PC-9801", "MS-DOS", None)
    assert (16, "post header written differently from Daiou's form; kept as written") in warnings_of(volume)


def test_each_post_keeps_its_own_spelling_of_a_name():
    posts = round_trip("author_spellings.txt").threads[0].posts
    assert [(p.name, p.handle) for p in posts] == [
        ("磯津千由紀", "寫眞機廢人"), ("礒津千由紀", "写真機廃人"), ("シバケン", ""), ("ｼﾊﾞｹﾝ", "")]


def test_titles_holding_angle_and_lenticular_brackets():
    volume = round_trip("title_brackets.txt")
    assert [(t.title, t.originator) for t in volume.threads] == [
        ("<ドコモ口座>第三者の不正な預金引き出し発覚", "シバケン"),
        ("【注意】<起稿 偽>を名乗る<Amazon>メール", "山田"),  # the originator is in the last <起稿 …>
    ]
    assert [(r.title, r.originator) for r in volume.title_rows][0] == ("【注意】<起稿 偽>を名乗る<Amazon>メール", "山田")
    assert volume.warnings == []


def test_a_last_line_without_its_line_break():
    volume = round_trip("no_final_newline.txt")
    assert not volume.final_newline
    assert volume.threads[0].posts[0].body == "最後の行に改行がない。"
    assert warnings_of(volume) == [(17, "the last line has no line break; written back without one")]


def test_empty_line_layout_is_kept_exactly():
    volume = round_trip("odd_layout.txt")
    thread = volume.threads[0]
    assert thread.blank_after_title == 0
    assert [(p.blank_after_header, p.body, p.blank_after_body) for p in thread.posts] == [
        (0, "見出しの直後に本文、空行一つで次へ。", 1),
        (1, "\n\n 本文の前後に空行。\n\n", 2),
        (1, "", 0),
        (1, "", 2),
    ]
    assert volume.newer is None and volume.older is None


def test_crlf_pages_are_read_as_lf_and_written_back_as_crlf(seed_text):
    crlf = seed_text.replace("\n", "\r\n")
    volume = parse_volume(crlf)
    assert volume.line_break == "\r\n"
    assert (1, "CRLF line breaks: read as LF, written back as CRLF") in warnings_of(volume)
    assert "\r" not in volume.threads[0].posts[0].body
    assert write_volume(volume) == with_repairs(crlf, volume.repairs)


def test_stray_crs_in_an_lf_page_are_repaired():
    lines = fixture_text("title_brackets.txt").split("\n")
    lines[0] += "\r"
    lines[18] += "\r"
    volume = parse_volume("\n".join(lines))
    assert volume.line_break == "\n"
    assert [(r.line, r.original, r.repaired) for r in volume.repairs] == [
        (1, "情報<NO.9>\r", "情報<NO.9>"), (19, "山括弧の題。\r", "山括弧の題。")]
    assert write_volume(volume) == fixture_text("title_brackets.txt")


def test_a_byte_order_mark_is_kept():
    text = "\ufeff" + fixture_text("title_brackets.txt")
    volume = parse_volume(text)
    assert volume.board == "情報"
    assert (1, "byte-order mark at the start of the page; kept") in warnings_of(volume)
    assert write_volume(volume) == text


def test_title_list_and_threads_are_cross_checked():
    text = fixture_text("title_brackets.txt").replace("91 <ドコモ口座>第三者の不正な預金引き出し発覚 シバケン", "93 別の題 シバケン")
    volume = parse_volume(text)
    assert warnings_of(volume) == [
        (14, "thread NO.91 is not in the title list"),
        (11, "the title list names NO.93, which is not on this page"),
    ]
    assert write_volume(volume) == text


# ---- refused pages --------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "line", "expected"), [
    ("not_volume.html", 1, "expected the board line"),
    ("empty.txt", 1, "the text is empty"),
    ("random_text.txt", 1, "expected the board line"),
    ("garbage_after_board_line.txt", 11, "expected a title-list row"),
    ("thread_without_header.txt", 14, "expected a post header"),
])
def test_pages_that_are_not_volume_pages_are_refused(name, line, expected):
    with pytest.raises(ArchiveError) as raised:
        parse_volume(fixture_text(name), name)
    assert f"{name}, line {line}: " in str(raised.value)
    assert expected in str(raised.value)


@pytest.mark.parametrize(("old", "new", "line", "expected"), [
    ("【シバケン】 2020/09/11 (Fri) 09:58", "【シバケン】 2020/02/30 (Fri) 09:58", 17, "a real date and time"),
    ("<起稿 山田>(20/09/12)", "<起稿 山田>(20/13/12)", 22, "a real start date"),
    ("91 <ドコモ口座>第三者の不正な預金引き出し発覚 シバケン 20/09/11", "91 題 シバケン 20/02/30", 11, "a real date"),
    ("表題一覧表", "表題", 2, "the title list"),
    ("情報NO.10", "情報NO.10\n情報NO.11", 10, "one link to the newer volume at most"),
    ("情報NO.8", "【山田】 2020/09/12 (Sat) 10:00", 12, "not a post header before any thread line"),
])
def test_broken_lines_are_refused_with_their_line(old, new, line, expected):
    text = fixture_text("title_brackets.txt").replace(old, new)
    with pytest.raises(ArchiveError) as raised:
        parse_volume(text, "page")
    assert f"page, line {line}: " in str(raised.value) and expected in str(raised.value)


def test_lone_cr_line_breaks_are_named_in_the_error():
    with pytest.raises(ArchiveError, match="lone CRs"):
        parse_volume(fixture_text("title_brackets.txt").replace("\n", "\r"))


def test_bytes_are_refused():
    with pytest.raises(ArchiveError, match="expected the page as text"):
        parse_volume(fixture_text("title_brackets.txt").encode())


# ---- writing volumes built from fields -------------------------------------------------------


def daiou_volume() -> Volume:
    threads = [Thread(1001, "新しい<題>", "山田", date(2024, 5, 6), [
        Post("山田", datetime(2024, 5, 6, 7, 8), "副題=題\n\n本文", handle="やま", device="Pixel 8", os="Android 14"),
        Post("鈴木", datetime(2024, 5, 7, 21, 0), "返信\n\n>引用"),
    ])]
    return Volume("情報", 101, threads, title_rows_for(threads), newer=None, older=VolumeLink("情報", 100))


def test_a_volume_built_from_fields_is_written_in_daious_layout():
    assert write_volume(daiou_volume()) == "\n".join([
        "情報<NO.101>", "", "みんながパソコン大王", "総 合 目 録 趣意書", "", "表題一覧表", "", "NO 表題 起稿 起稿日",
        "1001 新しい<題> 山田 24/05/06", "情報NO.100", "",
        "NO.1001 新しい<題><起稿 山田>(24/05/06)", "", "",
        "【山田(やま)@Pixel 8(Android 14)】 2024/05/06 (Mon) 07:08", "", "副題=題", "", "本文", "", "",
        "【鈴木】 2024/05/07 (Tue) 21:00", "", "返信", "", ">引用", "", "", "",
    ])
    again = parse_volume(write_volume(daiou_volume()))
    assert volume_fields(again) == daiou_volume()
    assert again.repairs == [] and again.warnings == []


def test_stale_kept_lines_give_way_to_the_fields(seed):
    stale_post = dataclasses.replace(seed.threads[0].posts[0], header_line="【誰か】 2001/01/01 (Mon) 00:00")
    stale_thread = dataclasses.replace(seed.threads[0], title_line="NO.1 古い題<起稿 誰か>(01/01/01)", posts=[stale_post])
    volume = dataclasses.replace(seed, front_matter="情報<NO.1>\n表題一覧表\n", final_newline=True, threads=[stale_thread])
    written = write_volume(volume).split("\n")
    assert written[0] == "情報<NO.70>"
    assert written[13] == "NO.916 楽天市場を名乗るフィッシングメール<起稿 磯津千由紀>(20/09/08)"
    assert written[16] == "【磯津千由紀(寫眞機廢人)@ProOne 600 G1 AiO(Win10Pro64)】 2020/09/08 (Tue) 14:54"


@pytest.mark.parametrize(("change", "message"), [
    (lambda v: v.threads[0].posts[1].__setattr__("name", "山(田)"), "header would not read back"),
    (lambda v: v.threads[0].posts[0].__setattr__("device", "改\n行"), "header would not read back"),
    (lambda v: v.threads[0].posts[0].__setattr__("name", "山@田"), "header would not read back"),
    (lambda v: v.threads[0].posts[1].__setattr__("os", "Windows"), "an OS needs a device"),
    (lambda v: v.threads[0].posts[1].__setattr__("body", "x\n【山田】 2020/09/11 (Fri) 09:58"),
     "body line 2 would be read as a post header"),
    (lambda v: v.threads[0].posts[1].__setattr__("body", "NO.5 題<起稿 x>(20/01/01)"), "a thread title line"),
    (lambda v: v.threads[0].posts[1].__setattr__("body", "\n"), "would not read back"),
    (lambda v: v.threads[0].posts[1].__setattr__("blank_after_body", -1), "count of empty lines"),
    (lambda v: v.threads[0].__setattr__("title", "改\n行"), "its line would not read back"),
    (lambda v: v.threads[0].__setattr__("started", date(1999, 1, 1)), "its line would not read back"),
    (lambda v: v.title_rows[0].__setattr__("originator", "山 田"), "page head cannot be written"),
    (lambda v: v.__setattr__("board", "情 報"), "page head cannot be written"),
    (lambda v: v.__setattr__("line_break", "\r"), "line_break"),
])
def test_fields_that_would_not_read_back_are_refused(change, message):
    volume = daiou_volume()
    change(volume)
    with pytest.raises(ArchiveError, match=message):
        write_volume(volume)


def stored_and_rebuilt(volume: ParsedVolume) -> Volume:
    """What a database keeps (the fields, JSON layouts) and the volume it builds back from that."""
    def row(item, *names):
        return {name: getattr(item, name) for name in names}, json.loads(json.dumps(layout_of(item)))
    posts = [[row(p, "name", "handle", "device", "os", "posted_at", "body") for p in t.posts] for t in volume.threads]
    threads = [row(t, "number", "title", "originator", "started") for t in volume.threads]
    head = row(volume, "board", "number", "newer", "older", "title_rows")
    rebuilt = []
    for (fields, layout), thread_posts in zip(threads, posts):
        thread = Thread(**fields, posts=[with_layout(Post(**f), post_layout) for f, post_layout in thread_posts])
        rebuilt.append(with_layout(thread, layout))
    return with_layout(Volume(**head[0], threads=rebuilt), head[1])


@pytest.mark.parametrize("name", ["seed", "extra_site_line.txt", "header_variants.txt", "full_width.txt",
                                  "odd_layout.txt", "no_final_newline.txt"])
def test_fields_and_layouts_as_a_database_keeps_them_write_the_same_page(name, seed_text):
    text = seed_text if name == "seed" else fixture_text(name)
    volume = parse_volume(text)
    assert write_volume(stored_and_rebuilt(volume)) == with_repairs(text, volume.repairs)


def test_layout_is_kept_only_where_it_differs_from_daious_form(seed):
    assert layout_of(seed) == {"final_newline": False}
    assert [layout_of(p) for p in seed.threads[1].posts][-2:] == [None, {"blank_after_body": 0}]
    assert layout_of(seed.threads[0]) is None
    assert layout_of(daiou_volume()) is None


@pytest.mark.parametrize("layout", [{"header_line": 1}, {"blank_after_body": "2"}, {"blank_after_body": True},
                                    {"title_line": "x"}, ["header_line"]])
def test_with_layout_refuses_what_layout_of_does_not_write(layout):
    with pytest.raises(ArchiveError, match="not a Post layout"):
        with_layout(Post("山田", datetime(2020, 1, 1), ""), layout)


# ---- the member-body rule -------------------------------------------------------------------


def test_member_bodies_get_lf_line_ends():
    assert normalize_member_body("一\r\n二\r三\n") == "一\n二\n三\n"
    assert normalize_member_body("\r\n\n") == ""


def test_structure_shaped_member_lines_are_refused():
    text = "副題=題\r\n【山田】 2020/09/11 (Fri) 09:58\r\nシバケン】 2020/09/11 (Fri) 23:34\nNO.5 題<起稿 x>(20/01/01)\n" \
           "********** 以下引用 **********\n【新品】Apple\n<!>"
    assert [(p.line, p.message.split(" would")[0].split(" is a")[0]) for p in check_member_body(text)] == [
        (1, "the first line starts with 副題=, the subtitle mark; put the subtitle in its own field"),
        (2, "line 2"), (3, "line 3"), (4, "line 4"), (5, "line 5"),
    ]
    assert "a post header" in check_member_body(text)[1].message
    assert "a thread title line" in check_member_body(text)[3].message
    assert "quote mark" in check_member_body(text)[4].message
    assert check_member_body("【重要】お知らせ\n> 引用\n<参考=「記事」(新聞)>\n") == []


def test_compose_body_lays_out_subtitle_text_and_numbered_quotes():
    body = compose_body("本文\r\n", subtitle="題", mails=[([("Subject", "件名1")], "一通目"), ([], "二通目")])
    assert body == "\n".join(["副題=題", "", "本文", "", "", "", "********** 以下引用1 **********", "", "Subject: 件名1",
                              "", "一通目", "", "", "********** 以下引用2 **********", "", "二通目"])
    assert [b.kind for b in parse_body(body)] == ["subtitle", "blank", "text", "blank", "quote", "blank", "quote"]
    assert compose_body("", mails=[([], "一通")]) == "********** 以下引用 **********\n\n一通"
    assert compose_body("", subtitle="題だけ") == "副題=題だけ"


def test_member_bodies_that_are_not_text_are_refused():
    with pytest.raises(MemberBodyError, match="a body is text"):
        check_member_body(None)
    with pytest.raises(MemberBodyError):
        compose_body("本文", subtitle=3)


def test_compose_body_lists_every_problem():
    with pytest.raises(MemberBodyError) as raised:
        compose_body("NO.5 題<起稿 x>(20/01/01)", subtitle="a\nb",
                     mails=[([("X-Spam", "1")], "本文"), ([], "【山田】 2020/09/11 (Fri) 09:58")])
    assert [p.line for p in raised.value.problems] == [1, 0, 0, 0]
    assert "quoted mail 2, line 3 would be read as a post header" in str(raised.value)
    assert isinstance(raised.value, ArchiveError)


# ---- properties -----------------------------------------------------------------------------

BODY_FRAGMENTS = [
    "", "", "", " ", "   ", "　", "本文", " 字下げ", "<!>", "<?>", "【重要】お知らせ", "【山田】", ">引用", "> 引用", ">",
    "<参考=「題」(新聞)>", "<消滅・21/05/30>", "<図1>", "<補足>", "<注=注>", "<以下省略>", "From: x", "NO.5", "副題=中の行",
    "【山田】 2020/09/11 (Fri) 09:58", "シバケン】 2020/09/11 (Fri) 23:34", "NO.5 題<起稿 x>(20/01/01)",
    "********** 以下引用 **********", "\r", "x\r\n", "\u2028",
]
line_text = st.text(max_size=12).filter(lambda s: "\n" not in s and "\r" not in s)
member_text = st.lists(st.one_of(st.sampled_from(BODY_FRAGMENTS), line_text), max_size=12).map("\n".join)
# Header fields a member could have: no brackets, @ or parentheses that would move a part.
plain_field = st.text(max_size=10).filter(
    lambda s: not any(c in s for c in "\n\r【】@＠()（）") and reads_as_structure(f"【{s}】 2020/01/01 (Wed) 00:00"))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0))


@st.composite
def member_posts(draw):
    text = draw(member_text)
    assume(check_member_body(text) == [])
    subtitle = draw(st.sampled_from(["", "題", "<!>", "【重要】"]))
    mails = draw(st.lists(st.tuples(st.lists(st.tuples(st.sampled_from(["From", "Subject", "Date"]), line_text),
                                             max_size=2), member_text), max_size=2))
    try:
        body = compose_body(text, subtitle=subtitle, mails=mails)
    except MemberBodyError:  # a mail that cannot be quoted as given; the own text always can
        body = compose_body(text, subtitle=subtitle)
    device = draw(plain_field)
    post = Post(draw(plain_field.filter(bool)), draw(moments), body, handle=draw(plain_field), device=device,
                os=draw(plain_field) if device else "")
    return post, subtitle or None


@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow], deadline=None)
@given(st.lists(st.lists(member_posts(), max_size=3), min_size=1, max_size=3), st.sampled_from(["情報", "雑談"]))
def test_member_bodies_survive_write_parse_write(posts_per_thread, board):
    threads = [Thread(number, f"題{number}", "山田", date(2020, 1, 1), [post for post, _ in posts])
               for number, posts in enumerate(posts_per_thread, 1)]
    volume = Volume(board, 7, threads, title_rows_for(threads))
    written = write_volume(volume)
    parsed = parse_volume(written)
    assert volume_fields(parsed) == volume  # bodies, header fields, layout
    assert parsed.repairs == []
    assert write_volume(parsed) == written
    subtitles = [subtitle for posts in posts_per_thread for _, subtitle in posts]
    assert [post.subtitle for thread in parsed.threads for post in thread.posts] == subtitles


@settings(deadline=None)
@given(st.text(max_size=10), st.text(max_size=10), st.text(max_size=10), st.text(max_size=10), moments, member_text)
def test_any_header_fields_are_written_so_they_read_back_or_refused(name, handle, device, os, moment, body):
    post = Post(name, moment, normalize_member_body(body), handle=handle, device=device, os=os)
    threads = [Thread(1, "題", "山田", date(2020, 1, 1), [post])]
    volume = Volume("情報", 1, threads, title_rows_for(threads))
    try:
        written = write_volume(volume)
    except ArchiveError:
        return
    assert volume_fields(parse_volume(written)) == volume


@given(st.text())
def test_parse_volume_refuses_any_text_only_with_archive_error(text):
    try:
        parse_volume(text)
    except ArchiveError:
        pass


PAGE_HEAD = ["情報<NO.70>", "", "みんながパソコン大王", "総 合 目 録 趣意書", "", "表題一覧表", "", "NO 表題 起稿 起稿日", "情報NO.71",
             "917 題 シバケン 20/09/11", "情報NO.69", ""]
PAGE_HEADS = [PAGE_HEAD, PAGE_HEAD[:6], ["みんながパソコン大王", *PAGE_HEAD], ["\ufeff情報＜ＮＯ．７０＞", *PAGE_HEAD[1:]],
              [*PAGE_HEAD[:9], "918 【新】<題> 山田 20/09/12", *PAGE_HEAD[9:]]]
TITLE_LINES = ["NO.917 題<起稿 シバケン>(20/09/11)", "NO.918 【新】<題>【題】<起稿 山田>(20/09/12)",
               "NO．９１９ 全角＜起稿 山田＞（２０/０９/１３）"]
HEADER_LINES = [
    "【シバケン】 2020/09/11 (Fri) 09:58", "【山田(やま)@PC (98)(DOS)】 2020/09/11 (Sat) 09:58", "シバケン】 2020/09/11 (Fri) 23:34",
    "【山田 2020/09/11 (Fri) 09:58", "【山田（やま）＠ＰＣ】 ２０２０/０９/１１ （Ｆｒｉ） ２３：３４", "【山田@iPhone】2020/9/1 (火) 9:05",
]
BROKEN_LINES = ["NO.920 題<起稿 x>(20/02/30)", "【x】 2020/02/30 (Fri) 09:58", "情報NO.72", "917 題 x 20/13/01", "表題一覧表"]


@st.composite
def volume_like_pages(draw):
    lines = list(draw(st.sampled_from(PAGE_HEADS)))
    for _ in range(draw(st.integers(0, 3))):
        lines.append(draw(st.sampled_from(TITLE_LINES)))
        lines += [""] * draw(st.integers(0, 3))
        for _ in range(draw(st.integers(0, 3))):
            lines.append(draw(st.sampled_from(HEADER_LINES)))
            lines += draw(st.lists(st.one_of(st.sampled_from(BODY_FRAGMENTS), line_text), max_size=8))
    if draw(st.integers(0, 3)) == 0:  # now and then a stray line anywhere
        stray = draw(st.one_of(st.sampled_from(HEADER_LINES + TITLE_LINES + BODY_FRAGMENTS + BROKEN_LINES), line_text))
        lines.insert(draw(st.integers(0, len(lines))), stray)
    line_break = draw(st.sampled_from(["\n", "\r\n", "\n", "\r"]))
    return line_break.join(lines) + draw(st.sampled_from(["", line_break]))


@settings(deadline=None)
@given(volume_like_pages())
def test_any_page_that_parses_is_written_back_exactly_but_its_repairs(text):
    try:
        volume = parse_volume(text)
    except ArchiveError:
        return
    written = write_volume(volume)
    assert written == with_repairs(text, volume.repairs)
    again = parse_volume(written)
    assert again.repairs == [] and volume_fields(again) == volume_fields(volume)


def test_a_page_that_now_ends_with_empty_lines_gets_its_final_line_break(seed):
    # The seed's last line lacks its break; a post added after it ends in empty lines.
    thread = seed.threads[1]
    added = Post("山田", datetime(2024, 1, 1, 0, 0), "追加")
    longer = dataclasses.replace(thread, posts=[*thread.posts, added])
    volume = dataclasses.replace(seed, threads=[seed.threads[0], longer])
    written = write_volume(volume)
    assert written.endswith("(20/09/17)\n【山田】 2024/01/01 (Mon) 00:00\n\n追加\n\n\n")
    reread = parse_volume(written)
    assert reread.final_newline and reread.threads[1].posts[-2:] == [thread.posts[-1], added]


# ---- imported quotes are redacted (forum.archive.safe_quotes) ------------------------------


def redacted(text: str) -> ParsedVolume:
    from forum.archive.safe_quotes import redact_quotes

    return redact_quotes(parse_volume(text, "page"), "page")


def one_thread_page(*posts: tuple[str, str]) -> str:
    """A page of one thread whose posts are (author, body)."""
    threads = [Thread(1, "題", posts[0][0], date(2021, 3, 1), [
        Post(name, datetime(2021, 3, 1, 9 + i), body) for i, (name, body) in enumerate(posts)])]
    return write_volume(Volume("情報", 5, threads, title_rows_for(threads)))


def quote(*lines: str) -> str:
    return "\n".join(["本文。", "", "", "********** 以下引用 **********", "", *lines])


def test_the_seeds_recipient_is_redacted_in_all_of_its_authors_quotes_and_nothing_else(seed_text):
    volume = redacted(seed_text)
    assert [(r.line, r.what, r.original, r.repaired) for r in volume.repairs] == [
        (376, "quoted mail: recipient's name redacted", None, "To: xxxx <xxxx@xxxx.name>"),
        (439, "quoted mail: recipient's name redacted", None, "xxxx様"),
        (611, "post header lost a bracket; restored", "シバケン】 2020/09/11 (Fri) 23:34",
         "【シバケン】 2020/09/11 (Fri) 23:34"),
    ]
    assert "chiyuki" not in volume.repairs[0].describe()
    old_lines, new_lines = seed_text.split("\n"), write_volume(volume).split("\n")
    assert [n for n, (old, new) in enumerate(zip(old_lines, new_lines), 1) if old != new] == [376, 439, 611]
    assert not redacted(write_volume(volume)).repairs  # nothing left to redact, nothing left to mend


def test_names_of_one_author_stay_with_that_author_and_headers_are_never_redacted():
    page = one_thread_page(
        ("Taro", quote("To: Taro Yamada <taro.y@example.jp>", "", "Taro Yamada様", "Dear Taro,")),
        ("Hanako", quote("To: <xxxx@xxxx.name>", "", "Yamada様 (宛名は別人)")),
        ("Taro", quote("Subject: 再送", "", "Yamada 様", "taro.y@example.jp 宛て", "Tarot カード", "taroimo Yamadaya")),
    )
    volume = redacted(page)
    bodies = [p.body for p in volume.threads[0].posts]
    assert "To: xxxx <xxxx@xxxx.name>\n\nxxxx様\nDear xxxx," in bodies[0]
    assert bodies[1] == parse_volume(page).threads[0].posts[1].body  # another author's quote: as written
    assert "xxxx 様\nxxxx@xxxx.name 宛て\nTarot カード\ntaroimo Yamadaya" in bodies[2]  # names only as words
    assert [p.name for p in volume.threads[0].posts] == ["Taro", "Hanako", "Taro"]
    assert volume.threads[0].originator == "Taro"


def test_a_name_broken_over_two_lines_keeps_every_line_in_its_place():
    page = one_thread_page(
        ("山田", quote("To: Hanako Yamada <h.y@example.jp>", "", "Hanako", "Yamada様 カード 4111-1111-1111-1111")))
    volume = redacted(page)
    body = volume.threads[0].posts[0].body
    assert body.endswith("To: xxxx <xxxx@xxxx.name>\n\nxxxx\nxxxx様 カード ****-****-****-1111")
    assert body.count("\n") == parse_volume(page).threads[0].posts[0].body.count("\n")
    assert [r.what for r in volume.repairs][-1] == (
        "quoted mail: recipient's name and card number (last four digits kept) redacted")
    assert write_volume(volume).count("\n") == page.count("\n")


def test_own_text_news_and_generic_salutations_are_not_quotes_to_redact():
    text = "Dear Yamada, 4111 1111 1111 1111\n\n>お客様各位 4111 1111 1111 1111\n\n" + quote(
        "To: お客様 <xxxx@xxxx.name>", "", "お客様各位", "会員様")
    volume = redacted(one_thread_page(("山田", text)))
    assert volume.repairs == []
