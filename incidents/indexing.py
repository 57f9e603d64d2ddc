"""Indicators kept in step with the posts: extraction writes, aggregates, the change token.

`index_posts(ids)` runs when the forum announces changed posts (incidents.apps connects it to
forum.signals.posts_changed) and `rebuild()` from `manage.py rebuild_indicators`. Both replace
the sightings and quoted mails of the posts they read, in one transaction per batch, then
bring the aggregates of every indicator they touched up to date: when it was first and last
seen, how often, in which roles and threads, its brand and assessment, and whether it is
exported. An indicator that lost sightings is counted again from all of its sightings; one
that only gained some (new posts) takes them in, so a page of an import costs the same
however often its indicators were seen before.
Hidden posts and posts of hidden threads are read as empty: nothing they quote is shown.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Min, Sum
from django.utils import timezone

from forum import bulk
from forum.blocks import BlockError, blocks_from_json
from forum.models import Post
from forum.precompiled import Precompiled

from .brands import BrandCatalogue
from .extract import EXPORTED_ROLES, KIND_IP, KIND_PHONE, PostFindings, extract_post
from .models import (
    EXPORTED_ROLE_BITS, Assessment, Brand, Indicator, IndicatorState, QuotedMail, Sighting, Verdict, indicator_key,
    role_bits, roles_of,
)

logger = logging.getLogger(__name__)
# Posts read in one transaction: an indicator seen all over a batch is merged once per batch
# (an import announces two thousand posts at a time).
POSTS_PER_BATCH = 2000
INDICATORS_PER_BATCH = 500


# --- the change token ------------------------------------------------------------------------

def current_token() -> str:
    token = IndicatorState.objects.filter(pk=1).values_list("token", flat=True).first()
    if token is None:
        IndicatorState.objects.get_or_create(pk=1, defaults={"token": uuid.uuid4().hex})
        token = IndicatorState.objects.values_list("token", flat=True).get(pk=1)
    return token


def note_change() -> None:
    """Every cached lookup, export and API answer is stale from now on."""
    updated = IndicatorState.objects.filter(pk=1).update(token=uuid.uuid4().hex, changed_at=timezone.now())
    if not updated:
        IndicatorState.objects.get_or_create(pk=1, defaults={"token": uuid.uuid4().hex})


_BRAND_FIELDS = ("pk", "name", "name_en", "aliases", "domains", "host_keywords")
_loaded: tuple = ((), None)  # the brand rows last read, the catalogue made of them


def load_catalogue() -> BrandCatalogue:
    """The catalogue of the brands as they are now. The rows are read every time; the
    catalogue made of them (and its answers) is kept while they read the same (every reply
    asks: building it cost more than reading them)."""
    global _loaded
    rows = tuple(Brand.objects.values_list(*_BRAND_FIELDS))
    kept_rows, catalogue = _loaded
    if catalogue is None or rows != kept_rows:
        catalogue = BrandCatalogue(Brand(**dict(zip(_BRAND_FIELDS, row))).entry() for row in rows)
        # A link's URL, host and domain ask about the same host; a pure function of the rows.
        catalogue.assess_host = lru_cache(maxsize=8192)(catalogue.assess_host)
        _loaded = (rows, catalogue)
    return catalogue


# --- reading posts ---------------------------------------------------------------------------

def findings_of(post: Post, catalogue: BrandCatalogue) -> PostFindings:
    if post.hidden or post.held or post.thread.hidden:  # held: not published until approved
        return PostFindings()
    try:
        blocks = blocks_from_json(post.blocks)
    except BlockError:
        logger.warning("post %s: stored blocks cannot be read; no indicators taken from it", post.pk)
        return PostFindings()
    return extract_post(blocks, catalogue)


def index_posts(post_ids: Iterable[int], *, batch_size: int = POSTS_PER_BATCH, progress=None) -> None:
    """Re-read these posts (created, edited, hidden or shown) and update what depends on them."""
    ids = sorted(set(post_ids))
    catalogue = load_catalogue()
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        try:
            _index_batch(batch, catalogue)
        except IntegrityError:
            # Another writer dropped an indicator this batch was about to point at (its last
            # sighting went while ours was being written): read the posts again, once.
            _index_batch(batch, catalogue)
        if progress:
            progress(start + len(batch), len(ids))


def index_new_posts(*, progress=None, batch_size: int = POSTS_PER_BATCH) -> dict[str, int]:
    """The posts after the last one anything was taken from, read as new posts are: their
    indicators take them in, and no indicator is counted again from all of its sightings (a
    rebuild's last step, which costs as much as the whole archive). For a bulk fill of posts
    stored without their indicators; a stopped run goes on after the last post it stored."""
    after = max(Sighting.objects.aggregate(last=Max("post_id"))["last"] or 0,
                QuotedMail.objects.aggregate(last=Max("post_id"))["last"] or 0)
    post_ids = list(Post.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True))
    index_posts(post_ids, batch_size=batch_size, progress=progress)
    return {"posts": len(post_ids), "indicators": Indicator.objects.count(), "sightings": Sighting.objects.count()}


def _posts(ids: list[int]) -> list[Post]:
    if len(ids) == 1:  # a reply or an edit: a query written once per process
        return _one_post_query(connection.alias)(ids[0])
    return list(_posts_query(ids))


def _posts_query(ids):
    return (Post.objects.filter(pk__in=ids).select_related("thread")
            .only("pk", "blocks", "hidden", "held", "posted_at", "thread_id", "thread__hidden"))


@lru_cache
def _one_post_query(alias: str) -> Precompiled:
    post = Precompiled.stand_in(0)
    return Precompiled(_posts_query([post]), alias, (post,))


@lru_cache
def _quoted_mail_query(alias: str) -> Precompiled:
    post = Precompiled.stand_in(0)
    return Precompiled(QuotedMail.objects.filter(post_id=post).values_list("pk")[:1], alias, (post,))


def _delete_quoted_mails(ids: list[int]) -> int:
    """How many quoted mails of these posts were deleted. The ORM's delete reads them first
    (sightings may point at them); one post without any, a reply's usual case, is asked of a
    query written once per process instead."""
    if len(ids) == 1 and not _quoted_mail_query(connection.alias)(ids[0]):
        return 0
    return QuotedMail.objects.filter(post_id__in=ids).delete()[0]


def _state(post: Post) -> tuple:
    """What a post's findings depend on."""
    return post.blocks, post.hidden, post.held, post.thread.hidden, post.posted_at, post.thread_id


def _index_batch(ids: list[int], catalogue: BrandCatalogue) -> None:
    # On SQLite extraction, most of a batch's work, runs before the transaction: it has one
    # writer, which a bulk import's other processes wait for. Posts changed meanwhile are read
    # again in it. (PostgreSQL locks rows, not the database: reading twice would only cost. So
    # would it for one post, a reply or an edit: its extraction costs less than a second read.)
    read = {post.pk: post for post in _posts(ids)} if connection.vendor == "sqlite" and len(ids) > 1 else {}
    findings = {pk: findings_of(post, catalogue) for pk, post in read.items()}
    with transaction.atomic():
        posts = _posts(ids)
        for post in posts:
            if post.pk not in read or _state(read[post.pk]) != _state(post):
                findings[post.pk] = findings_of(post, catalogue)
        _index_read_batch(ids, posts, findings, catalogue)


def _index_read_batch(ids: list[int], posts: list[Post], findings: dict, catalogue: BrandCatalogue) -> None:
    # Indicators that lose sightings here are counted again from all of theirs; those that only
    # gain some (new posts: an import, a reply) take this batch's in, whatever they were seen before.
    removed = _delete_sightings(ids)
    quotes_removed = _delete_quoted_mails(ids)
    stored = _store(posts, catalogue, findings=findings)
    if removed or stored.seen or quotes_removed or stored.quotes:
        _take_in({pk: seen for pk, seen in stored.seen.items() if pk not in removed and pk not in stored.fresh},
                 catalogue)
        refresh(removed, catalogue)
        note_change()  # a post without quotes or indicators changes nothing cached


def _delete_sightings(post_ids: list[int]) -> set[int]:
    """Delete the sightings of these posts; the indicators they were of. One statement (nothing
    refers to a sighting: no cascade for the ORM to collect)."""
    if not post_ids:
        return set()
    placeholders = ", ".join(["%s"] * len(post_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Sighting._meta.db_table} WHERE post_id IN ({placeholders}) "
                       "RETURNING indicator_id", post_ids)
        return {indicator_id for (indicator_id,) in cursor.fetchall()}


def purge_posts(post_ids: Iterable[int]) -> int:
    """Text was taken out of these posts for good (forum.signals.posts_purged, inside the
    moderator's transaction): re-read them now, and delete every indicator they alone held,
    reviewed or not (a review quotes the value). Returns how many indicators went."""
    ids = sorted(set(post_ids))
    before = set(Sighting.objects.filter(post_id__in=ids).values_list("indicator_id", flat=True))
    catalogue = load_catalogue()
    for start in range(0, len(ids), POSTS_PER_BATCH):
        _index_batch(ids[start:start + POSTS_PER_BATCH], catalogue)
    seen = set(Sighting.objects.filter(indicator_id__in=before).values_list("indicator_id", flat=True))
    gone = before - seen
    Indicator.objects.filter(pk__in=gone).delete()
    note_change()
    return len(gone)


@dataclass
class _Seen:
    """What one batch's sightings say about one indicator (the aggregates `refresh` computes)."""

    first: datetime
    last: datetime
    times: int = 0
    roles: set = field(default_factory=set)
    posts: set = field(default_factory=set)
    threads: dict = field(default_factory=dict)  # thread id -> latest sighting
    brands: Counter = field(default_factory=Counter)  # brand id -> sightings in exported roles

    def add(self, sighting: dict, brand_id: int | None) -> None:
        """One sighting row (forum.bulk.row of Sighting) of the indicator."""
        seen_at, role, thread_id = sighting["seen_at"], sighting["role"], sighting["thread_id"]
        self.first, self.last = min(self.first, seen_at), max(self.last, seen_at)
        self.times += sighting["count"]
        self.roles.add(role)
        self.posts.add(sighting["post_id"])
        latest = self.threads.get(thread_id)
        if latest is None or seen_at > latest:
            self.threads[thread_id] = seen_at
        if brand_id is not None and role in EXPORTED_ROLES:
            self.brands[brand_id] += 1


@dataclass
class _Stored:
    seen: dict[int, _Seen]  # indicator id -> what this batch saw of it
    fresh: set[int]         # indicators this batch made, their aggregates written already
    quotes: int


def _latest_threads(threads: dict) -> list[int]:
    latest = sorted(threads.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return [thread_id for thread_id, _ in latest[:Indicator.THREADS_KEPT]]


def _set_aggregates(indicator: Indicator, seen: _Seen, catalogue: BrandCatalogue, quote_brands: Counter, *,
                    post_count: int | None = None, thread_ids: list[int] | None = None) -> None:
    indicator.roles = role_bits(seen.roles)
    indicator.first_seen, indicator.last_seen = seen.first, seen.last
    indicator.times_seen = seen.times
    indicator.post_count = len(seen.posts) if post_count is None else post_count
    indicator.thread_ids = _latest_threads(seen.threads) if thread_ids is None else thread_ids
    assess(indicator, catalogue, quote_brands)


def _store(posts: list[Post], catalogue: BrandCatalogue, *, update_display: bool = False,
           findings: dict | None = None) -> _Stored:
    """Indicators, quoted mails and sightings of these posts (whose old rows are gone).

    Indicators that exist keep their row (their aggregates are the caller's business); new ones
    are written with the aggregates of this batch's sightings, which are all they have. A
    rebuild (update_display) also writes the display forms of existing ones again, for after
    the defanging or normalisation code changed. Rows go in by multi-row INSERTs
    (forum.bulk): Django's bulk_create costs more per row than the database does here."""
    if findings is None:
        findings = {post.pk: findings_of(post, catalogue) for post in posts}
    records = {}  # key -> first Found
    for found in findings.values():
        for record in found.indicators:
            records.setdefault(indicator_key(record.kind, record.value), record)

    quotes = [bulk.row(QuotedMail, post_id=post.pk, thread_id=post.thread_id, part=quote.part,
                       number=quote.number, subject=quote.subject, sender_name=quote.sender_name,
                       sender=quote.sender, brand_id=quote.brand_id, posted_at=post.posted_at)
              for post in posts for quote in findings[post.pk].quotes]
    made_quotes = bulk.insert(QuotedMail, quotes, returning=("post_id", "part", "id"))
    quote_ids = {(post_id, part): pk for post_id, part, pk in made_quotes}
    quote_brand = {(q["post_id"], q["part"]): q["brand_id"] for q in quotes}

    sightings = []  # indicator keys in place of ids until the rows exist
    for post in posts:
        counts: Counter = Counter()
        written = {}
        for record in findings[post.pk].indicators:
            slot = (indicator_key(record.kind, record.value), record.part, record.role)
            counts[slot] += 1
            written.setdefault(slot, record.written)
        for (key, part, role), count in counts.items():
            sightings.append(bulk.row(Sighting, indicator_id=key, post_id=post.pk, thread_id=post.thread_id,
                                      quote_id=quote_ids.get((post.pk, part)), part=part, role=role,
                                      count=count, written=written[(key, part, role)], seen_at=post.posted_at))
    seen: dict[str, _Seen] = {}
    for sighting in sightings:
        key, moment = sighting["indicator_id"], sighting["seen_at"]
        brand_id = quote_brand.get((sighting["post_id"], sighting["part"]))
        seen.setdefault(key, _Seen(moment, moment)).add(sighting, brand_id)

    keys = sorted(records)  # one order for every writer: rows locked alike
    id_of = _ids_of(keys)
    fresh = set()
    if update_display:
        rows = [Indicator(**vars(_new_indicator(key, records[key]))) for key in keys]
        Indicator.objects.bulk_create(rows, update_conflicts=True, unique_fields=["key"],
                                      update_fields=["defanged", "punycode", "host", "registrable_domain"],
                                      batch_size=500)
    else:
        rows = []
        for key in keys:
            if key not in id_of:
                row = _new_indicator(key, records[key])
                _set_aggregates(row, seen[key], catalogue, seen[key].brands)
                rows.append(row)
        made = dict(bulk.insert(Indicator, [vars(row) for row in rows], conflict="key",
                                returning=("key", "id")))
        id_of.update(made)
        fresh = set(made.values())
    missing = [key for key in keys if key not in id_of]  # made by another writer meanwhile, or a rebuild's
    id_of.update(_ids_of(missing))

    for sighting in sightings:
        sighting["indicator_id"] = id_of[sighting["indicator_id"]]
    bulk.insert(Sighting, sightings)
    return _Stored({id_of[key]: value for key, value in seen.items()}, fresh, len(quotes))


def _new_indicator(key: str, record) -> SimpleNamespace:
    """An indicator row to insert, with attributes as `assess` reads and writes them."""
    now = timezone.now()
    return SimpleNamespace(**bulk.row(
        Indicator, key=key, kind=record.kind, value=record.value, host=record.host,
        registrable_domain=record.registrable_domain, defanged=record.defanged, punycode=record.punycode,
        written=record.written if record.kind == KIND_PHONE else "", created_at=now, updated_at=now))


def _ids_of(keys: list[str]) -> dict[str, int]:
    found = {}
    for start in range(0, len(keys), 500):
        found.update(Indicator.objects.filter(key__in=keys[start:start + 500]).values_list("key", "pk"))
    return found


def _take_in(seen: dict[int, _Seen], catalogue: BrandCatalogue) -> None:
    """Add what a batch saw to indicators that existed before it and lost no sightings in it:
    their counts, dates and roles grow, their latest threads are merged, their brand and
    assessment judged again. The rows are locked first, so writers taking in at once queue and
    each adds to what the one before committed."""
    ids = sorted(seen)
    for start in range(0, len(ids), INDICATORS_PER_BATCH):
        _take_in_batch(ids[start:start + INDICATORS_PER_BATCH], seen, catalogue)


def _take_in_batch(ids: list[int], seen: dict[int, _Seen], catalogue: BrandCatalogue) -> None:
    indicators = list(Indicator.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
                      .only("kind", "host", "verdict", *_AGGREGATES))
    # Where this batch saw an indicator before its last sighting, the old threads' latest
    # sightings decide the order; the brand comes from every quote unless the host names one.
    reorder = [i for i in indicators if i.times_seen and i.thread_ids and seen[i.pk].first < i.last_seen]
    latest = defaultdict(dict)
    if reorder:
        threads = {t for i in reorder for t in (*i.thread_ids, *seen[i.pk].threads)}
        rows = (Sighting.objects.filter(indicator_id__in=[i.pk for i in reorder], thread_id__in=threads)
                .values_list("indicator_id", "thread_id").annotate(latest=Max("seen_at")))
        for indicator_id, thread_id, when in rows:
            latest[indicator_id][thread_id] = when
    # Counted again unless nothing can have changed: no brand from the host, none from the quotes
    # so far (assess keeps brand_id in step with them), none among this batch's sightings. A
    # much-seen phone number would otherwise read all of its sightings for every reply.
    counted = [i.pk for i in indicators
               if not _host_brand(i, catalogue) and (i.brand_id is not None or seen[i.pk].brands)]
    brands = defaultdict(Counter)
    if counted:
        rows = (Sighting.objects.filter(indicator_id__in=counted, role__in=EXPORTED_ROLES,
                                        quote__brand_id__isnull=False)
                .values_list("indicator_id", "quote__brand_id").annotate(times=Count("id")))
        for indicator_id, brand_id, times in rows:
            brands[indicator_id][brand_id] = times
    now = timezone.now()
    before = {i.pk: {name: getattr(i, name) for name in _AGGREGATES} for i in indicators}
    writes = defaultdict(list)
    for indicator in indicators:
        new = seen[indicator.pk]
        if not indicator.times_seen:  # a reviewed indicator that had lost every sighting
            _set_aggregates(indicator, new, catalogue, brands[indicator.pk])
        else:
            if indicator.pk in latest:
                when = latest[indicator.pk]
                thread_ids = _latest_threads({t: when[t] for t in (*indicator.thread_ids, *new.threads) if t in when})
            else:  # everything new is at least as recent as anything before: it goes first
                thread_ids = _latest_threads(new.threads)
                thread_ids += [t for t in indicator.thread_ids if t not in new.threads]
            total = _Seen(min(indicator.first_seen, new.first), max(indicator.last_seen, new.last),
                          indicator.times_seen + new.times, set(roles_of(indicator.roles)) | new.roles)
            # The batch's posts had no sightings of it left: their posts add to the count.
            _set_aggregates(indicator, total, catalogue, brands[indicator.pk],
                            post_count=indicator.post_count + len(new.posts),
                            thread_ids=thread_ids[:Indicator.THREADS_KEPT])
        changed = tuple(name for name in _AGGREGATES if getattr(indicator, name) != before[indicator.pk][name])
        if changed:
            indicator.updated_at = now
            writes[changed].append(indicator)
    # Only what changed: every aggregate column is in some index, and an unchanged one set
    # again still costs its index entries.
    for changed, rows in writes.items():
        _write(rows, [*changed, "updated_at"])


_AGGREGATES = ("roles", "first_seen", "last_seen", "times_seen", "post_count", "thread_ids", "brand_id",
               "assessment", "exported")


def _host_brand(indicator: Indicator, catalogue: BrandCatalogue) -> int | None:
    """The brand the indicator's host itself names (its own or a look-alike's), as `assess` reads it."""
    if not indicator.host or indicator.kind in (KIND_IP, KIND_PHONE):
        return None
    return catalogue.assess_host(indicator.host)[1]


# --- aggregates ------------------------------------------------------------------------------

def refresh(indicator_ids: Iterable[int], catalogue: BrandCatalogue | None = None) -> None:
    """Recompute what Indicator rows say about their sightings; drop unreviewed ones seen nowhere.
    Call inside a transaction: the rows are locked while they are recomputed."""
    ids = sorted(set(indicator_ids))
    if not ids:
        return
    catalogue = catalogue or load_catalogue()
    for start in range(0, len(ids), INDICATORS_PER_BATCH):
        _refresh_batch(ids[start:start + INDICATORS_PER_BATCH], catalogue)


def _refresh_batch(ids: list[int], catalogue: BrandCatalogue) -> None:
    # Two posts quoting one indicator may be indexed at once: the second waits here until the
    # first commits, then reads both posts' sightings. NO KEY UPDATE, because inserting a
    # sighting holds KEY SHARE on its indicator and must not deadlock with this (PostgreSQL;
    # SQLite's writers queue anyway).
    list(Indicator.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk"))
    sightings = Sighting.objects.filter(indicator_id__in=ids)
    totals = {row["indicator_id"]: row for row in sightings.values("indicator_id").annotate(
        first=Min("seen_at"), last=Max("seen_at"), times=Sum("count"))}
    roles = defaultdict(set)
    posts = defaultdict(set)
    threads = defaultdict(dict)  # indicator -> {thread: latest sighting}
    brands = defaultdict(Counter)
    for indicator_id, role, post_id, thread_id, seen_at, brand_id in sightings.values_list(
            "indicator_id", "role", "post_id", "thread_id", "seen_at", "quote__brand_id"):
        roles[indicator_id].add(role)
        posts[indicator_id].add(post_id)
        latest = threads[indicator_id].get(thread_id)
        if latest is None or seen_at > latest:
            threads[indicator_id][thread_id] = seen_at
        # A namespace or a third party's number is no part of the impersonation.
        if brand_id is not None and role in EXPORTED_ROLES:
            brands[indicator_id][brand_id] += 1

    unseen = []
    changed = []
    now = timezone.now()
    for indicator in Indicator.objects.filter(pk__in=ids):
        total = totals.get(indicator.pk)
        if total is None and indicator.reviewed_at is None:  # a reviewed one keeps its review
            unseen.append(indicator.pk)
            continue
        indicator.roles = role_bits(roles[indicator.pk])
        indicator.first_seen = total["first"] if total else None
        indicator.last_seen = total["last"] if total else None
        indicator.times_seen = total["times"] if total else 0
        indicator.post_count = len(posts[indicator.pk])
        indicator.thread_ids = _latest_threads(threads[indicator.pk])
        assess(indicator, catalogue, brands[indicator.pk])
        indicator.updated_at = now
        changed.append(indicator)
    Indicator.objects.filter(pk__in=unseen).delete()
    _write(changed, ["roles", "first_seen", "last_seen", "times_seen", "post_count", "thread_ids", "brand",
                     "assessment", "exported", "updated_at"])


def _write(indicators: list[Indicator], names: list[str]) -> None:
    """These fields of these indicators, in one executemany (forum.bulk.update)."""
    attnames = tuple(Indicator._meta.get_field(name).attname for name in names)
    bulk.update(Indicator, attnames, [(i.pk, *(getattr(i, a) for a in attnames)) for i in indicators])


def assess(indicator: Indicator, catalogue: BrandCatalogue, quote_brands: Counter) -> None:
    """Brand, assessment and export flag, from the indicator's host and where it was seen.

    A host of a brand's own domain is legitimate (used by the scam, never malicious), one that
    carries a brand's name a look-alike; anything else takes the brand its quotes impersonate
    most often. Exported: seen in an exported role, not legitimate, not reviewed away."""
    kind_of_host = indicator.host and indicator.kind not in (KIND_IP, KIND_PHONE)
    verdict, host_brand = catalogue.assess_host(indicator.host) if kind_of_host else (None, None)
    if verdict == "legitimate":
        indicator.assessment = Assessment.LEGITIMATE
    elif verdict == "lookalike":
        indicator.assessment = Assessment.LOOKALIKE
    else:
        indicator.assessment = Assessment.SUSPICIOUS
    if host_brand is not None:
        indicator.brand_id = host_brand
    elif quote_brands:
        indicator.brand_id = sorted(quote_brands.items(), key=lambda item: (-item[1], item[0]))[0][0]
    else:
        indicator.brand_id = None
    indicator.exported = bool(
        indicator.times_seen and indicator.roles & EXPORTED_ROLE_BITS
        and indicator.assessment != Assessment.LEGITIMATE and indicator.verdict == Verdict.NONE)


# --- whole rebuilds --------------------------------------------------------------------------

def rebuild(*, progress=None, resume: bool = False) -> dict[str, int]:
    """Every post read again, every indicator recomputed (after brand aliases change, after a
    new extraction rule, after posts were deleted). With `resume`, a rebuild that was stopped
    goes on after the last post it stored anything for (reading a few posts again changes
    nothing), then recomputes every indicator as a whole rebuild does."""
    catalogue = load_catalogue()
    after = 0
    if resume:
        after = max(Sighting.objects.aggregate(last=Max("post_id"))["last"] or 0,
                    QuotedMail.objects.aggregate(last=Max("post_id"))["last"] or 0)
    post_ids = list(Post.objects.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(post_ids), POSTS_PER_BATCH):
        batch = post_ids[start:start + POSTS_PER_BATCH]
        with transaction.atomic():
            Sighting.objects.filter(post_id__in=batch).delete()
            QuotedMail.objects.filter(post_id__in=batch).delete()
            _store(list(_posts(batch)), catalogue, update_display=True)
        if progress:
            progress(min(start + POSTS_PER_BATCH, len(post_ids)), len(post_ids))
    # Sightings of posts deleted since are gone with them (CASCADE); every indicator is refreshed.
    all_ids = list(Indicator.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(all_ids), INDICATORS_PER_BATCH):
        with transaction.atomic():
            _refresh_batch(all_ids[start:start + INDICATORS_PER_BATCH], catalogue)
    note_change()
    return {"posts": len(post_ids), "indicators": Indicator.objects.count(), "sightings": Sighting.objects.count()}


def reassess_brand_hosts(brand_ids: Iterable[int]) -> int:
    """After an admin changed brands: indicators whose host may now be judged differently
    (those a changed brand is given to, and those whose host carries its keywords or lies
    under its domains) are refreshed. Quotes are tagged again only by a rebuild."""
    catalogue = load_catalogue()
    candidates = set(Indicator.objects.filter(brand_id__in=list(brand_ids)).values_list("pk", flat=True))
    for brand in Brand.objects.filter(pk__in=list(brand_ids)):
        for keyword in brand.entry().host_keywords:
            candidates |= set(Indicator.objects.filter(host__contains=keyword).values_list("pk", flat=True))
        for domain in brand.domain_list:
            candidates |= set(Indicator.objects.filter(host=domain).values_list("pk", flat=True))
            candidates |= set(Indicator.objects.filter(host__endswith="." + domain).values_list("pk", flat=True))
    with transaction.atomic():
        refresh(candidates, catalogue)
        note_change()
    return len(candidates)
