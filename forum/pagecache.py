"""Whole thread and volume pages for anonymous readers, cached under keys that say what they show.

A key names the thread (or the volume) with its version, the page number, the reader's
language, the site's address and the release (templates, translations, code, static files).
Every write that changes what a thread page shows bumps `Thread.version` through
`forum.counters.note_thread_changed` (or a function of forum.counters that bumps it), in the
writing transaction; a volume page's key carries the (id, version) of each of its threads and
its neighbours' numbers. A request reads the version from the database first (the one query
a cached page costs), so a page written after a change is asked for under a new key: nothing
is ever invalidated, any number of processes and machines share one cache (Redis), and none
can serve a page older than the version it just read. Old entries expire (PAGE_SECONDS).

Only anonymous readers' GETs are cached (no session or messages cookie, no query string but
the page number), and only pages that set no cookie, no CSRF token and nothing in the
session. Members get their own pages, never a cached one, and never store one. A page is
stored only after the full view rendered it for a reader, so a key found in the cache vouches
that its thread was visible at that version (hiding bumps the version). The same key makes
the `ETag` (a conditional GET with it is answered 304 after the one query); `Last-Modified`
says when the version was first rendered, kept beside the page, for information only.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import router
from django.db.models import CharField, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

PAGE_SECONDS = 24 * 3600
# What changes pages without changing a thread's version: a deployment of other code,
# templates, translations or static files (whose hashed names the pages carry).
RELEASE_FOLDERS = ("config", "forum", "incidents", "templates", "locale")
RELEASE_SUFFIXES = {".py", ".html", ".txt", ".mo"}


@lru_cache(maxsize=1)
def release() -> str:
    """A digest of what this process serves pages with, the same on every machine of a release."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(settings.DAIOU_RELEASE.encode())
    base = Path(settings.BASE_DIR)
    for folder in RELEASE_FOLDERS:
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in RELEASE_SUFFIXES and "tests" not in path.relative_to(base).parts and path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        digest.update(manifest.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def volumes_with_page_facts():
    """Volumes with what their page's key needs, in the volume's own query: `threads_fingerprint`
    (every thread's id:version, a handful per volume: any change to a thread, a thread added,
    moved or deleted changes it; unordered, as SQLite before 3.44 cannot order an aggregate:
    another order of the same pairs only misses the cache) and the neighbours' numbers.
    Built once per process (building its subqueries cost more than running them): callers
    chain their filter onto it."""
    from .models import Thread, Volume

    pair = Concat(Cast("id", CharField()), Value(":"), Cast("version", CharField()))
    fingerprint = (Thread.objects.filter(volume=OuterRef("pk")).order_by().values("volume")
                   .annotate(pairs=StringAgg(pair, Value(","))).values("pairs"))
    around = Volume.objects.filter(board=OuterRef("board"))
    return Volume.objects.select_related("board").annotate(
        threads_fingerprint=Subquery(fingerprint),
        newer=Subquery(around.filter(number__gt=OuterRef("number")).order_by("number").values("number")[:1]),
        older=Subquery(around.filter(number__lt=OuterRef("number")).order_by("-number").values("number")[:1]),
    )


@lru_cache(maxsize=4)
def _version_probe(alias: str):
    from .models import Thread
    from .precompiled import Precompiled

    slug, number = Precompiled.stand_in(0, str), Precompiled.stand_in(1)
    probe = (Thread.objects.filter(board__slug=slug, number=number).order_by()
             .values_list("pk", "version", "last_position", named=True)[:1])
    return Precompiled(probe, alias, (slug, number))


def thread_version(board_slug: str, number: int) -> tuple[int, int, int] | None:
    """(pk, version, last_position) of a thread, or None: the one query of a cached page, the
    most frequent of the site. The ORM writes its SQL once per process and database, then it
    runs with this request's values, straight on a cursor (on PostgreSQL, as one libpq call where
    it can: `_probe_on_libpq`): building the query took 15 times as long as running it, and over
    a third of a cached page's time."""
    from django.db import connections

    from .models import Thread

    alias = router.db_for_read(Thread)
    connection = connections[alias]
    if _on_libpq(connection):
        return _probe_on_libpq(connection, alias, board_slug, number)
    found = _version_probe(alias)(board_slug, number)
    return found[0] if found else None


_PROBE_NAME = b"daiou_version_probe"
_NO_SUCH_STATEMENT = b"26000"  # SQLSTATE invalid_sql_statement_name


def _on_libpq(connection) -> bool:
    """Whether the probe can run as one libpq call: on PostgreSQL with prepared statements
    (not behind PgBouncer without them), not where queries are logged or wrapped (DEBUG, tests
    counting queries, bench/explain.py: there it goes through a cursor, where Django sees it),
    and outside any transaction (a failed statement would abort one)."""
    if connection.vendor != "postgresql" or not connection.settings_dict["OPTIONS"].get("prepare_threshold") \
            or connection.queries_logged or connection.execute_wrappers:
        return False
    if connection.in_atomic_block:
        return False
    from psycopg.pq import TransactionStatus

    return connection.connection is None or connection.connection.pgconn.transaction_status == TransactionStatus.IDLE


def _probe_on_libpq(connection, alias: str, board_slug: str, number: int):
    """The probe as one blocking libpq call (PQexecPrepared), prepared once per connection:
    psycopg's cursor, its non-blocking loop and Django's wrappers around them cost a cached
    page's worker more under load than the query costs PostgreSQL (44% of the floor view's rate
    against 53-54% this way, docs/benchmarks.md "Fifth pass"). psycopg deallocates every
    prepared statement of a connection when a transaction rolls back: the probe then finds its
    statement gone (outside a transaction, harmlessly) and prepares it again. Errors are
    Django's, as from a cursor (a lost database gives readers the 503 page)."""
    import psycopg
    from psycopg.pq import DiagnosticField, ExecStatus

    connection.ensure_connection()
    raw = connection.connection
    probe = _version_probe(alias)
    params = [value.encode() if isinstance(value, str) else b"%d" % value for value in probe.params((board_slug, number))]
    with connection.wrap_database_errors:
        result = raw.pgconn.exec_prepared(_PROBE_NAME, params) if getattr(raw, "_daiou_probe", False) else None
        if result is None or (result.status != ExecStatus.TUPLES_OK
                              and result.error_field(DiagnosticField.SQLSTATE) == _NO_SUCH_STATEMENT):
            prepared = raw.pgconn.prepare(_PROBE_NAME, probe.numbered_sql().encode())
            if prepared.status != ExecStatus.COMMAND_OK:
                raise psycopg.OperationalError(prepared.get_error_message() or "the version probe was not prepared")
            raw._daiou_probe = True
            result = raw.pgconn.exec_prepared(_PROBE_NAME, params)
        if result.status != ExecStatus.TUPLES_OK:
            raise psycopg.OperationalError(result.get_error_message() or "the version probe failed")
    if not result.ntuples:
        return None
    return int(result.get_value(0, 0)), int(result.get_value(0, 1)), int(result.get_value(0, 2))


def cacheable(request) -> bool:
    """An anonymous reader's plain GET: no session (so not a member, no pending message or
    draft), no messages cookie, nothing in the query string but the page number."""
    return (
        request.method == "GET"
        and set(request.GET) <= {"page"}
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
        and not request.user.is_authenticated
    )


def _digest(request, parts: tuple) -> str:
    # The language decides every string of the page; the origin its canonical link.
    words = (release(), *parts, request.LANGUAGE_CODE, request.scheme, request.get_host())
    return hashlib.blake2b("\x1f".join(map(str, words)).encode(), digest_size=16).hexdigest()


def _reader_headers(response, etag: str) -> None:
    response["ETag"] = etag
    # Stored by browsers but asked again each time (a 304 while unchanged): never stale.
    patch_cache_control(response, no_cache=True)
    # The language comes from the cookie or Accept-Language (LocaleMiddleware adds the latter).
    patch_vary_headers(response, ("Cookie", "Accept-Language"))


def serve(request, parts: tuple, render) -> HttpResponse:
    """The page named by `parts` (kind, id, version…, page) for this request: from the cache
    for an anonymous reader, else `render()`d (and kept when it may be)."""
    if not cacheable(request):
        return render()
    etag = f'"{_digest(request, parts)}"'
    if "HTTP_IF_NONE_MATCH" in request.META:  # only the ETag can answer before the lookup
        shell = HttpResponse()
        _reader_headers(shell, etag)
        if (not_modified := get_conditional_response(request, etag=etag, response=shell)) is not shell:
            return not_modified  # If-None-Match matched: no cache lookup, no rendering
    key = f"page:{etag[1:-1]}"
    cached = _cached(key) if settings.DAIOU_PAGE_CACHE else None
    if cached is not None:
        content, content_type, last_modified = cached
        response = HttpResponse(content, content_type=content_type)
        response["X-Page-Cache"] = "hit"
    else:
        response = render()
        # (The session was empty, there being no cookie: reading request.user reads it.)
        if response.status_code != 200 or response.cookies or request.session.modified \
                or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):
            return response  # depends on more than the key says: neither kept nor tagged
        last_modified = time.time()
        if settings.DAIOU_PAGE_CACHE:
            entry = (response.content, response["Content-Type"], last_modified)
            cache.set(key, entry, PAGE_SECONDS)
            local_pages.put(key, entry)
        response["X-Page-Cache"] = "miss" if settings.DAIOU_PAGE_CACHE else "off"
    response["Last-Modified"] = http_date(math.ceil(last_modified))
    _reader_headers(response, etag)
    # If-Modified-Since alone is not answered with a 304: two versions rendered within one
    # second share a Last-Modified, and only the ETag tells them apart.
    return get_conditional_response(request, etag=etag, response=response)


