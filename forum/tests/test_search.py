"""Search (ISSUE 7): /search/ on both databases, the index kept up to date, hostile input."""

import itertools
import random
import re
from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as strategies

from forum import actions, search, search_index
from forum import search_text as st
from forum.archive.volume import Post as ArchivePost
from forum.archive.volume import Thread as ArchiveThread
from forum.archive.volume import Volume as ArchiveVolume
from forum.archive.volume import title_rows_for, write_volume
from forum.archive_io import import_volume
from forum.models import Post, SearchDocument, Thread
from forum.tests import factories

pytestmark = pytest.mark.django_db

HIT = re.compile(r'class="search-hit-title"><a href="/(\w+)/(\d+)/(?:\?page=\d+)?#p(\d+)"')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
MAIL = """********** 以下引用 **********

From: 【楽天市場】 <info@rakuten-secure.xyz>
To: xxxx <xxxx@xxxx.name>
Subject: 【楽天市場】お支払い情報の確認
Date: 2020/08/21 07:30

お客様のアカウントで異常な行為が検出されました。
https://rakuten-secure.xyz/login?id=12345
"""


@pytest.fixture
def archive(django_capture_on_commit_callbacks):
    """Import threads through the archive importer (which announces posts_changed), dated
    one day apart from 2020-01-01: `archive(("title", ["body", …]), …, board="情報")`."""
    numbers = itertools.count(1)
    volumes = itertools.count(1)
    days = itertools.count()

    def make(*threads, board="情報", names=("磯津千由紀",)):
        parsed = []
        for title, bodies in threads:
            posts = [ArchivePost(name=names[i % len(names)], body=body,
                                 posted_at=datetime(2020, 1, 1, 12, 0) + timedelta(days=next(days)))
                     for i, body in enumerate(bodies)]
            parsed.append(ArchiveThread(number=next(numbers), title=title, originator=posts[0].name,
                                        started=posts[0].posted_at.date(), posts=posts))
        volume = ArchiveVolume(board=board, number=next(volumes), threads=parsed, title_rows=title_rows_for(parsed))
        with django_capture_on_commit_callbacks(execute=True):
            import_volume(write_volume(volume), "test")
        return [Thread.objects.get(board__name=board, number=t.number) for t in parsed]

    return make


def hits(client, **params) -> list[tuple[int, int]]:
    """(thread NO., post position) of each hit on the page, in order."""
    response = client.get("/search/", params)
    assert response.status_code == 200, response.content.decode()[:2000]
    return [(int(number), int(position)) for _, number, position in HIT.findall(response.content.decode())]


def page(client, HTTP_ACCEPT_LANGUAGE="ja", **params) -> str:
    return client.get("/search/", params, HTTP_ACCEPT_LANGUAGE=HTTP_ACCEPT_LANGUAGE).content.decode()


# ---- what matches ----------------------------------------------------------------------------


def test_two_character_words_match_anywhere_in_japanese_text(client, archive):
    archive(("口座の話", ["ドコモ口座で不正な引き出し", "口座番号を入力させる手口", "講座のお知らせ"]))
    assert sorted(hits(client, q="口座")) == [(1, 1), (1, 2)]
    assert hits(client, q="引き出") == [(1, 1)]


def test_one_character_queries_find_every_post_holding_it_newest_first(client, archive):
    archive(("一文字", ["口座", "座", "何もない", "座布団です"]))
    assert hits(client, q="座") == [(1, 4), (1, 2), (1, 1)]  # also when it ends the text
    assert hits(client, q="座", order="relevance") == [(1, 4), (1, 2), (1, 1)]
    assert "newest first" in page(client, q="座", HTTP_ACCEPT_LANGUAGE="en")


