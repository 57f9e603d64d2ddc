"""Searching the archive (ISSUE 7; docs/search.md).

`run` answers a `Search` with one page of hits, newest first or by relevance, from each
database's own full-text index over forum.search_index's documents:

- SQLite: an FTS5 MATCH over bigram tokens, in row-id order (the row id is the sort key,
  so "newest first" is FTS5's own descending scan, which stops once the page is full);
- PostgreSQL: forum_search_hits (migration 0005_search), GIN over bigram lexemes, month
  window by month window, newest first.

Relevance is coarse and predictable: posts whose thread title or subtitle contains a term
come first (bucket 1), then the others (bucket 0), newest first within each. Queries made of
one-character terms only are shown newest first. Pages are cut by a cursor (bucket, key),
never by OFFSET, so a deep page costs what the first does. Counts are exact up to
COUNT_CAP; past it the page says "more than".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from . import search_index as si
from . import search_text as st
from .models import Post

PAGE_SIZE = 20
COUNT_CAP = 1000
RELEVANCE = "relevance"
NEWEST = "newest"
MAX_KEY = (1 << 63) - 1


# ---- brands: names come from the incidents app, which registers a lookup -------------------


@dataclass(frozen=True)
class BrandLookup:
    """How the search form learns brands without importing incidents' models: incidents
    registers one in its AppConfig.ready (`register_brand_lookup`)."""

    choices: Callable[[], Sequence[tuple[str, str]]]  # (slug, label) for the form
    names: Callable[[str], Sequence[str]]  # every name a post may mention the brand by


_brand_lookup: BrandLookup | None = None


def register_brand_lookup(lookup: BrandLookup | None) -> None:
    global _brand_lookup
    _brand_lookup = lookup


def brand_lookup() -> BrandLookup | None:
    return _brand_lookup


# ---- what is searched for --------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this key in this relevance bucket."""

    bucket: int
    key: int

    def __str__(self) -> str:
        return f"{self.bucket}.{self.key}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        bucket, dot, key = text.partition(".")
        if not (dot and bucket in ("0", "1") and key.isascii() and key.isdecimal() and len(key) <= 19):
            return None
        value = int(key)
        return cls(int(bucket), value) if 0 < value <= MAX_KEY else None


@dataclass(frozen=True)
class Search:
    terms: tuple[st.Term, ...] = ()
    board_id: int | None = None
    author: str = ""
    since: date | None = None
    until: date | None = None  # inclusive
    with_quotes: bool = False
    brand_terms: tuple[st.Term, ...] = ()  # any of them (a brand's names)
    brand_selected: bool = False  # a brand without names matches nothing
    order: str = RELEVANCE
    moderator: bool = False  # finds hidden posts and posts of hidden threads
    # A moderator of some boards only (BoardModerator rows): hidden posts and posts of hidden
    # threads of these boards are found too, and no others.
    moderated_boards: tuple[int, ...] = ()

    @property
    def relevance(self) -> bool:
        """Relevance needs a term of two characters or more (one character is in every title)."""
        return self.order == RELEVANCE and any(not t.single_character for t in self.terms)

    @property
    def meta_tokens(self) -> list[str]:
        tokens = []
        if self.board_id is not None:
            tokens.append(si.board_token(self.board_id))
        if self.with_quotes:
            tokens.append(si.QUOTE_TOKEN)
        if self.author.strip():
            tokens.append(si.author_token(self.author))
        return tokens or [si.ALL_TOKEN]

    def key_range(self) -> tuple[int, int]:
        """[from, until) in sort keys; the dates are the site's (Japan) days."""
        low = _day_start_key(self.since) if self.since else 0
        high = _day_start_key(self.until + timedelta(days=1)) if self.until and self.until < date.max else MAX_KEY
        return low, high


def _day_start_key(day: date) -> int:
    moment = timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())
    return si.key_at(moment)


@dataclass
class Hit:
    bucket: int
    key: int
    post: Post | None = None


@dataclass
class ResultPage:
    hits: list[Hit] = field(default_factory=list)
    next_cursor: Cursor | None = None
    count: int = 0
    count_capped: bool = False  # more than COUNT_CAP hits: `count` is COUNT_CAP