class LocalPages:
    """The pages this process served last, in front of the shared cache: a key names one
    rendering of one version (see the module), so a copy here is never staler than Redis's,
    and the hottest pages cost no round trip and no 70 KB transfer. Bounded in bytes; the
    least recently served page goes first. Thread-safe (gthread workers)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._pages: OrderedDict[str, tuple] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            entry = self._pages.get(key)
            if entry is not None:
                self._pages.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple) -> None:
        size = len(entry[0])
        if size > self.max_bytes:
            return
        with self._lock:
            if (old := self._pages.pop(key, None)) is not None:
                self._bytes -= len(old[0])
            self._pages[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._pages.popitem(last=False)
                self._bytes -= len(dropped[0])

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0


local_pages = LocalPages(settings.DAIOU_PAGE_CACHE_LOCAL_BYTES)


def _cached(key: str):
    if (entry := local_pages.get(key)) is not None:
        return entry
    if (entry := cache.get(key)) is not None:
        local_pages.put(key, entry)
    return entry


# ---- saves the writers did not announce (connected in forum.apps) ---------------------------


def on_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs) -> None:
    """A thread, post or board saved through the ORM anywhere (the admin, a shell) changes the
    version too. Writes by QuerySet.update() call forum.counters themselves."""
    from . import counters
    from .models import Board, Thread

    if raw or created:  # a new post or thread is counted by forum.counters already
        return
    if sender is Board:
        if update_fields is None or {"name", "slug"} & set(update_fields):
            counters.note_board_changed(instance)
    elif sender is Thread:
        counters.note_thread_changed(instance)
    else:
        counters.note_thread_changed(instance.thread_id)


def on_post_deleted(sender, instance, **kwargs) -> None:
    from . import counters

    counters.note_thread_changed(instance.thread_id)