def test_longer_words_match_only_where_their_characters_stand_together(client, archive):
    archive(("長い語", ["口座番号を入力", "口座と座番と番号はばらばら", "口座 番号"]))
    assert hits(client, q="口座番号") == [(1, 1)]
    assert hits(client, q="口座 番号") == [(1, 3), (1, 2), (1, 1)]  # two words: both anywhere
    assert hits(client, q='"口座 番号"') == [(1, 3)]  # a phrase: as written, spaces and all
    assert hits(client, q="座番と番") == [(1, 2)]


def test_width_case_and_invisible_characters_do_not_matter(client, archive):
    archive(("幅", ["フィッシングメール from Amazon", "ＡＭＡＺＯＮを名乗る", "楽\u200b天を名乗る", "ﾄﾞｺﾓ"]))
    assert hits(client, q="ﾌｨｯｼﾝｸﾞ") == [(1, 1)]
    assert hits(client, q="ＡＭＡＺＯＮ") == [(1, 2), (1, 1)]
    assert hits(client, q="aMaZoN") == [(1, 2), (1, 1)]
    assert hits(client, q="楽天") == [(1, 3)]
    assert hits(client, q="ドコモ") == [(1, 4)]


def test_a_defanged_or_fanged_url_finds_the_posts_that_quote_it(client, archive):
    archive(("URL", [MAIL, "注意: hxxps://evil-shop[.]example/pay が偽サイト", "関係ない"]))
    assert hits(client, q="hxxps://rakuten-secure[.]xyz/login") == [(1, 1)]
    assert hits(client, q="rakuten-secure.xyz") == [(1, 1)]
    assert hits(client, q="https://evil-shop.example/pay") == [(1, 2)]
    assert hits(client, q="evil-shop[.]example") == [(1, 2)]


def test_titles_subtitles_quoted_headers_and_authors_are_searched(client, archive):
    archive(("えきねっとを名乗るメール", ["本文", "副題=続報の副題\n\n二通目", MAIL]), names=("山田太郎", "シバケン"))
    assert hits(client, q="えきねっと") == [(1, 1)]  # the thread's title is its first post's
    assert hits(client, q="続報の副題") == [(1, 2)]
    assert hits(client, q="お支払い情報の確認") == [(1, 3)]  # Subject of the quoted mail
    assert hits(client, q="info@rakuten") == [(1, 3)]
    assert hits(client, q="シバケン") == [(1, 2)]


def test_relevance_puts_title_matches_first_then_newest(client, archive):
    archive(("楽天市場を名乗るメール", ["一通目"]), ("別の話", ["楽天の話", "また楽天"]))
    assert hits(client, q="楽天") == [(1, 1), (2, 2), (2, 1)]
    assert hits(client, q="楽天", order="newest") == [(2, 2), (2, 1), (1, 1)]


# ---- pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["relevance", "newest"])
def test_pages_follow_each_other_without_gaps_or_repeats(client, archive, order):
    archive(("詐欺の見出し", ["詐欺 1"] + [f"詐欺 {n}" for n in range(2, 25)]),
            ("その他", [f"本文 {n}" for n in range(5)] + [f"詐欺 {n}" for n in range(25, 46)]))
    seen, url, pages = [], f"/search/?q=詐欺&order={order}", 0
    while url:
        html = client.get(url.replace("&amp;", "&")).content.decode()
        seen += HIT.findall(html)
        found = NEXT.search(html)
        url = found[1] if found else None
        pages += 1
    assert pages == 3 and len(seen) == 45 and len(set(seen)) == 45
    if order == "relevance":
        assert seen[0] == ("info", "1", "1")
    assert "45 posts found" in page(client, q="詐欺", HTTP_ACCEPT_LANGUAGE="en")


def test_the_results_page_makes_the_same_queries_for_3_or_45_hits(client, archive, django_assert_num_queries):
    archive(("少ない", ["まれな語 1", "まれな語 2", "まれな語 3"]), ("多い", [f"よくある語 {n}" for n in range(45)]))
    for query in ("まれな語", "よくある語", "よく"):
        # boards (for the form), hits, count, the page's posts with their threads and boards
        with django_assert_num_queries(4):
            assert client.get("/search/", {"q": query}).status_code == 200


