"""Volume pages in and out of the database: `import_archive` and `export_archive` call these.

Parsing and writing the text is forum.archive (pure); this module maps it onto boards,
volumes, threads and posts. Each page is imported all or nothing (a transaction, or a savepoint
when `import_volumes` commits many pages together).
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse

from . import archive, bulk, counters
from .archive.member_body import compose_body
from .archive.safe_quotes import redact_quotes
from .archive.volume import ArchiveError, ParsedVolume, TitleRow, VolumeLink, parse_volume, write_volume
from .blocks import blocks_from_json, blocks_to_json, parse_body, serialize_body
from .models import ArchiveAuthor, Board, Post, Thread, Volume
from .render import RENDER_VERSION, render_blocks
from .background import BackgroundReceivers
from .signals import announce_posts_changed, posts_changed_together, send_posts_changed

JAPAN = ZoneInfo("Asia/Tokyo")
MAX_PAGE_BYTES = 50 * 1024 * 1024
# A bulk import commits about this many posts at once (see import_volumes).
POSTS_PER_COMMIT = 2_000


class ImportRefused(ArchiveError):
    """The page is a volume page, but importing it would damage what Daiou holds."""


@dataclass
class ImportReport:
    source: str
    volume: str = ""
    created: dict[str, int] = field(default_factory=lambda: {"volume": 0, "thread": 0, "post": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"volume": 0, "thread": 0, "post": 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {"volume": 0, "thread": 0, "post": 0})
    repaired: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        def counts(d):
            return ", ".join(f"{n} {kind}s" for kind, n in d.items() if n) or "nothing"
        out = [f"{self.source}: {self.volume}: created {counts(self.created)}; updated {counts(self.updated)}; "
               f"unchanged {counts(self.unchanged)}"]
        out += [f"  repaired {line}" for line in self.repaired]
        out += [f"  warning {line}" for line in self.warnings]
        out += [f"  conflict {line}" for line in self.conflicts]
        return out


def crossref_resolver():
    """Cross-references link to the referenced thread while it is in the archive."""
    cache: dict[tuple[str, int], str | None] = {}

    def resolve(board_name: str, number: int) -> str | None:
        key = (board_name, number)
        if key not in cache:
            thread = (Thread.objects.filter(board__name=board_name, number=number)
                      .select_related("board").only("number", "board__slug").first())
            cache[key] = reverse("thread", args=[thread.board.slug, thread.number]) if thread else None
        return cache[key]

    return resolve


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=JAPAN)


def _check_page_text(text: str, source: str) -> None:
    """ArchiveError for a page too large (the command checks the file's size; this holds for
    any caller), or holding what no database stores: a lone surrogate, a NUL."""
    too_large = ArchiveError(f"{source}: larger than {MAX_PAGE_BYTES // 2**20} MB; not a volume page")
    if len(text) > MAX_PAGE_BYTES:
        raise too_large
    try:
        if len(text.encode("utf-8")) > MAX_PAGE_BYTES:
            raise too_large
    except UnicodeEncodeError as error:
        bad = error.start
        what = f"{text[bad]!r}, half of a character (a lone surrogate)"
    else:
        bad = text.find("\x00")  # PostgreSQL stores no NUL in text
        what = "a NUL character (U+0000)"
    if bad >= 0:
        raise ArchiveError(f"{source}: line {text.count(chr(10), 0, bad) + 1}: holds {what}, which is not text; "
                           "not a volume page")


def _check_fits(parsed: ParsedVolume, source: str) -> None:
    """ArchiveError for a value longer or larger than its column: PostgreSQL refuses it half-way
    through the import (SQLite would keep it), so the page is refused before anything is written."""
    def length(model, name: str, value: str, where: str, what: str) -> None:
        limit = model._meta.get_field(name).max_length
        if len(value) > limit:
            raise ArchiveError(f"{source}: {where}: {what} has {len(value)} characters, more than the {limit} "
                               "Daiou keeps")

    highest = connection.ops.integer_field_range("PositiveIntegerField")[1]
    for number, what in [(parsed.number, "the volume number")] + [(t.number, "a thread NO.") for t in parsed.threads]:
        if number > highest:
            raise ArchiveError(f"{source}: {what} {number} is larger than {highest}")
    for thread in parsed.threads:
        where = f"thread NO.{thread.number}"
        length(Thread, "title", thread.title, where, "the title")
        length(Thread, "originator_name", thread.originator, where, "the originator's name")
        for post in thread.posts:
            where = f"line {post.line}"
            for name, field_name in (("name", "author_name"), ("handle", "handle"), ("device", "device"),
                                     ("os", "os")):
                length(Post, field_name, getattr(post, name), where, f"the {name}")
            length(Post, "subtitle", post.subtitle or "", where, "the subtitle")


def import_volume(text: str, source: str = "<string>", *, dry_run: bool = False) -> ImportReport:
    """Import one volume page. ArchiveError (with source and line) when it is not a volume
    page, ImportRefused when it would collide with Daiou's own threads; nothing is written then.

    Quoted mails are redacted before anything is stored (forum.archive.safe_quotes): posts,
    their blocks and HTML, and everything derived from them (search index, indicators) only
    ever hold the redacted form; each redacted line is reported as a repair."""
    if isinstance(text, str):
        _check_page_text(text, source)
    parsed = parse_volume(text, source)
    bodies = {id(post): parse_body(post.body) for thread in parsed.threads for post in thread.posts}
    redact_quotes(parsed, source, bodies)
    _check_fits(parsed, source)
    report = ImportReport(source=source, volume=f"{parsed.board}NO.{parsed.number}")
    report.repaired = [repair.describe() for repair in parsed.repairs]
    report.warnings = [f"line {w.line}: {w.what}" for w in parsed.warnings]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Re-running an import restores whatever a crash could lose of a commit not yet on
            # disk (it is idempotent), so the page does not wait for the WAL flush.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        _store(parsed, report, source, bodies)
        if dry_run:
            transaction.set_rollback(True)
    return report


def import_volumes(pages: Iterable[tuple[str, Callable[[], str]]], *, dry_run: bool = False,
                   posts_per_commit: int = POSTS_PER_COMMIT,
                   background: bool = True) -> Iterator[tuple[str, ImportReport | ArchiveError]]:
    """Import many pages, given as (source, read) where read() returns the page's text or
    raises ArchiveError. Yields (source, its ImportReport or ArchiveError) once it is committed.

    Each page is still all or nothing (a savepoint of its own: a refused page rolls back alone),
    but pages are committed together, about `posts_per_commit` posts at a time, and the posts
    they changed reach indicators and the search index as one batch after each commit: per
    post that costs a fraction of a commit and an index update per page. A crash loses at most
    the pages since the last commit, none of them reported yet; importing them again (it is
    idempotent) brings them back.

    With `background` (the default) the receivers of a batch run in other processes while
    the next batch is imported, once there is more than one batch; the last batch's are done
    before this returns."""
    pages = iter(pages)
    more = True
    helper: BackgroundReceivers | None = None

    def deliver(ids: list[int]) -> None:
        nonlocal helper
        if helper is None and background and more:  # a single batch is not worth a process
            helper = BackgroundReceivers()
        if helper is None:
            send_posts_changed(ids)
        else:
            helper.deliver(ids)

    try:
        while more:
            done: list[tuple[str, ImportReport | ArchiveError]] = []
            posts = 0
            with posts_changed_together(deliver), transaction.atomic():
                for source, read in pages:
                    try:
                        report = import_volume(read(), source, dry_run=dry_run)
                    except ArchiveError as error:
                        done.append((source, error))
                        continue
                    done.append((source, report))
                    posts += report.created["post"] + report.updated["post"]
                    if posts >= posts_per_commit:
                        break
                else:
                    more = False
            yield from done
    finally:
        if helper is not None:
            helper.close()


def _volume_layout(parsed: ParsedVolume) -> dict:
    def link(value: VolumeLink | None):
        return None if value is None else [value.board, value.number]
    return {
        "front_matter": parsed.front_matter, "final_newline": parsed.final_newline,
        "line_break": parsed.line_break, "newer": link(parsed.newer), "older": link(parsed.older),
        "title_rows": [[r.number, r.title, r.originator, r.date.isoformat()] for r in parsed.title_rows],
    }


def _store(parsed: ParsedVolume, report: ImportReport, source: str, bodies: dict[int, list]) -> None:
    board = Board.objects.select_for_update().filter(name=parsed.board).first()
    if board is None:
        raise ImportRefused(f"{source}: line 1: the board {parsed.board!r} does not exist on Daiou; "
                            f"an admin creates it first (boards: {', '.join(Board.objects.values_list('name', flat=True))})")
    volume = Volume.objects.filter(board=board, number=parsed.number).first()
    layout = _volume_layout(parsed)
    if volume is None:
        volume = Volume.objects.create(board=board, number=parsed.number, imported=True, archive_layout=layout)
        report.created["volume"] += 1
    elif not volume.imported:
        raise ImportRefused(f"{source}: line 1: {report.volume} holds threads written on Daiou; it cannot be "
                            "replaced by an archive page")
    elif volume.archive_layout != layout:
        volume.archive_layout = layout
        volume.save(update_fields=["archive_layout"])
        report.updated["volume"] += 1
    else:
        report.unchanged["volume"] += 1

    numbers = [t.number for t in parsed.threads]
    existing = {t.number: t for t in Thread.objects.filter(board=board, number__in=numbers)}
    for number, thread in existing.items():
        if not thread.imported:
            raise ImportRefused(f"{source}: thread NO.{number} collides with thread NO.{number} written on Daiou "
                                f"({thread.title!r}); nothing was imported")
        if thread.volume_id != volume.pk:
            raise ImportRefused(f"{source}: thread NO.{number} is already in another volume; a thread's volume "
                                "never changes")
    resolve = crossref_resolver()
    threads = _store_threads(board, volume, parsed, existing, report)
    _store_posts(threads, parsed, report, resolve, bodies)
    touched = [thread.pk for thread in threads]
    counters.recount_threads(touched)
    counters.recount_volumes([volume.pk])
    newest_known = max([parsed.number] + [link.number for link in (parsed.newer, parsed.older)
                                          if link is not None and link.board == board.name])
    board.last_volume_number = max(board.last_volume_number, newest_known)
    board.last_thread_number = max([board.last_thread_number, *numbers])
    board.save(update_fields=["last_volume_number", "last_thread_number"])
    _remember_authors(parsed)


def _thread_values(parsed_thread, order: int) -> dict:
    return {
        "title": parsed_thread.title, "originator_name": parsed_thread.originator,
        "started_on": parsed_thread.started,
        "archive_layout": {"title_line": parsed_thread.title_line,
                           "blank_after_title": parsed_thread.blank_after_title, "page_order": order},
    }


def _store_threads(board, volume, parsed, existing: dict, report) -> list[Thread]:
    """The page's threads in page order: new ones made in one query, changed ones updated."""
    threads, new = [], []
    for order, parsed_thread in enumerate(parsed.threads):
        values = _thread_values(parsed_thread, order)
        thread = existing.get(parsed_thread.number)
        if thread is None:
            first = (parsed_thread.posts[0].posted_at if parsed_thread.posts
                     else datetime.combine(parsed_thread.started, datetime.min.time()))
            thread = Thread(board=board, volume=volume, number=parsed_thread.number, imported=True,
                            created_at=_aware(first), **values)
            new.append(thread)
            report.created["thread"] += 1
        elif any(getattr(thread, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(thread, k, v)
            thread.save(update_fields=list(values))
            report.updated["thread"] += 1
        else:
            report.unchanged["thread"] += 1
        threads.append(thread)
    Thread.objects.bulk_create(new)
    return threads


def _post_values(post: archive.volume.Post, blocks: list) -> dict:
    return {
        "author_name": post.name, "handle": post.handle, "device": post.device, "os": post.os,
        "posted_at": _aware(post.posted_at), "subtitle": post.subtitle or "", "source": post.body,
        "format": Post.Format.ARCHIVE, "blocks": blocks_to_json(blocks),
        "archive_layout": {"header_line": post.header_line, "blank_after_header": post.blank_after_header,
                           "blank_after_body": post.blank_after_body},
    }


_COMPARED = ("author_name", "handle", "device", "os", "posted_at", "subtitle", "source", "archive_layout")


def _store_posts(threads: list[Thread], parsed: ParsedVolume, report: ImportReport, resolve,
                 bodies: dict[int, list]) -> None:
    """The page's posts: new ones rendered and inserted at once, changed ones updated unless
    changed on Daiou; `bodies` are their blocks by id(post)."""
    existing = {(p.thread_id, p.position): p for p in Post.objects.filter(thread__in=[t.pk for t in threads])}
    new, changed = [], []
    for thread, parsed_thread in zip(threads, parsed.threads):
        for position, parsed_post in enumerate(parsed_thread.posts, 1):
            blocks = bodies[id(parsed_post)]
            values = _post_values(parsed_post, blocks)
            post = existing.get((thread.pk, position))
            if post is None:
                new.append(bulk.row(Post, thread_id=thread.pk, position=position, render_version=RENDER_VERSION,
                                    html=render_blocks(blocks, resolve), **values))
                continue
            if all(getattr(post, k) == values[k] for k in _COMPARED):
                report.unchanged["post"] += 1
                continue
            if post.edited_at or post.hidden or post.format != Post.Format.ARCHIVE:
                report.conflicts.append(f"NO.{thread.number} post {position}: changed on Daiou (edited, hidden or "
                                        "redacted); the page's version was not applied")
                continue
            for k, v in values.items():
                setattr(post, k, v)
            post.html = render_blocks(blocks, resolve)
            post.render_version = RENDER_VERSION
            post.save()
            changed.append(post.pk)
            report.updated["post"] += 1
    made = bulk.insert(Post, new, returning=("id",))
    report.created["post"] += len(new)
    announce_posts_changed(changed + sorted(pk for pk, in made))


def _remember_authors(parsed: ParsedVolume) -> None:
    spellings = {(p.name, p.handle) for t in parsed.threads for p in t.posts}
    spellings |= {(t.originator, "") for t in parsed.threads}
    known = set(ArchiveAuthor.objects.filter(name__in={n for n, _ in spellings}).values_list("name", "handle"))
    for name, handle in sorted(spellings - known):
        ArchiveAuthor(name=name, handle=handle).save()


# ---- export ----------------------------------------------------------------------------------


def _link(value) -> VolumeLink | None:
    return VolumeLink(value[0], value[1]) if value else None


def volume_page(volume: Volume) -> str:
    """The volume as a page of the old format (what `import_volume` reads back)."""
    board = volume.board
    threads = sorted(
        Thread.objects.filter(volume=volume).prefetch_related("posts"),
        key=lambda t: ((t.archive_layout or {}).get("page_order", t.number), t.number),
    )
    built = [_thread_for_export(t) for t in threads]
    layout = volume.archive_layout or {}
    if layout:
        rows = [TitleRow(n, title, orig, date.fromisoformat(d)) for n, title, orig, d in layout["title_rows"]]
        newer, older = _link(layout["newer"]), _link(layout["older"])
    else:
        rows = archive.volume.title_rows_for(built)
        neighbours = Volume.objects.filter(board=board).filter(Q(number=volume.number + 1) | Q(number=volume.number - 1))
        numbers = set(neighbours.values_list("number", flat=True))
        newer = VolumeLink(board.name, volume.number + 1) if volume.number + 1 in numbers else None
        older = VolumeLink(board.name, volume.number - 1) if volume.number - 1 in numbers else None
    page = archive.volume.Volume(
        board=board.name, number=volume.number, threads=built, title_rows=rows, newer=newer, older=older,
        front_matter=layout.get("front_matter"), final_newline=layout.get("final_newline", True),
        line_break=layout.get("line_break", "\n"),
    )
    return write_volume(page)


def _thread_for_export(thread: Thread) -> archive.volume.Thread:
    layout = thread.archive_layout or {}
    posts = [_post_for_export(p) for p in sorted(thread.posts.all(), key=lambda p: p.position)]
    return archive.volume.Thread(
        number=thread.number, title=thread.title, originator=thread.originator_name, started=thread.started_on,
        posts=posts, title_line=layout.get("title_line"), blank_after_title=layout.get("blank_after_title", 2),
    )


def _post_for_export(post: Post) -> archive.volume.Post:
    layout = post.archive_layout or {}
    if post.format == Post.Format.ARCHIVE:
        body = post.source
    elif post.blocks:
        body = serialize_body(blocks_from_json(post.blocks))  # own text and quoted mails, as laid out
    else:
        body = compose_body(post.source, subtitle=post.subtitle)
    return archive.volume.Post(
        # The format has minutes; seconds of posts written on Daiou are not part of the backup.
        name=post.author_name, body=body,
        posted_at=post.posted_at.astimezone(JAPAN).replace(tzinfo=None, second=0, microsecond=0),
        handle=post.handle, device=post.device, os=post.os, header_line=layout.get("header_line"),
        blank_after_header=layout.get("blank_after_header", 1), blank_after_body=layout.get("blank_after_body", 2),
    )


def volumes_for_export(board: Board | None = None) -> Iterable[Volume]:
    volumes = Volume.objects.select_related("board").order_by("board__position", "board_id", "number")
    return volumes.filter(board=board) if board else volumes
