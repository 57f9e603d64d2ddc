"""Keeping the search index in step with the posts (ISSUE 7; docs/search.md).

`index_posts` (re)writes the documents of some posts: the `posts_changed` receiver calls it
after every commit that wrote posts (new, edited, hidden, imported) and a thread's title
change re-indexes its first post. `rebuild` makes the whole index again
(`manage.py rebuild_search_index`). Visibility is not stored: searches read it from the posts
and threads themselves, so hiding a post or a thread takes effect at once, however done.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction

from . import search_text as st
from .models import Post, SearchDocument
from .precompiled import Precompiled

log = logging.getLogger(__name__)

KEY_SHIFT = 30  # a sort key is (posted_at in seconds) << 30 | post id
POST_ID_LIMIT = 1 << KEY_SHIFT
MAX_SECONDS = (1 << (63 - KEY_SHIFT)) - 1
BATCH = 2000  # posts per transaction: an import announces two thousand at a time
BULK_POSTGRES = 20_000  # posts to index past which a rebuild drops the GIN index and builds it again
# As migrations 0005_search and 0010 leave it; a rebuild that dropped it makes it again.
POSTGRES_GIN_INDEX = ("CREATE INDEX forum_searchdocument_tsv ON forum_searchdocument "
                      "USING gin (tsv) WITH (fastupdate = on, gin_pending_list_limit = 4096)")

# Filter tokens, stored as written in the `meta` column and indexed after st.META_MARK; title
# and subtitle tokens are indexed again after st.HEAD_MARK (relevance). The marks are characters
# `fold` never outputs, so text and queries never meet these tokens, and a title match is a
# token of its own instead of a column filter that would read every posting of the word.
ALL_TOKEN = "_all"
QUOTE_TOKEN = "_quote"
META_MARK = st.META_MARK
HEAD_MARK = st.HEAD_MARK


def sort_key(posted_at: datetime, post_id: int) -> int:
    if not 0 < post_id < POST_ID_LIMIT:
        raise ValueError(f"post id {post_id} does not fit a search key")
    return key_at(posted_at) | post_id


def key_at(moment: datetime) -> int:
    """The smallest key of a post made at `moment` (before 1970 counts as 1970, after 2242 as
    2242: 64-bit keys hold 33 bits of seconds)."""
    return min(max(0, int(moment.timestamp())), MAX_SECONDS) << KEY_SHIFT


def post_id_of(key: int) -> int:
    return key & (POST_ID_LIMIT - 1)


def month_token(key: int) -> str:
    moment = datetime.fromtimestamp(key >> KEY_SHIFT, UTC)
    return f"_m{moment:%Y-%m}"


def board_token(board_id: int) -> str:
    return f"_b{board_id}"


def author_token(name: str) -> str:
    """A name's token: who wrote a post is a filter, matched exactly after folding."""
    folded = st.fold(name).strip()
    return "_a" + hashlib.blake2b(folded.encode(), digest_size=8).hexdigest()


# ---- what a post says ------------------------------------------------------------------------


@dataclass(frozen=True)
class PostTexts:
    """The searchable texts of a post as written, in the order a page shows them."""

    head: list[str]  # the thread's title (for the first post) and the subtitle
    body: list[str]  # the post's blocks: own text, news, quoted mails (headers and text)…
    authors: list[str]  # name and handle
    has_quote: bool