def test_a_board_moderators_results_page_makes_the_same_queries_for_3_or_45_hits(
        info_moderator_client, archive, django_assert_num_queries):
    shown, = archive(("多い", [f"よくある語 {n}" for n in range(45)] + ["まれな語 1", "まれな語 2", "まれな語 3"]))
    Post.objects.filter(thread=shown, position__in=[1, 46]).update(hidden=True)
    for query in ("まれな語", "よくある語", "よく"):
        # session, member, their permissions (2), the boards they moderate, then a reader's four:
        # the hidden posts of their boards come in the same hits and count statements; the
        # header's unread notices (forum.watching)
        with django_assert_num_queries(10):
            assert info_moderator_client.get("/search/", {"q": query}).status_code == 200


def test_counts_past_the_cap_say_more_than(client, archive, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 5)
    archive(("数", [f"数える {n}" for n in range(8)]))
    assert "More than 5 posts found" in page(client, q="数える", HTTP_ACCEPT_LANGUAGE="en")
    assert "8 posts" not in page(client, q="数える", HTTP_ACCEPT_LANGUAGE="en")


# ---- filters ---------------------------------------------------------------------------------


def test_filters_by_board_author_dates_and_quotes(client, archive):
    archive(("情報の詐欺", ["詐欺A", "詐欺B\n\n" + MAIL, "詐欺C"]), names=("山田太郎", "シバケン"))
    archive(("雑談の詐欺", ["詐欺D"]), board="雑談", names=("シバケン",))
    assert sorted(hits(client, q="詐欺", board="chat")) == [(2, 1)]
    assert sorted(hits(client, q="詐欺", board="info")) == [(1, 1), (1, 2), (1, 3)]
    assert sorted(hits(client, q="詐欺", author="ｼﾊﾞｹﾝ")) == [(1, 2), (2, 1)]
    assert sorted(hits(client, q="詐欺", quotes="on")) == [(1, 2)]
    # Dates are Japan days: the posts are 2020-01-01, 01-02, 01-03 and 01-04 at noon.
    assert sorted(hits(client, q="詐欺", since="2020-01-02", until="2020-01-03")) == [(1, 2), (1, 3)]
    assert sorted(hits(client, author="山田太郎")) == [(1, 1), (1, 3)]  # filters alone search too


@pytest.fixture
def brands():
    names = {"rakuten": ["楽天", "Rakuten"], "empty": []}
    search.register_brand_lookup(search.BrandLookup(
        choices=lambda: [("rakuten", "楽天"), ("empty", "名前なし")], names=lambda slug: names.get(slug, [])))
    yield
    search.register_brand_lookup(None)


def test_the_brand_filter_finds_posts_naming_any_of_the_brand_names(client, archive, brands):
    archive(("ブランド", ["楽天を名乗る", "RAKUTEN card", "Amazonを名乗る", "楽天とAmazon"]))
    assert hits(client, brand="rakuten") == [(1, 4), (1, 2), (1, 1)]
    assert hits(client, q="amazon", brand="rakuten") == [(1, 4)]
    assert hits(client, brand="empty") == []
    assert client.get("/search/", {"brand": "nosuch"}).status_code == 400


def test_without_a_brand_lookup_the_form_has_no_brand(client):
    assert 'name="brand"' not in page(client)


# ---- hidden posts ----------------------------------------------------------------------------


def test_hidden_posts_and_threads_are_found_only_by_moderators(client, member_client, moderator_client, archive):
    shown, hidden_thread = archive(("見える", ["秘密の話 1", "秘密の話 2"]), ("隠す", ["秘密の話 3"]))
    Post.objects.filter(thread=shown, position=2).update(hidden=True)
    Thread.objects.filter(pk=hidden_thread.pk).update(hidden=True)
    for reader in (client, member_client):
        assert hits(reader, q="秘密") == [(1, 1)]
        assert "1 post found" in page(reader, q="秘密", HTTP_ACCEPT_LANGUAGE="en")
    assert hits(moderator_client, q="秘密") == [(2, 1), (1, 2), (1, 1)]
    assert page(moderator_client, q="秘密").count('class="badge"') == 2


