"""The indicators as other tools import them: CSV rows, a STIX 2.1 bundle, JSON for the API.

Read-only. Rows are streamed from the database in chunks, so the whole set can be exported
whatever its size. What is exported (Indicator.exported): indicators seen in a quoted mail in a
role that names the scam (a link, an image source, a sender, a reply-to, a contact phone), not
reviewed as a false positive or legitimate, and not a brand's own domain. STIX adds the senders
a mail claims on a brand's own domain (myinfo@rakuten.co.jp) as observed, forged sender data,
never as an indicator: blocking them would block the brand.
"""
from __future__ import annotations

import csv
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from django.urls import reverse
from django.utils import timezone

from forum.models import Thread

from . import extract
from .models import (
    CLAIMED_SENDER_BITS, ROLE_LABELS, Assessment, Brand, Indicator, Verdict, roles_of,
)

CSV_COLUMNS = ["kind", "value", "defanged", "registrable_domain", "brand", "first_seen", "last_seen", "sightings",
               "thread_urls", "roles", "assessment"]
CHUNK = 2000
# Daiou's own namespace for the ids of STIX domain objects: the same indicator keeps its id
# from one export to the next. Cyber observables use STIX's namespace, as the spec asks.
DAIOU_NAMESPACE = uuid.UUID("5d1f3c55-8a0e-4f7b-9a43-2a9c0b0d6e11")
STIX_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
MAX_NUMBER_OBSERVED = 999_999_999


def stamp(moment: datetime | None) -> str:
    moment = moment or timezone.now()
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ThreadLinks:
    """Absolute URLs (and titles) of the visible threads, loaded once per export."""

    def __init__(self, absolute: Callable[[str], str]):
        self.absolute = absolute
        self.threads = {
            pk: (slug, number, title, created)
            for pk, slug, number, title, created in Thread.objects.filter(hidden=False)
            .values_list("pk", "board__slug", "number", "title", "created_at").iterator(chunk_size=CHUNK)
        }

    def url(self, thread_id: int) -> str | None:
        thread = self.threads.get(thread_id)
        return self.absolute(reverse("thread", args=[thread[0], thread[1]])) if thread else None

    def urls(self, thread_ids) -> list[str]:
        return [url for url in map(self.url, thread_ids) if url]


def _exported_rows():
    return (Indicator.objects.exported().select_related("brand").order_by("pk")
            .only("kind", "key", "value", "defanged", "registrable_domain", "first_seen", "last_seen", "times_seen",
                  "thread_ids", "roles", "assessment", "created_at", "updated_at", "brand__name", "brand__slug",
                  "brand__name_en", "brand__updated_at")
            .iterator(chunk_size=CHUNK))


# --- CSV ---------------------------------------------------------------------------------------

class _Line:
    def write(self, value):
        return value


def csv_lines(absolute: Callable[[str], str]) -> Iterator[str]:
    """One header line, then one line per exported indicator (PhishTank/URLhaus-like dump)."""
    writer = csv.writer(_Line(), lineterminator="\n")
    yield writer.writerow(CSV_COLUMNS)
    links = ThreadLinks(absolute)
    for indicator in _exported_rows():
        yield writer.writerow([
            indicator.kind, indicator.value, indicator.defanged, indicator.registrable_domain,
            indicator.brand.name if indicator.brand else "",
            stamp(indicator.first_seen), stamp(indicator.last_seen), indicator.times_seen,
            " ".join(links.urls(indicator.thread_ids)), " ".join(roles_of(indicator.roles)), indicator.assessment,
        ])


# --- STIX 2.1 --------------------------------------------------------------------------------

def _sdo_id(kind: str, name: str) -> str:
    return f"{kind}--{uuid.uuid5(DAIOU_NAMESPACE, f'{kind}:{name}')}"