def post_texts(post: Post, thread_title: str | None) -> PostTexts:
    """`thread_title` only for a thread's first post: a title search finds the thread once."""
    body: list[str] = []
    has_quote = False
    for block in post.blocks if isinstance(post.blocks, list) else []:
        if not isinstance(block, dict):
            continue
        kind = block.get("kind")
        if kind in ("text", "news"):
            body.append(_str(block.get("text")))
        elif kind == "quote":
            has_quote = True
            body.extend(_str(header.get("line")) for header in block.get("headers") or [] if isinstance(header, dict))
            body.append(_str(block.get("body")))
            if isinstance(block.get("elision"), dict):
                body.append(_str(block["elision"].get("line")))
        elif kind in ("citation", "figure"):
            body.append(_str(block.get("line")))
            extra = block.get("deadlink") if kind == "citation" else None
            if isinstance(extra, dict):
                body.append(_str(extra.get("line")))
            if kind == "figure":
                body.append(_str(block.get("caption")))
        elif kind in ("elision", "deadlink", "supplement", "note", "crossref"):
            body.append(_str(block.get("line")))
    if not body and post.source and not post.blocks:
        body.append(post.source)  # a post saved before bodies had blocks
    head = [t for t in (thread_title or "", post.subtitle) if t]
    authors = [t for t in (post.author_name, post.handle) if t]
    return PostTexts(head, [t for t in body if t], authors, has_quote)


def _str(value) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Document:
    sort_key: int
    post_id: int
    thread_id: int
    head: str  # folded parts joined by FIELD_SEPARATOR
    body: str
    meta: str  # space-separated filter tokens

    def head_parts(self) -> list[str]:
        return self.head.split(st.FIELD_SEPARATOR) if self.head else []

    def body_parts(self) -> list[str]:
        return self.body.split(st.FIELD_SEPARATOR) if self.body else []

    def fts_row(self) -> tuple[int, str, str, str]:
        """The FTS5 row (key, head, body, meta): exactly what `delete` must be given again to
        take it out. `body` holds the title and subtitle too, `head` them marked."""
        head = self.head_parts()
        return (self.sort_key, st.fts_tokens(head, HEAD_MARK), st.fts_tokens(head + self.body_parts()),
                " ".join(META_MARK + token for token in self.meta.split()))

    def lexemes(self) -> list[str]:
        head, body = self.head_parts(), self.body_parts()
        lexemes = st.lexemes(head) | st.lexemes(body) | st.lexemes(head, HEAD_MARK)
        lexemes.update(META_MARK + token for token in self.meta.split())
        lexemes.add(META_MARK + month_token(self.sort_key))
        for marker in ("", HEAD_MARK):
            lexemes |= st.trigram_lexemes(head, marker)[0]  # a title is short: never cut
        # Each character starts at most one lexeme of each length (a title's twice, marked), of
        # at most 3 characters' bytes and 4 more: below this bound every trigram fits, whatever
        # the text (posts up to some 25,000 Japanese characters), without counting.
        bound = (6 * len(self.body.encode()) + 12 * len(self.body) + 12 * len(self.head.encode())
                 + 42 * len(self.head) + 4 * len(self.meta) + 100)
        budget = None if bound < st.MAX_LEXEME_BYTES else st.MAX_LEXEME_BYTES - st.lexeme_bytes(lexemes)
        trigrams, complete = st.trigram_lexemes(body, budget=budget)
        lexemes |= trigrams
        if not complete:
            lexemes.add(st.CUT_TOKEN)
        return list(lexemes)


def document(post: Post, board_id: int, thread_title: str | None) -> Document:
    texts = post_texts(post, thread_title)
    sep = st.FIELD_SEPARATOR
    head = sep.join(st.fold(t) for t in texts.head)
    # The author's name comes last, so that cutting a long body never drops it.
    body = st.cap_indexed(sep.join(st.fold(t) for t in texts.body))
    body = sep.join(p for p in (body, *(st.fold(t) for t in texts.authors)) if p)
    meta = [ALL_TOKEN, board_token(board_id), *(author_token(a) for a in texts.authors)]
    if texts.has_quote:
        meta.append(QUOTE_TOKEN)
    return Document(sort_key(post.posted_at, post.pk), post.pk, post.thread_id, head[:st.MAX_INDEXED_CHARS],
                    body, " ".join(dict.fromkeys(meta)))


POST_FIELDS = ("id", "thread_id", "position", "posted_at", "author_name", "handle", "subtitle", "source", "blocks",
               "held", "thread__title", "thread__board_id")


def _documents(posts: Iterable[Post]) -> Iterator[Document]:
    for post in posts:
        if post.held:  # not published yet: indexed once a moderator approves it
            continue
        title = post.thread.title if post.position == 1 else None
        yield document(post, post.thread.board_id, title)