@pytest.fixture
def info_moderator_client(db):
    """A moderator of 情報 (info) only: a BoardModerator row, no forum.moderate."""
    from django.test import Client

    from forum.moderation.models import BoardModerator

    user = factories.UserFactory()
    BoardModerator.objects.create(user=user, board=factories.board("info"))
    client = Client()
    client.force_login(user)
    return client


def hidden_on_both_boards(archive):
    """On 情報 NO.1 a hidden reply, NO.2 a hidden thread; on 雑談 NO.3 a hidden reply, NO.4 a
    hidden thread. Titles with 秘密 put first posts in the first relevance bucket."""
    shown, hidden_thread = archive(("見える", ["秘密の話 1", "秘密の話 2", "秘密の話 3"]),
                                   ("秘密のスレッド", ["秘密の話 4"]))
    chat, hidden_chat = archive(("雑談の秘密", ["秘密の話 5", "秘密の話 6"]), ("秘密の雑談", ["秘密の話 7"]),
                                board="雑談")
    Post.objects.filter(thread__in=[shown, chat], position=2).update(hidden=True)
    Thread.objects.filter(pk__in=[hidden_thread.pk, hidden_chat.pk]).update(hidden=True)


def test_a_board_moderator_finds_hidden_posts_of_their_boards_only(client, moderator_client, info_moderator_client,
                                                                   archive):
    hidden_on_both_boards(archive)
    for order in ("relevance", "newest"):
        everything = hits(moderator_client, q="秘密", order=order)
        assert len(everything) == 7
        assert hits(client, q="秘密", order=order) == [h for h in everything if h in [(1, 1), (1, 3), (3, 1)]]
        # 情報's hidden reply and hidden thread; never 雑談's.
        assert hits(info_moderator_client, q="秘密", order=order) == [h for h in everything
                                                                      if h not in [(3, 2), (4, 1)]]
    html = page(info_moderator_client, q="秘密", HTTP_ACCEPT_LANGUAGE="en")
    assert "5 posts found" in html and html.count('class="badge"') == 2
    assert hits(info_moderator_client, q="秘密", board="chat") == [(3, 1)]
    assert hits(info_moderator_client, q="秘密の話 4") == [(2, 1)]


@pytest.mark.parametrize("order", [search.RELEVANCE, search.NEWEST])
def test_a_board_moderators_pages_follow_each_other(archive, order):
    hidden_on_both_boards(archive)
    info = factories.board("info").pk
    terms = st.parse_query("秘密").terms
    everything = search.run(search.Search(terms=terms, order=order, moderator=True), page_size=100)
    expected = [h.post.pk for h in everything.hits if h.post.thread.number not in (3, 4)
                or not (h.post.hidden or h.post.thread.hidden)]
    wanted = search.Search(terms=terms, order=order, moderated_boards=(info,))
    seen, after = [], None
    while True:
        result = search.run(wanted, after=after, page_size=2)
        seen += [h.post.pk for h in result.hits]
        assert result.count == len(expected) == 5
        if result.next_cursor is None:
            break
        after = result.next_cursor
    assert seen == expected


# ---- the index follows the posts -------------------------------------------------------------


def test_writing_editing_and_retitling_keep_the_index_up_to_date(client, member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        thread = factories.thread(user=member, title="最初の題", body="書いたばかりの本文")
    assert hits(client, q="書いたばかり") == [(thread.number, 1)]
    with django_capture_on_commit_callbacks(execute=True):
        reply = actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="返信の言葉"))
        actions.edit_post(post=thread.posts.get(position=1), user=member,
                          fields=actions.PostFields(body="直した本文"))
    assert hits(client, q="返信の言葉") == [(thread.number, reply.position)]
    assert hits(client, q="書いたばかり") == []
    assert hits(client, q="直した本文") == [(thread.number, 1)]
    with django_capture_on_commit_callbacks(execute=True):
        thread.title = "新しい題"
        thread.save()
    assert hits(client, q="新しい題") == [(thread.number, 1)]
    assert hits(client, q="最初の題") == []
    assert SearchDocument.objects.count() == 2