def run(search: Search, after: Cursor | None = None, page_size: int = PAGE_SIZE) -> ResultPage:
    """One page of hits with their posts (thread and board loaded): three queries."""
    if search.brand_selected and not search.brand_terms:
        return ResultPage()
    backend = _SQLITE if connection.vendor == "sqlite" else _POSTGRES
    rows = backend.hits(search, after, page_size + 1)
    count = backend.count(search, COUNT_CAP + 1)
    hits = [Hit(bucket, key) for bucket, key in rows[:page_size]]
    posts = Post.objects.select_related("thread__board").in_bulk([si.post_id_of(h.key) for h in hits])
    for hit in hits:
        hit.post = posts.get(si.post_id_of(hit.key))
    hits = [hit for hit in hits if hit.post is not None]  # deleted since the index was read
    last = rows[page_size - 1] if len(rows) > page_size else None
    return ResultPage(
        hits=hits,
        next_cursor=Cursor(*last) if last else None,
        count=min(count, COUNT_CAP),
        count_capped=count > COUNT_CAP,
    )


# ---- SQLite: FTS5 ----------------------------------------------------------------------------


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _board_ids(search: Search) -> str:
    """The moderated boards as SQL (ints from the database, written out: no parameter to order)."""
    return ", ".join(str(int(board_id)) for board_id in sorted(search.moderated_boards))


class _SQLiteBackend:
    # Each subquery reads a partial index of the few hidden rows (search_index.HIDDEN_INDEXES).
    VISIBLE = (
        f" AND (f.rowid & {si.POST_ID_LIMIT - 1}) NOT IN (SELECT id FROM forum_post WHERE hidden)"
        " AND d.thread_id NOT IN (SELECT id FROM forum_thread WHERE hidden)"
    )
    # A board moderator's: hidden rows are left out only on boards they do not moderate.
    VISIBLE_BUT_ON = (
        f" AND (f.rowid & {si.POST_ID_LIMIT - 1}) NOT IN (SELECT p.id FROM forum_post p JOIN forum_thread t"
        " ON t.id = p.thread_id WHERE p.hidden AND t.board_id NOT IN ({boards}))"
        " AND d.thread_id NOT IN (SELECT id FROM forum_thread WHERE hidden AND board_id NOT IN ({boards}))"
    )

    # No column filters: FTS5 applies them by reading every posting of a word, so a title
    # match is asked for with marked tokens of its own (search_index.Document.fts_row).
    def match(self, search: Search) -> str:
        parts = [t.fts_phrase() for t in search.terms]
        if search.brand_terms:
            parts.append(" OR ".join(t.fts_phrase() for t in search.brand_terms))
        if search.meta_tokens != [si.ALL_TOKEN] or not parts:  # "_all" only when nothing else asks
            parts += [_fts_string(si.META_MARK + token) for token in search.meta_tokens]
        return " AND ".join(f"({part})" for part in parts)

    def head_match(self, search: Search) -> str:
        return " OR ".join(f"({t.fts_phrase(si.HEAD_MARK)})" for t in search.terms)

    def _select(self, bucket: int, search: Search, below: int) -> tuple[str, list]:
        low, high = search.key_range()
        sql = (
            f"SELECT {bucket} AS bucket, f.rowid AS sort_key FROM forum_searchindex f "
            "JOIN forum_searchdocument d ON d.sort_key = f.rowid "
            "WHERE f.forum_searchindex MATCH %s AND f.rowid < %s AND f.rowid >= %s"
        )
        if search.moderated_boards and not search.moderator:
            sql += self.VISIBLE_BUT_ON.format(boards=_board_ids(search))
        elif not search.moderator:
            sql += self.VISIBLE
        return sql + " ORDER BY f.rowid DESC LIMIT %s", [min(below, high), low]

    def hits(self, search: Search, after: Cursor | None, wanted: int) -> list[tuple[int, int]]:
        below = after.key if after else MAX_KEY
        if not search.relevance:
            sql, params = self._select(0, search, below)
            return self._fetch(sql, [self.match(search), *params, wanted])
        base, head = self.match(search), self.head_match(search)
        branches, params = [], []
        if after is None or after.bucket == 1:
            sql, p = self._select(1, search, below)
            branches.append(sql)
            params += [f"({base}) AND ({head})", *p, wanted]
            below = MAX_KEY
        sql, p = self._select(0, search, below)
        branches.append(sql)
        params += [f"({base}) NOT ({head})", *p, wanted]
        # UNION ALL runs its branches in order and LIMIT stops it: bucket 0 is read only
        # when bucket 1 does not fill the page.
        union = " UNION ALL ".join(f"SELECT * FROM ({b})" for b in branches)
        return self._fetch(f"{union} LIMIT %s", [*params, wanted])

    def count(self, search: Search, cap: int) -> int:
        sql, params = self._select(0, search, MAX_KEY)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({sql})", [self.match(search), *params, cap])
            return cursor.fetchone()[0]

    def _fetch(self, sql: str, params: list) -> list[tuple[int, int]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(bucket, key) for bucket, key in cursor.fetchall()]


