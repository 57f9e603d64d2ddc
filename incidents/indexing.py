"""Indicators kept in step with the posts: extraction writes, aggregates, the change token.

`index_posts(ids)` runs when the forum announces changed posts (incidents.apps connects it to
forum.signals.posts_changed) and `rebuild()` from `manage.py rebuild_indicators`. Both replace
the sightings and quoted mails of the posts they read, in one transaction per batch, then
recompute the aggregates of every indicator they touched: when it was first and last seen,
how often, in which roles and threads, its brand and assessment, and whether it is exported.
Hidden posts and posts of hidden threads are read as empty: nothing they quote is shown.
"""
from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from forum.blocks import BlockError, blocks_from_json
from forum.models import Post

from .brands import BrandCatalogue
from .extract import EXPORTED_ROLES, KIND_IP, KIND_PHONE, PostFindings, extract_post
from .models import (
    EXPORTED_ROLE_BITS, Assessment, Brand, Indicator, IndicatorState, QuotedMail, Sighting, Verdict, indicator_key,
    role_bits,
)

logger = logging.getLogger(__name__)
POSTS_PER_BATCH = 200
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


def load_catalogue() -> BrandCatalogue:
    return BrandCatalogue(brand.entry() for brand in Brand.objects.all())


# --- reading posts ---------------------------------------------------------------------------

def findings_of(post: Post, catalogue: BrandCatalogue) -> PostFindings:
    if post.hidden or post.thread.hidden:
        return PostFindings()
    try:
        blocks = blocks_from_json(post.blocks)
    except BlockError:
        logger.warning("post %s: stored blocks cannot be read; no indicators taken from it", post.pk)
        return PostFindings()
    return extract_post(blocks, catalogue)


def index_posts(post_ids: Iterable[int]) -> None:
    """Re-read these posts (created, edited, hidden or shown) and update what depends on them."""
    ids = sorted(set(post_ids))
    catalogue = load_catalogue()
    for start in range(0, len(ids), POSTS_PER_BATCH):
        batch = ids[start:start + POSTS_PER_BATCH]
        try:
            _index_batch(batch, catalogue)
        except IntegrityError:
            # Another writer dropped an indicator this batch was about to point at (its last
            # sighting went while ours was being written): read the posts again, once.
            _index_batch(batch, catalogue)


def _posts(ids: list[int]):
    return (Post.objects.filter(pk__in=ids).select_related("thread")
            .only("pk", "blocks", "hidden", "posted_at", "thread_id", "thread__hidden"))


@transaction.atomic
def _index_batch(ids: list[int], catalogue: BrandCatalogue) -> None:
    touched = set(Sighting.objects.filter(post_id__in=ids).values_list("indicator_id", flat=True))
    Sighting.objects.filter(post_id__in=ids).delete()
    quotes_removed, _ = QuotedMail.objects.filter(post_id__in=ids).delete()
    touched |= _store(list(_posts(ids)), catalogue)
    if touched or quotes_removed or QuotedMail.objects.filter(post_id__in=ids).exists():
        refresh(touched, catalogue)
        note_change()  # a post without quotes or indicators changes nothing cached


def _store(posts: list[Post], catalogue: BrandCatalogue, *, update_display: bool = False) -> set[int]:
    """Indicators, quoted mails and sightings of these posts (whose old rows are gone).

    Indicators that exist keep their row; a rebuild (update_display) also writes their display
    forms again, for after the defanging or normalisation code changed."""
    findings = {post.pk: findings_of(post, catalogue) for post in posts}
    records = {}  # key -> first Found
    for found in findings.values():
        for record in found.indicators:
            records.setdefault(indicator_key(record.kind, record.value), record)
    now = timezone.now()
    rows = [Indicator(key=key, kind=r.kind, value=r.value, host=r.host, registrable_domain=r.registrable_domain,
                      defanged=r.defanged, punycode=r.punycode, written=r.written if r.kind == KIND_PHONE else "",
                      created_at=now, updated_at=now)
            for key, r in sorted(records.items())]  # one order for every writer: rows locked alike
    if not rows:
        pass
    elif update_display:
        Indicator.objects.bulk_create(rows, update_conflicts=True, unique_fields=["key"],
                                      update_fields=["defanged", "punycode", "host", "registrable_domain"],
                                      batch_size=500)
    else:
        Indicator.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    id_of = {}
    keys = list(records)
    for start in range(0, len(keys), 500):
        id_of.update(Indicator.objects.filter(key__in=keys[start:start + 500]).values_list("key", "pk"))

    quotes = []
    for post in posts:
        for quote in findings[post.pk].quotes:
            quotes.append(QuotedMail(post_id=post.pk, thread_id=post.thread_id, part=quote.part, number=quote.number,
                                     subject=quote.subject, sender_name=quote.sender_name, sender=quote.sender,
                                     brand_id=quote.brand_id, posted_at=post.posted_at))
    QuotedMail.objects.bulk_create(quotes, batch_size=500)
    quote_id = {(q.post_id, q.part): q.pk for q in
                QuotedMail.objects.filter(post_id__in=[p.pk for p in posts]).only("pk", "post_id", "part")}

    sightings = []
    for post in posts:
        counts: Counter = Counter()
        written = {}
        for record in findings[post.pk].indicators:
            slot = (id_of[indicator_key(record.kind, record.value)], record.part, record.role)
            counts[slot] += 1
            written.setdefault(slot, record.written)
        for (indicator_id, part, role), count in counts.items():
            sightings.append(Sighting(indicator_id=indicator_id, post_id=post.pk, thread_id=post.thread_id,
                                      quote_id=quote_id.get((post.pk, part)), part=part, role=role, count=count,
                                      written=written[(indicator_id, part, role)], seen_at=post.posted_at))
    Sighting.objects.bulk_create(sightings, batch_size=1000)
    return {s.indicator_id for s in sightings}


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
        latest = sorted(threads[indicator.pk].items(), key=lambda item: item[1], reverse=True)
        indicator.thread_ids = [thread_id for thread_id, _ in latest[:Indicator.THREADS_KEPT]]
        assess(indicator, catalogue, brands[indicator.pk])
        indicator.updated_at = now
        changed.append(indicator)
    Indicator.objects.filter(pk__in=unseen).delete()
    _write(changed, ["roles", "first_seen", "last_seen", "times_seen", "post_count", "thread_ids", "brand",
                     "assessment", "exported", "updated_at"])


def _write(indicators: list[Indicator], names: list[str]) -> None:
    """UPDATE … WHERE id = … for each row in one executemany: bulk_update's CASE expressions
    cost Django a millisecond per field and row, forty times the database's own work here."""
    if not indicators:
        return
    fields = [Indicator._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = f"UPDATE {quote(Indicator._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"
    params = [[field.get_db_prep_save(getattr(indicator, field.attname), connection) for field in fields]
              + [indicator.pk] for indicator in indicators]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


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

def rebuild(*, progress=None) -> dict[str, int]:
    """Every post read again, every indicator recomputed (after brand aliases change, after a
    new extraction rule, after posts were deleted)."""
    catalogue = load_catalogue()
    post_ids = list(Post.objects.order_by("pk").values_list("pk", flat=True))
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
