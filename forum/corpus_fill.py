"""A synthetic archive written straight into the database, in bulk (`manage.py fill_corpus`).

The posts are forum.corpus's, in the seed's shapes (Japanese bodies, quoted phishing mails,
news quotes), on two boards of volumes of 10 threads × 10 posts, dated evenly from 2006 to
2026, stored as imported posts with their source and blocks. Rows go in 20 volumes per
transaction without the importer's per-page work; what is derived from them is built
afterwards, each by its own resumable command: the HTML (`rerender`), indicators
(`rebuild_indicators --resume`) and the search index (`rebuild_search_index --resume`).

A stopped fill goes on where it stopped: the stream of volumes is regenerated from the seed
and the volumes a board already has are skipped, so the result is the same either way.
bench/search.py and bench/http_load.py fill their databases with this.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from .blocks import blocks_to_json, parse_body
from .corpus import CorpusWriter
from .models import Board, Post, Thread, Volume

BOARDS = ("info", "chat")
START = datetime(2006, 1, 1, 9, 0)
END = datetime(2026, 6, 30, 21, 0)
POSTS_PER_THREAD = 10
THREADS_PER_VOLUME = 10
VOLUMES_PER_TRANSACTION = 20
CORPUS_MINUTES_PER_POST = 302.5  # forum.corpus steps 5–600 minutes between posts
# Long threads for the thread-page benchmarks, in a volume of their own after the last one.
LONG_THREADS_BOARD = "info"

Progress = Callable[[int, int], None]  # (posts written, posts wanted)


@dataclass
class Plan:
    """How many volumes per board make `posts` posts, and how dates are squeezed into START..END."""

    posts: int

    @property
    def volumes_per_board(self) -> int:
        return max(1, self.posts // (THREADS_PER_VOLUME * POSTS_PER_THREAD * len(BOARDS)))

    @property
    def regular_posts(self) -> int:
        return self.volumes_per_board * THREADS_PER_VOLUME * POSTS_PER_THREAD * len(BOARDS)

    @property
    def scale(self) -> float:
        per_board = self.volumes_per_board * THREADS_PER_VOLUME * POSTS_PER_THREAD
        return (END - START) / timedelta(minutes=per_board * CORPUS_MINUTES_PER_POST)


def fill(posts: int, *, seed: int = 1, long_threads: tuple[int, ...] = (), budget: float | None = None,
         progress: Progress | None = None) -> int:
    """Write boards' volumes, threads and posts until there are about `posts` posts (whole
    volumes), then one volume of threads with `long_threads` posts each. Returns the posts
    written by this call. With `budget` (seconds) it stops after the batch that overran it."""
    plan = Plan(posts)
    wanted = plan.regular_posts + sum(long_threads)
    deadline = time.monotonic() + budget if budget else None
    written = 0
    existing = Post.objects.count()
    for board_index, slug in enumerate(BOARDS):
        board = Board.objects.get(slug=slug)
        done = board.volumes.filter(number__lte=plan.volumes_per_board).count()
        if done >= plan.volumes_per_board:
            continue
        writer = CorpusWriter(seed * 100 + board_index)
        batch: list = []
        for volume in writer.volumes(board.name, plan.volumes_per_board, threads_per_volume=THREADS_PER_VOLUME,
                                     posts_per_thread=POSTS_PER_THREAD, start=START):
            if volume.number <= done:
                continue  # made by an earlier run: the stream is regenerated to stay identical
            batch.append(volume)
            if len(batch) == VOLUMES_PER_TRANSACTION or volume.number == plan.volumes_per_board:
                with transaction.atomic():
                    written += _store(board, batch, plan.scale)
                batch = []
                if progress:
                    progress(existing + written, wanted)
                if deadline and time.monotonic() > deadline:
                    _number_boards()
                    return written
    if long_threads:
        written += _store_long_threads(plan, long_threads, seed)
    _number_boards()
    if progress:
        progress(existing + written, wanted)
    return written


def long_thread_numbers(posts: int, long_threads: tuple[int, ...]) -> dict[int, int]:
    """Thread NO. of each long thread (by its post count) in the `info` board."""
    first = Plan(posts).volumes_per_board * THREADS_PER_VOLUME + 1
    return {size: first + i for i, size in enumerate(long_threads)}


def _store_long_threads(plan: Plan, sizes: tuple[int, ...], seed: int) -> int:
    board = Board.objects.get(slug=LONG_THREADS_BOARD)
    number = plan.volumes_per_board + 1
    if board.volumes.filter(number=number).exists():
        return 0
    writer = CorpusWriter(seed * 100 + 99)
    threads = []
    for i, size in enumerate(sizes):
        # Posts every few hours, as the regular ones, without squeezing, ending by END.
        start = END - timedelta(minutes=CORPUS_MINUTES_PER_POST * size)
        volume = next(writer.volumes(board.name, 1, threads_per_volume=1, posts_per_thread=size, start=start))
        thread = volume.threads[0]
        thread.number = plan.volumes_per_board * THREADS_PER_VOLUME + 1 + i
        threads.append(thread)
    volume.number, volume.threads = number, threads
    with transaction.atomic():
        return _store(board, [volume], 1.0)


def _number_boards() -> None:
    """Boards' number counters cover what was written, so new threads and volumes go after it."""
    for board in Board.objects.filter(slug__in=BOARDS):
        board.last_volume_number = board.volumes.order_by("-number").values_list("number", flat=True).first() or 0
        board.last_thread_number = board.threads.order_by("-number").values_list("number", flat=True).first() or 0
        board.save(update_fields=["last_volume_number", "last_thread_number"])