def test_a_reimported_post_is_found_by_its_new_text(client, archive, django_capture_on_commit_callbacks):
    archive(("再取込", ["古い文面"]))
    thread = ArchiveThread(number=1, title="再取込", originator="磯津千由紀", started=date(2020, 1, 1),
                           posts=[ArchivePost(name="磯津千由紀", body="新しい文面", posted_at=datetime(2020, 1, 1, 12))])
    volume = ArchiveVolume(board="情報", number=1, threads=[thread], title_rows=title_rows_for([thread]))
    with django_capture_on_commit_callbacks(execute=True):
        import_volume(write_volume(volume), "again")
    assert hits(client, q="新しい文面") == [(1, 1)] and hits(client, q="古い文面") == []


def test_the_command_rebuilds_the_index(client, archive):
    archive(("作り直し", ["索引を作り直す", "二つ目"]))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM forum_searchdocument")
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO forum_searchindex (forum_searchindex) VALUES ('delete-all')")
    assert hits(client, q="作り直") == []
    call_command("rebuild_search_index", verbosity=0)
    assert hits(client, q="作り直") == [(1, 1)]
    call_command("rebuild_search_index", "--resume", verbosity=0)
    assert SearchDocument.objects.count() == 2


def test_long_posts_are_found_up_to_the_indexed_length(client, archive, monkeypatch):
    # Far past 16,383 positions (a tsvector's limit) and 256 occurrences of a lexeme.
    body = "あいう" * 10_000 + "終わり近くの語"
    archive(("長文", [body]))
    assert hits(client, q="終わり近く") == [(1, 1)]
    monkeypatch.setattr(st, "MAX_INDEXED_CHARS", 1000)
    archive(("長文2", ["えお" * 1000 + "切られた語"]))
    assert hits(client, q="切られた語") == []


@pytest.mark.sqlite
def test_the_fts5_index_stays_consistent_after_edits(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        thread = factories.thread(user=member, body="一つ目")
        for body in ("二つ目", "三つ目 hxxps://x[.]example"):
            actions.edit_post(post=thread.posts.get(), user=member, fields=actions.PostFields(body=body))
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO forum_searchindex (forum_searchindex, rank) VALUES ('integrity-check', 0)")
        cursor.execute("SELECT count(*) FROM forum_searchindex WHERE forum_searchindex MATCH ?",
                       ['{head body} : ("一つ" OR "二つ")'])
        assert cursor.fetchone()[0] == 0


# ---- each database's own index ---------------------------------------------------------------


@pytest.mark.sqlite
def test_sqlite_reads_the_fts5_index_in_key_order(archive):
    archive(("計画", ["口座"]))
    match = search._SQLITE.match(search.Search(terms=st.parse_query("口座").terms))
    sql, params = search._SQLITE._select(0, search.Search(), search.MAX_KEY)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, [match, *params, 21])
        plan = " / ".join(row[-1] for row in cursor.fetchall())
    assert "VIRTUAL TABLE INDEX" in plan and "TEMP B-TREE" not in plan, plan  # no sort: FTS5's order