def _sco_id(kind: str, contributing: dict) -> str:
    canonical = json.dumps(contributing, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{kind}--{uuid.uuid5(STIX_SCO_NAMESPACE, canonical)}"


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


_SCO_TYPE = {extract.KIND_URL: "url", extract.KIND_DOMAIN: "domain-name", extract.KIND_HOST: "domain-name",
             extract.KIND_EMAIL: "email-addr"}


def _sco_type(indicator: Indicator) -> str | None:
    if indicator.kind == extract.KIND_IP:
        return "ipv6-addr" if ":" in indicator.value else "ipv4-addr"
    return _SCO_TYPE.get(indicator.kind)


def _pattern(indicator: Indicator) -> str:
    sco = _sco_type(indicator)
    if sco == "email-addr" and indicator.claimed_sender_only:
        return f"[email-message:from_ref.value = {_quoted(indicator.value)}]"
    if sco is None:  # phone numbers: STIX 2.1 has no observable for them
        return f"[x-phone-number:value = {_quoted(indicator.value)}]"
    return f"[{sco}:value = {_quoted(indicator.value)}]"


IDENTITY = {
    "type": "identity", "spec_version": "2.1", "id": _sdo_id("identity", "daiou"),
    "created": "2020-09-08T00:00:00.000Z", "modified": "2020-09-08T00:00:00.000Z",
    "name": "Daiou", "identity_class": "organization",
    "description": "Fraud reports quoted as evidence (みんながパソコン大王の情報掲示板を継ぐ)",
}


def _brand_identity(brand: Brand) -> dict:
    return {
        "type": "identity", "spec_version": "2.1", "id": _sdo_id("identity", f"brand:{brand.slug}"),
        "created": stamp(brand.updated_at), "modified": stamp(brand.updated_at), "created_by_ref": IDENTITY["id"],
        "name": brand.name, "identity_class": "organization",
        "description": f"Impersonated by scams quoted on Daiou ({brand.name_en or brand.name})",
    }


def _describe(indicator: Indicator) -> str:
    roles = ", ".join(str(ROLE_LABELS[role]) for role in roles_of(indicator.roles))
    parts = [f"{indicator.kind} {indicator.defanged}", f"seen {indicator.times_seen} times as: {roles}"]
    if indicator.assessment == Assessment.LOOKALIKE and indicator.brand:
        parts.append(f"look-alike of {indicator.brand.name}")
    elif indicator.brand:
        parts.append(f"in mails impersonating {indicator.brand.name}")
    if indicator.claimed_sender_only:
        parts.append("a sender the mail claims: From can be forged")
    return "; ".join(parts)


def _indicator_objects(indicator: Indicator, absolute) -> tuple[list[dict], list[str]]:
    """The STIX objects for one exported indicator, and the ids a report should list."""
    created, modified = stamp(indicator.created_at), stamp(max(indicator.updated_at, indicator.created_at))
    page = {"source_name": "Daiou", "url": absolute(indicator.get_absolute_url())}
    labels = [indicator.assessment] + (["claimed-sender"] if indicator.claimed_sender_only else [])
    stix_indicator = {
        "type": "indicator", "spec_version": "2.1", "id": _sdo_id("indicator", indicator.key),
        "created": created, "modified": modified, "created_by_ref": IDENTITY["id"],
        "name": indicator.defanged, "description": _describe(indicator),
        "indicator_types": ["anomalous-activity" if indicator.claimed_sender_only else "malicious-activity"],
        "pattern": _pattern(indicator), "pattern_type": "stix", "pattern_version": "2.1",
        "valid_from": stamp(indicator.first_seen), "labels": labels, "external_references": [page],
    }
    objects = [stix_indicator]
    listed = [stix_indicator["id"]]
    sco_type = _sco_type(indicator)
    if sco_type is not None:
        sco = {"type": sco_type, "spec_version": "2.1", "id": _sco_id(sco_type, {"value": indicator.value}),
               "value": indicator.value}
        observed = _observed(indicator, [sco["id"]], labels)
        objects += [sco, observed, _relationship(stix_indicator, "based-on", observed["id"], created, modified)]
        listed.append(observed["id"])
    if indicator.brand:
        objects.append(_relationship(stix_indicator, "related-to", _sdo_id("identity", f"brand:{indicator.brand.slug}"),
                                     created, modified, f"impersonates {indicator.brand.name}"))
    return objects, listed


def _observed(indicator: Indicator, refs: list[str], labels: list[str]) -> dict:
    return {
        "type": "observed-data", "spec_version": "2.1", "id": _sdo_id("observed-data", indicator.key),
        "created": stamp(indicator.created_at), "modified": stamp(max(indicator.updated_at, indicator.created_at)),
        "created_by_ref": IDENTITY["id"], "first_observed": stamp(indicator.first_seen),
        "last_observed": stamp(indicator.last_seen), "number_observed": max(1, min(indicator.times_seen,
                                                                                   MAX_NUMBER_OBSERVED)),
        "object_refs": refs, "labels": labels,
    }


def _relationship(source: dict, kind: str, target: str, created: str, modified: str, description: str = "") -> dict:
    relationship = {
        "type": "relationship", "spec_version": "2.1", "id": _sdo_id("relationship", f"{source['id']}|{kind}|{target}"),
        "created": created, "modified": modified, "created_by_ref": IDENTITY["id"],
        "relationship_type": kind, "source_ref": source["id"], "target_ref": target,
    }
    if description:
        relationship["description"] = description
    return relationship


def _forged_sender_objects(indicator: Indicator) -> tuple[list[dict], list[str]]:
    """A sender claimed on a brand's own domain: observed forged sender data, no indicator."""
    address = {"type": "email-addr", "spec_version": "2.1", "id": _sco_id("email-addr", {"value": indicator.value}),
               "value": indicator.value}
    message = {"type": "email-message", "spec_version": "2.1",
               "id": _sco_id("email-message", {"from_ref": address["id"]}), "is_multipart": False,
               "from_ref": address["id"]}
    observed = _observed(indicator, [message["id"], address["id"]], ["forged-sender", "claimed-sender"])
    return [address, message, observed], [observed["id"]]


def _forged_senders():
    return (Indicator.objects.seen().filter(kind=extract.KIND_EMAIL, assessment=Assessment.LEGITIMATE,
                                            verdict=Verdict.NONE)
            .filter(roles__gt=0).select_related("brand").order_by("pk").iterator(chunk_size=CHUNK))


def stix_chunks(absolute: Callable[[str], str], bundle_token: str) -> Iterator[str]:
    """The bundle as JSON text, object by object."""
    links = ThreadLinks(absolute)
    yield json.dumps({"type": "bundle", "id": f"bundle--{uuid.uuid5(DAIOU_NAMESPACE, bundle_token)}"})[:-1]
    yield ', "objects": ['
    yield json.dumps(IDENTITY, ensure_ascii=False)
    brands: dict[int, Brand] = {}
    per_thread: dict[int, list[str]] = defaultdict(list)

    def emit(indicator, objects, listed):
        if indicator.brand_id and indicator.brand_id not in brands:
            brands[indicator.brand_id] = indicator.brand
        for thread_id in indicator.thread_ids:
            if thread_id in links.threads:
                per_thread[thread_id] += listed
        return "".join(", " + json.dumps(o, ensure_ascii=False) for o in objects)

    for indicator in _exported_rows():
        yield emit(indicator, *_indicator_objects(indicator, absolute))
    for indicator in _forged_senders():
        if indicator.roles & CLAIMED_SENDER_BITS:
            yield emit(indicator, *_forged_sender_objects(indicator))
    for brand in brands.values():
        yield ", " + json.dumps(_brand_identity(brand), ensure_ascii=False)
    for thread_id, refs in per_thread.items():
        slug, number, title, created = links.threads[thread_id]
        report = {
            "type": "report", "spec_version": "2.1", "id": _sdo_id("report", f"thread:{thread_id}"),
            "created": stamp(created), "modified": stamp(created), "created_by_ref": IDENTITY["id"],
            "name": f"NO.{number} {title}", "report_types": ["threat-report"], "published": stamp(created),
            "object_refs": list(dict.fromkeys(refs)),
            "external_references": [{"source_name": "Daiou", "url": links.url(thread_id)}],
        }
        yield ", " + json.dumps(report, ensure_ascii=False)
    yield "]}"