# ---- PostgreSQL: GIN -------------------------------------------------------------------------


def _lexeme(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _all_of(lexemes) -> str:
    return "(" + " & ".join(_lexeme(x) for x in sorted(lexemes)) + ")"


def _term_query(term, marker: str = "") -> str:
    """A term's lexemes: its trigrams (three characters or more), or, in a document whose
    trigrams were cut (forum.search_text.CUT_TOKEN; never a title), its bigrams."""
    exact = term.trigram_lexemes(marker)
    if exact is None:
        return _all_of(term.query_lexemes(marker))
    if marker:
        return _all_of(exact)
    return f"({_all_of(exact)} | ({_all_of(term.query_lexemes())} & {_lexeme(st.CUT_TOKEN)}))"


class _PostgresBackend:
    def query(self, search: Search) -> str:
        parts = [_term_query(t) for t in search.terms]
        if search.brand_terms:
            parts.append("(" + " | ".join(_term_query(t) for t in search.brand_terms) + ")")
        if search.meta_tokens != [si.ALL_TOKEN] or not parts:
            parts.append(_all_of(si.META_MARK + token for token in search.meta_tokens))
        return " & ".join(parts)

    def head_query(self, search: Search) -> str | None:
        if not search.relevance:
            return None
        return " | ".join(_term_query(t, si.HEAD_MARK) for t in search.terms)

    def checks(self, search: Search) -> tuple[list[str], list[str]]:
        """Terms the bigrams cannot prove: all of `every`, and one of `any_of` (brand names;
        empty when some brand name is proven by its bigrams alone)."""
        every = [t.text for t in search.terms if t.needs_check]
        any_of = [t.text for t in search.brand_terms]
        if not all(t.needs_check for t in search.brand_terms):
            any_of = []
        return every, any_of

    def hits(self, search: Search, after: Cursor | None, wanted: int) -> list[tuple[int, int]]:
        low, high = search.key_range()
        every, any_of = self.checks(search)
        sql = ("SELECT bucket, sort_key FROM forum_search_hits(%s::tsquery, %s::tsquery, %s::text[], %s::text[], "
               "%s::text[], %s, %s, %s, %s, %s, %s)")
        params = [self.query(search), self.head_query(search), every, any_of, [t.text for t in search.terms],
                  not search.moderator, after.bucket if after else 1, after.key if after else None, low,
                  high if high < MAX_KEY else None, wanted]
        if self._on_moderated_boards(search):
            hidden, hidden_params = self._hidden_hits(search, after, wanted)
            sql = (f"SELECT bucket, sort_key FROM ({sql} UNION ALL ({hidden})) AS hit "
                   "ORDER BY bucket DESC, sort_key DESC LIMIT %s")
            params += [*hidden_params, wanted]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(bucket, key) for bucket, key in cursor.fetchall()]

    def count(self, search: Search, cap: int) -> int:
        low, high = search.key_range()
        every, any_of = self.checks(search)
        sql = "SELECT forum_search_count(%s::tsquery, %s::text[], %s::text[], %s, %s, %s, %s)"
        params = [self.query(search), every, any_of, not search.moderator, low, high if high < MAX_KEY else None,
                  cap]
        if self._on_moderated_boards(search):
            where, where_params = self._hidden_candidates(search)
            sql += f" + (SELECT count(*) FROM (SELECT 1 FROM forum_searchdocument d WHERE {where} LIMIT %s) AS h)"
            params += [*where_params, cap]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return min(cursor.fetchone()[0], cap)

    # A moderator of some boards: migration 0005's functions know "visible" or "everything"
    # only, so their search is the readers' and, beside it in the same statement, the hits
    # among the few hidden posts and posts of hidden threads of their boards (read through the
    # partial indexes of hidden rows), merged by (bucket, key). The two never overlap.
    HIDDEN_ON_BOARDS = (
        "ARRAY(SELECT p.id FROM forum_post p JOIN forum_thread t ON t.id = p.thread_id"
        " WHERE p.hidden AND t.board_id IN ({boards})"
        " UNION ALL SELECT p.id FROM forum_post p JOIN forum_thread t ON t.id = p.thread_id"
        " WHERE t.hidden AND t.board_id IN ({boards}))"
    )

    def _on_moderated_boards(self, search: Search) -> bool:
        return bool(search.moderated_boards) and not search.moderator

    def _hidden_candidates(self, search: Search) -> tuple[str, list]:
        """What forum_search_conditions asks of a hit (but visibility), over the hidden posts of
        the moderated boards only."""
        low, high = search.key_range()
        every, any_of = self.checks(search)
        where = (f"d.post_id = ANY({self.HIDDEN_ON_BOARDS.format(boards=_board_ids(search))})"
                 " AND d.tsv @@ %s::tsquery AND d.sort_key >= %s AND d.sort_key < %s"
                 " AND NOT EXISTS (SELECT 1 FROM unnest(%s::text[]) AS c"
                 "                 WHERE strpos(d.head || chr(31) || d.body, c) = 0)"
                 " AND (cardinality(%s::text[]) = 0 OR EXISTS (SELECT 1 FROM unnest(%s::text[]) AS c"
                 "      WHERE strpos(d.head || chr(31) || d.body, c) > 0))")
        return where, [self.query(search), low, high, every, any_of, any_of]

    def _hidden_hits(self, search: Search, after: Cursor | None, wanted: int) -> tuple[str, list]:
        """The hidden hits as forum_search_hits would order and cut them: by relevance, bucket 1
        holds a term in the title or subtitle (and matches head_q), bucket 0 none; the cursor
        (bucket, key) continues after the page before."""
        where, params = self._hidden_candidates(search)
        bucket, outer, outer_params = "0", "TRUE", []
        if search.relevance:
            bucket = "(EXISTS (SELECT 1 FROM unnest(%s::text[]) AS t WHERE strpos(d.head, t) > 0))::int"
            params = [[t.text for t in search.terms], *params]
            outer, outer_params = "(h.bucket = 0 OR h.tsv @@ %s::tsquery)", [self.head_query(search)]
        if after is not None:
            outer += {(True, 1): " AND (h.bucket = 0 OR h.sort_key < %s)",
                      (True, 0): " AND h.bucket = 0 AND h.sort_key < %s"}.get((search.relevance, after.bucket),
                                                                          " AND h.sort_key < %s")
            outer_params.append(after.key)
        sql = (f"SELECT h.bucket, h.sort_key FROM (SELECT {bucket} AS bucket, d.sort_key, d.tsv "
               f"FROM forum_searchdocument d WHERE {where}) AS h WHERE {outer} "
               "ORDER BY h.bucket DESC, h.sort_key DESC LIMIT %s")
        return sql, [*params, *outer_params, wanted]