@pytest.mark.postgres
def test_postgres_answers_from_the_gin_index_of_a_utf8_database(archive):
    archive(("計画", ["口座"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
                       "WHERE datname = current_database()")
        encoding, collate, ctype = cursor.fetchone()
        assert encoding == "UTF8", (encoding, collate, ctype)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT sort_key FROM forum_searchdocument WHERE tsv @@ %s::tsquery",
                       [search._POSTGRES.query(search.Search(terms=st.parse_query("口座").terms))])
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "forum_searchdocument_tsv" in plan, plan


def gin_candidates(query: str) -> set[int]:
    """Posts the index itself proposes for a query, before any check of the text."""
    tsquery = search._POSTGRES.query(search.Search(terms=st.parse_query(query).terms))
    with connection.cursor() as cursor:
        cursor.execute("SELECT post_id FROM forum_searchdocument WHERE tsv @@ %s::tsquery", [tsquery])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.postgres
def test_postgres_proposes_only_posts_holding_a_terms_trigrams(client, archive):
    """A rare phrase of common bigrams: the posts holding its bigrams apart are not even
    candidates (each would cost a read of its text), and the hits are the same."""
    [thread] = archive(("三文字", ["口座番号を入力", "口座と座番と番号はばらばら", "番号の口座", "口座番"]))
    posts = {p.position: p.pk for p in thread.posts.all()}
    assert gin_candidates("口座番") == {posts[1], posts[4]}
    assert gin_candidates("口座番号") == {posts[1]}
    assert gin_candidates("座番と番") == {posts[2]}
    assert hits(client, q="口座番") == [(1, 4), (1, 1)]
    assert hits(client, q="口座 番号") == [(1, 3), (1, 2), (1, 1)]


@pytest.mark.postgres
def test_postgres_finds_a_post_whose_trigrams_did_not_all_fit_by_its_bigrams(client, archive):
    # Distinct trigrams past what a tsvector holds: the end of the text has none indexed.
    rng = random.Random(7)
    body = "".join(chr(rng.randrange(0x4E00, 0x4E00 + 20_000)) for _ in range(50_000)) + "終わりの語"
    [thread] = archive(("長い", [body]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsv @@ %s::tsquery FROM forum_searchdocument", [f"'{st.CUT_TOKEN}'"])
        assert cursor.fetchone()[0], "the document says its trigrams were cut"
    assert hits(client, q="終わりの語") == [(1, 1)]
    assert hits(client, q="りの語") == [(1, 1)]
    assert hits(client, q="終わりの後") == []


@pytest.mark.postgres
def test_rewriting_the_lexemes_gives_what_indexing_gave(archive):
    archive(("再計算", ["口座番号を入力", "フィッシング from Amazon"]))
    with connection.cursor() as cursor:
        cursor.execute("SELECT post_id, tsv::text FROM forum_searchdocument ORDER BY post_id")
        before = cursor.fetchall()
        cursor.execute("UPDATE forum_searchdocument SET tsv = ''::tsvector")
    assert search_index.rewrite_lexemes(batch=1) == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT post_id, tsv::text FROM forum_searchdocument ORDER BY post_id")
        assert cursor.fetchall() == before


# ---- hostile input and safe output -----------------------------------------------------------


def test_highlighting_cannot_inject_html(client, archive):
    archive(('<b>題</b><script>alert("t")</script>', ['<img src=x onerror=alert(1)> を名乗る <script>alert(2)</script>']))
    html = page(client, q="<img <script>")
    results = html[html.index('class="search-results"'):]
    assert "<img" not in results and "<script" not in results and "<b>" not in results
    assert "<mark>&lt;img</mark>" in results and "<mark>&lt;script&gt;</mark>" in results
    reflected = page(client, q='"><script>alert(3)</script>')
    assert "<script>alert(3)" not in reflected and "&quot;&gt;&lt;script&gt;" in reflected


@pytest.mark.parametrize("query", [
    '"', '""', '"unclosed', 'a"b"c"', "*", "**", "楽*", "NEAR", "NEAR(a b)", "a AND b", "a OR b", "NOT a", "a NOT",
    ":", "head:楽天", "{head}: x", "^x", "-x", "+x", "(", ")", "()", "'", "''", "\\", "\\'", "a & b", "a | b", "!a",
    "a <-> b", "a:*", "'a':*B", "%", "_", "\x00", "a\x00b", "\x01\x02\x1f", "\u202e\u200b", "\ufeff", "\uffff",
    "　", "𠮷野家", "🐟", "ｸﾞ", "\u3099", "x" * 200, "[.]", "hxxp://", "\r\n",
])
def test_hostile_queries_answer_without_error(client, archive, query):
    archive(("標的", ['楽天 NEAR(a b) "quoted" a&b \\ %_ 𠮷野家 🐟']))
    for order in ("relevance", "newest"):
        response = client.get("/search/", {"q": query, "order": order})
        assert response.status_code == 200, (query, response.content[:500])


def test_over_long_queries_are_refused_with_a_message(client):
    for query in ("あ" * 201, "x" * 5000, " ".join(f"x{n}y" for n in range(11))):
        response = client.get("/search/", {"q": query}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert "too long" in response.content.decode()


@pytest.mark.parametrize("params", [
    {"after": "zz"}, {"after": "1.0"}, {"after": "2.5"}, {"after": "1." + "9" * 30}, {"since": "0001-01-01"},
    {"until": "9999-12-31"}, {"since": "2020-13-01"}, {"board": "nosuch"}, {"order": "best"},
    {"author": "名" * 101},
])
def test_bad_parameters_get_a_message_not_an_error(client, params):
    assert client.get("/search/", {"q": "楽天", **params}).status_code == 400


@given(strategies.text(max_size=40))
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_searches_without_error(client, settings, query):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "search": (1000, 60)}  # more than a reader's pace
    response = client.get("/search/", {"q": query})
    assert response.status_code in (200, 400)


# ---- the page --------------------------------------------------------------------------------


def test_the_page_is_noindex_without_inline_script_or_style(client, archive):
    archive(("題", ["本文"]))
    for url in ("/search/", "/search/?q=本文", "/search/?q=" + "x" * 300):
        html = client.get(url).content.decode()
        assert '<meta name="robots" content="noindex">' in html
        assert 'href="/static/css/search.css"' in html
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html)


def test_every_page_header_has_a_search_form(client):
    html = page(client)
    assert re.search(r'<form class="site-search" method="get" action="/search/" role="search">', html)
    home = client.get("/").content.decode()
    assert 'action="/search/"' in home


def test_hits_link_to_the_post_anchor_on_its_page(client, archive, settings):
    settings.DAIOU_POSTS_PER_PAGE = 2
    archive(("ページ", ["一", "二", "三番目の語"]))
    assert 'href="/info/1/?page=2#p3"' in page(client, q="三番目")


def test_the_partial_indexes_of_hidden_rows_come_back_after_migrate():
    def names():
        return {i for i in connection.introspection.get_constraints(connection.cursor(), "forum_post")}

    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX forum_post_hidden_ids")
    assert "forum_post_hidden_ids" not in names()
    search_index.ensure_hidden_indexes(sender=None)
    assert "forum_post_hidden_ids" in names()


def test_keys_order_posts_by_time_then_id_and_survive_odd_dates():
    from datetime import UTC

    early, late = datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 1, 1, 0, 0, 1, tzinfo=UTC)
    assert search_index.sort_key(early, 999) < search_index.sort_key(late, 1)
    assert search_index.post_id_of(search_index.sort_key(late, 12345)) == 12345
    assert 0 < search_index.sort_key(datetime(9999, 12, 31, tzinfo=UTC), 1) < search.MAX_KEY
    assert search_index.sort_key(datetime(1900, 1, 1, tzinfo=UTC), 7) == 7
    assert search.Cursor.parse("1.123") == search.Cursor(1, 123)
    assert search.Cursor.parse(str(search.Cursor(0, search.MAX_KEY))) == search.Cursor(0, search.MAX_KEY)
    for bad in ("", "1", "2.5", "1.-5", "1.0", "1.１２", "x.1", "1." + "9" * 20):
        assert search.Cursor.parse(bad) is None, bad