def _squeeze(moment: datetime, scale: float) -> datetime:
    return (START + (moment - START) * scale).replace(tzinfo=UTC)


def _store(board: Board, volumes: list, scale: float) -> int:
    made = Volume.objects.bulk_create(
        [Volume(board=board, number=v.number, imported=True, thread_count=len(v.threads)) for v in volumes]
    )
    threads, parsed_threads = [], []
    for volume, parsed in zip(made, volumes):
        for t in parsed.threads:
            first = _squeeze(t.posts[0].posted_at, scale)
            last = _squeeze(t.posts[-1].posted_at, scale)
            threads.append(Thread(board=board, volume=volume, number=t.number, title=t.title,
                                  originator_name=t.originator, started_on=first.date(), created_at=first,
                                  imported=True, post_count=len(t.posts), last_position=len(t.posts),
                                  last_posted_at=last))
            parsed_threads.append(t)
    Thread.objects.bulk_create(threads)
    posts = []
    for thread, parsed in zip(threads, parsed_threads):
        for position, p in enumerate(parsed.posts, 1):
            blocks = parse_body(p.body)
            subtitle = blocks[0].text if blocks and blocks[0].kind == "subtitle" else ""
            # The HTML is left empty (render version 0): `rerender` makes it afterwards, in bulk.
            posts.append({"thread_id": thread.pk, "position": position, "author_name": p.name, "handle": p.handle,
                          "device": p.device, "os": p.os, "posted_at": _squeeze(p.posted_at, scale),
                          "subtitle": subtitle, "source": p.body, "format": Post.Format.ARCHIVE,
                          "blocks": blocks_to_json(blocks), "html": ""})
    _insert_posts(posts)
    return len(posts)


# Values stored as they are; every other field goes through its own get_db_prep_save.
PLAIN_FIELDS = {"thread_id", "position", "author_name", "handle", "device", "os", "subtitle", "source", "format",
                "html"}


def _insert_posts(rows: list[dict]) -> None:
    """The posts in one statement (COPY on PostgreSQL): Django's bulk_create spends more time
    building its multi-row INSERT than the database spends storing it. Columns this module
    does not set (added by later migrations too) take their field's default."""
    fields = [f for f in Post._meta.concrete_fields if not f.primary_key]
    defaults = {f.attname: f.get_db_prep_save(f.get_default(), connection) for f in fields if f.attname not in rows[0]}
    prepared = [f for f in fields if f.attname in rows[0] and f.attname not in PLAIN_FIELDS]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    values = []
    for row in rows:
        for field in prepared:
            row[field.attname] = field.get_db_prep_save(row[field.attname], connection)
        values.append([row[name] if name in row else defaults[name] for name in names])
    table = connection.ops.quote_name(Post._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            marks = ", ".join(["%s"] * len(names))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