# ---- writing ---------------------------------------------------------------------------------


def index_posts(post_ids: Iterable[int]) -> int:
    """Write the documents of these posts again (posts that no longer exist leave the index)."""
    ids = sorted(set(post_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        posts = _one_post_query(connection.alias)(chunk[0]) if len(chunk) == 1 else _posts_query(chunk)
        with transaction.atomic():
            _replace(chunk, list(_documents(posts)))
    return len(ids)


def _posts_query(ids):
    return Post.objects.filter(pk__in=ids).select_related("thread").only(*POST_FIELDS)


@functools.cache
def _one_post_query(alias: str) -> Precompiled:
    """One post (a reply, an edit: the usual case), its SQL written once per process."""
    post = Precompiled.stand_in(0)
    return Precompiled(_posts_query([post]), alias, (post,))


def remove_posts(post_ids: Iterable[int]) -> None:
    """Take these posts out of the index before their rows are deleted (SQLite's contentless
    index forgets a row only when given its tokens again, which the document row holds)."""
    ids = sorted(set(post_ids))
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            _replace(ids[start:start + BATCH], [])


def index_first_post_of(thread_id: int) -> None:
    ids = list(Post.objects.filter(thread_id=thread_id, position=1).values_list("pk", flat=True))
    index_posts(ids)


def _replace(post_ids: list[int], documents: list[Document]) -> None:
    with connection.cursor() as cursor:
        # SQLite read the old documents (its one writer holds the database): none, none to delete
        # (a new post's). PostgreSQL deletes whatever is there at the time.
        if connection.vendor != "sqlite" or _delete_fts_rows(cursor, post_ids):
            SearchDocument.objects.filter(post_id__in=post_ids).delete()
        _insert(cursor, documents)


def _delete_fts_rows(cursor, post_ids: list[int]) -> int:
    """Returns how many documents these posts had."""
    # A contentless FTS5 row is deleted by giving its tokens again, made from the stored text.
    old = list(SearchDocument.objects.filter(post_id__in=post_ids).values_list(
        "sort_key", "post_id", "thread_id", "head", "body", "meta", "version"))
    rows = []
    for doc in old:
        if doc[-1] != st.TEXT_VERSION:
            log.error("search document of post %s was made by text version %s: run rebuild_search_index",
                      doc[1], doc[-1])
            continue
        rows.append(Document(*doc[:-1]).fts_row())
    if rows:
        cursor.executemany(
            "INSERT INTO forum_searchindex (forum_searchindex, rowid, head, body, meta) "
            "VALUES ('delete', %s, %s, %s, %s)", rows)
    return len(old)


def _insert(cursor, documents: list[Document]) -> None:
    if not documents:
        return
    columns = "sort_key, post_id, thread_id, head, body, meta, version"
    values = [(d.sort_key, d.post_id, d.thread_id, d.head, d.body, d.meta, st.TEXT_VERSION) for d in documents]
    if connection.vendor == "sqlite":
        cursor.executemany(f"INSERT INTO forum_searchdocument ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)", values)
        cursor.executemany("INSERT INTO forum_searchindex (rowid, head, body, meta) VALUES (%s, %s, %s, %s)",
                           [d.fts_row() for d in documents])
    else:
        cursor.executemany(
            f"INSERT INTO forum_searchdocument ({columns}, tsv) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, array_to_tsvector(string_to_array(%s, chr(31))))",
            # One string split by the server: psycopg dumps a list of a thousand strings in Python,
            # which cost more than the rest of the document. No lexeme holds FIELD_SEPARATOR.
            [(*row, st.FIELD_SEPARATOR.join(d.lexemes())) for row, d in zip(values, documents)],
        )


# ---- rebuilding ------------------------------------------------------------------------------


def rebuild(*, resume: bool = False, batch: int = 2000, progress=None) -> int:
    """Index every post again; with `resume`, only posts after the highest one indexed (a
    rebuild that was stopped goes on). Returns how many posts were indexed."""
    after = 0
    if resume:
        after = SearchDocument.objects.order_by("-post_id").values_list("post_id", flat=True).first() or 0
    # Filling a GIN index row by row is several times slower than building it once.
    if connection.vendor == "postgresql" and Post.objects.filter(pk__gt=after).count() > BULK_POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS forum_searchdocument_tsv")
    if not resume:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("INSERT INTO forum_searchindex (forum_searchindex) VALUES ('delete-all')")
            cursor.execute("DELETE FROM forum_searchdocument")
    done = 0
    while True:
        posts = list(Post.objects.filter(pk__gt=after).select_related("thread").only(*POST_FIELDS)
                     .order_by("pk")[:batch])
        if not posts:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            _insert(cursor, list(_documents(posts)))
        after = posts[-1].pk
        done += len(posts)
        if progress:
            progress(done, after)
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('forum_searchdocument_tsv') IS NULL")
            if cursor.fetchone()[0]:
                cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
                cursor.execute(POSTGRES_GIN_INDEX)
    optimize()
    return done


def rewrite_lexemes(*, batch: int = 2000, progress=None) -> int:
    """PostgreSQL: every document's tsvector made again from its stored text, after the
    lexemes it holds changed (migration 0011 added trigrams); the texts stay as they are."""
    if connection.vendor != "postgresql":
        return 0
    after, done = -1, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT sort_key, post_id, thread_id, head, body, meta FROM forum_searchdocument "
                           "WHERE sort_key > %s ORDER BY sort_key LIMIT %s", [after, batch])
            documents = [Document(*row) for row in cursor.fetchall()]
            if not documents:
                return done
            cursor.executemany(
                "UPDATE forum_searchdocument SET tsv = array_to_tsvector(string_to_array(%s, chr(31))) "
                "WHERE sort_key = %s",
                [(st.FIELD_SEPARATOR.join(d.lexemes()), d.sort_key) for d in documents])
        after = documents[-1].sort_key
        done += len(documents)
        if progress:
            progress(done, after)


def optimize() -> None:
    """Merge the index after bulk writes (FTS5 segments; PostgreSQL statistics)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO forum_searchindex (forum_searchindex) VALUES ('optimize')")
        elif connection.in_atomic_block:
            cursor.execute("ANALYZE forum_searchdocument")
        else:  # also marks pages all-visible after a rebuild's deletions
            cursor.execute("VACUUM (ANALYZE) forum_searchdocument")


# ---- receivers (connected in forum.apps) -----------------------------------------------------

# Searches leave hidden posts and threads out by reading these (a handful of rows each).
# Migration 0005 makes them; post_migrate makes them again when a later migration rebuilt the
# table without them (SQLite remakes a table to add some columns, and knows only the model's
# own indexes).
HIDDEN_INDEXES = [
    "CREATE INDEX IF NOT EXISTS forum_post_hidden_ids ON forum_post (id) WHERE hidden",
    "CREATE INDEX IF NOT EXISTS forum_thread_hidden_ids ON forum_thread (id) WHERE hidden",
]


def ensure_hidden_indexes(sender, using="default", **kwargs) -> None:
    from django.db import connections

    db = connections[using]
    if not {"forum_post", "forum_thread"} <= set(db.introspection.table_names()):
        return
    with db.cursor() as cursor:
        for statement in HIDDEN_INDEXES:
            cursor.execute(statement)



def on_posts_changed(sender, post_ids, **kwargs) -> None:
    try:
        index_posts(post_ids)
    except Exception:  # the posts are saved whatever happens here; a rebuild repairs the index
        log.exception("search index not updated for posts %s", list(post_ids)[:20])


def on_thread_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    """A changed title is searched for in the thread's first post (new threads: posts_changed)."""
    if created or (update_fields is not None and "title" not in update_fields):
        return
    thread_id = instance.pk
    transaction.on_commit(lambda: _reindex_first_post(thread_id))


def _reindex_first_post(thread_id: int) -> None:
    try:
        index_first_post_of(thread_id)
    except Exception:
        log.exception("search index not updated for thread %s", thread_id)