_SQLITE = _SQLiteBackend()
_POSTGRES = _PostgresBackend()


# ---- showing hits ----------------------------------------------------------------------------


@dataclass
class ResultRow:
    """A hit as the results page shows it; every *_html is escaped text with <mark>s."""

    post: Post
    url: str
    title_html: str
    subtitle_html: str
    snippet_html: str
    hidden: bool


def post_url(post: Post) -> str:
    """The post's anchor on the page of its thread that shows it."""
    thread = post.thread
    page = math.ceil(post.position / settings.DAIOU_POSTS_PER_PAGE)
    query = f"?page={page}" if page > 1 else ""
    return f"{reverse('thread', args=[thread.board.slug, thread.number])}{query}#{post.anchor}"


def rows(page: ResultPage, search: Search) -> list[ResultRow]:
    marked = search.terms + search.brand_terms
    out = []
    for hit in page.hits:
        post = hit.post
        texts = si.post_texts(post, None)
        out.append(ResultRow(
            post=post,
            url=post_url(post),
            title_html=st.highlight_html(post.thread.title, marked),
            subtitle_html=st.highlight_html(post.subtitle, marked) if post.subtitle else "",
            snippet_html=st.snippet_html(texts.body, marked).html,
            hidden=post.hidden or post.thread.hidden,
        ))
    return out
