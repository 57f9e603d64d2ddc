"""Answers as plain data (dicts and lists): the lookup and a thread with what it quotes.

The HTML pages and the JSON API render the same data; `cached` keeps it under a key that
carries the change token (incidents.indexing.note_change), so it never outlives the rows.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.core.cache import cache
from django.urls import reverse

from forum.models import Post, Thread

from .exports import stamp
from .indexing import current_token
from .lookup import LookupQuery
from .models import KIND_LABELS, ROLE_LABELS, Indicator, QuotedMail, Sighting, roles_of

CACHE_SECONDS = 600


def cached(parts: Iterable[object], compute: Callable[[], object], token: str | None = None):
    token = token or current_token()
    raw = "\x00".join(map(str, (*parts, token)))
    key = "incidents:" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


def thread_refs(thread_ids: Iterable[int]) -> dict[int, dict]:
    """Visible threads by id: board, number, title and path."""
    ids = set(thread_ids)
    if not ids:
        return {}
    return {
        pk: {"board": slug, "number": number, "title": title, "path": reverse("thread", args=[slug, number])}
        for pk, slug, number, title in Thread.objects.filter(pk__in=ids, hidden=False)
        .values_list("pk", "board__slug", "number", "title")
    }


def indicator_path(pk: int) -> str:
    # reverse() costs more than the lookup's queries when a list has a hundred rows.
    return _indicator_path_prefix() + f"{pk}/"


@lru_cache(maxsize=1)
def _indicator_path_prefix() -> str:
    return reverse("incidents:indicators")


def indicator_data(indicator: Indicator, threads: dict[int, dict], absolute: Callable[[str], str]) -> dict:
    brand = indicator.brand
    return {
        "id": indicator.pk,
        "kind": indicator.kind,
        "kind_label": str(KIND_LABELS.get(indicator.kind, indicator.kind)),
        "value": indicator.value,
        "defanged": indicator.defanged,
        "punycode": indicator.punycode,
        "registrable_domain": indicator.registrable_domain,
        "brand": {"name": brand.name, "slug": brand.slug} if brand else None,
        "assessment": indicator.assessment,
        "verdict": indicator.verdict,
        "exported": indicator.exported,
        "roles": roles_of(indicator.roles),
        "role_labels": [str(ROLE_LABELS[role]) for role in roles_of(indicator.roles)],
        "claimed_sender_only": indicator.claimed_sender_only,
        "first_seen": stamp(indicator.first_seen) if indicator.first_seen else None,
        "last_seen": stamp(indicator.last_seen) if indicator.last_seen else None,
        "times_seen": indicator.times_seen,
        "post_count": indicator.post_count,
        "url": absolute(indicator_path(indicator.pk)),
        "threads": [{**threads[t], "url": absolute(threads[t]["path"])} for t in indicator.thread_ids if t in threads],
    }


def lookup_data(query: LookupQuery, absolute: Callable[[str], str]) -> dict:
    """The lookup's answer: exact matches, same host, same registrable domain."""
    if not query.understood:
        return {"query": query.text, "understood": False, "exact": [], "same_host": [], "same_domain": []}

    def compute():
        found = Indicator.objects.matching(query)
        threads = thread_refs(t for rows in found.values() for row in rows for t in row.thread_ids)
        return {
            "query": query.text, "understood": True, "kind": query.kind, "shown": query.shown, "host": query.host,
            "registrable_domain": query.registrable_domain,
            **{name: [indicator_data(row, threads, absolute) for row in rows] for name, rows in found.items()},
        }

    return cached(("lookup", absolute("/"), query.kind, *query.keys, query.host, query.registrable_domain), compute)


def thread_data(thread: Thread, *, moderator: bool, absolute: Callable[[str], str]) -> dict:
    """A thread, its posts, their quoted mails and indicators (hidden posts as placeholders)."""

    def compute():
        # Posts waiting for approval are not published yet (moderators' answers keep them).
        visible = thread.posts.all() if moderator else thread.posts.filter(held=False)
        posts = list(visible.order_by("position").only(
            "pk", "position", "author_name", "handle", "posted_at", "subtitle", "hidden", "format", "edited_at"))
        quotes = {}
        for quote in QuotedMail.objects.filter(thread=thread).select_related("brand").order_by("post_id", "part"):
            quotes.setdefault(quote.post_id, []).append(quote)
        sightings = {}
        for sighting in (Sighting.objects.filter(thread=thread).select_related("indicator")
                         .only("post_id", "part", "role", "count", "indicator__kind", "indicator__value",
                               "indicator__defanged", "indicator__assessment", "indicator__verdict",
                               "indicator__exported", "indicator__registrable_domain")
                         .order_by("post_id", "part", "indicator_id", "role")):
            sightings.setdefault((sighting.post_id, sighting.part), []).append(sighting)
        return {
            "board": thread.board.slug, "number": thread.number, "title": thread.title,
            "originator": thread.originator_name, "started_on": thread.started_on.isoformat(),
            "url": absolute(thread.get_absolute_url()),
            "posts": [_post_data(post, quotes.get(post.pk, []), sightings, moderator, absolute, thread)
                      for post in posts],
        }

    return cached(("thread", absolute("/"), thread.pk, thread.version, moderator), compute)


def _post_data(post: Post, quotes, sightings, moderator: bool, absolute, thread: Thread) -> dict:
    from forum.views import post_url

    data = {"position": post.position, "url": absolute(post_url(thread, post.position)), "hidden": post.hidden}
    if post.hidden and not moderator:
        return data
    data.update({
        "author": post.author_name, "handle": post.handle, "posted_at": stamp(post.posted_at),
        "subtitle": post.subtitle, "format": post.format,
        "indicators": [_sighting_data(s) for s in sightings.get((post.pk, 0), [])],
        "quotes": [{
            "part": quote.part, "number": quote.number, "subject": quote.subject, "sender_name": quote.sender_name,
            "sender": quote.sender,
            "brand": {"name": quote.brand.name, "slug": quote.brand.slug} if quote.brand else None,
            "indicators": [_sighting_data(s) for s in sightings.get((post.pk, quote.part), [])],
        } for quote in quotes],
    })
    return data


def _sighting_data(sighting: Sighting) -> dict:
    indicator = sighting.indicator
    return {
        "kind": indicator.kind, "value": indicator.value, "defanged": indicator.defanged,
        "registrable_domain": indicator.registrable_domain, "role": sighting.role, "count": sighting.count,
        "assessment": indicator.assessment, "verdict": indicator.verdict, "exported": indicator.exported,
        "indicator": reverse("incidents:indicator", args=[sighting.indicator_id]),
    }
