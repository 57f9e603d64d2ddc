"""Lookup latency with many indicators and sightings (docs/indicators.md has the numbers).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/daiou_bench_indicators \\
        .venv/bin/python bench/indicators_lookup.py --indicators 1000000 --sightings 5000000
    DATABASE_URL=sqlite:///var/bench-indicators.sqlite3 \\
        .venv/bin/python bench/indicators_lookup.py --indicators 1000000 --sightings 5000000

It refuses a database that holds anything but its own rows (it adds rows in bulk, straight
into the tables, and leaves them for the next run: a second run at the same scale only looks
up). PostgreSQL databases named in DATABASE_URL are created when missing. Then it times N
lookups of values that exist (URLs fanged and defanged, hosts, registrable domains, addresses,
phone numbers) and of values that do not, two ways: the lookup itself (parse, three indexed
queries, the threads: what a cache miss costs) and the whole page through Django's test client
with a cold cache. It prints p50, p90, p99 and the maximum in milliseconds, and stops the
lookups after --max-seconds.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-indicators.sqlite3'}")
os.environ.setdefault("DEBUG", "1")

TLDS = ["com", "net", "jp", "co.jp", "ne.jp", "xyz", "top", "baby", "cn", "shop", "info", "online"]
WORDS = ["rakuten", "amazon", "docomo", "secure", "login", "account", "verify", "card", "update", "jp", "mail",
         "support", "service", "info", "pay", "bank", "smbc", "jcb", "apple", "id", "mypage", "center", "help"]
BENCH_MARK = "bench-indicators"  # the title of the thread that marks the database as the benchmark's


def ensure_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    import psycopg
    from urllib.parse import urlparse

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def rand_label(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "-".join(rng.sample(WORDS, rng.randint(1, 3)))
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randint(5, 12)))


def make_values(n: int, rng: random.Random):
    """(kind, key, value, host, registrable domain, defanged) rows: 40 % URLs, 20 % hosts, 10 %
    domains, 20 % addresses, 5 % IP addresses, 5 % phones."""
    from incidents.extract import indicator_key

    domains = [f"{rand_label(rng)}{i}.{rng.choice(TLDS)}" for i in range(max(1, n // 8))]
    seen = set()
    rows = []
    i = 0
    while len(rows) < n:
        i += 1
        domain = domains[i % len(domains)]
        roll = i % 20
        if roll < 8:
            host = f"{rand_label(rng)}.{domain}"
            kind, value = "url", f"https://{host}/{rand_label(rng)}/{i}?id={rng.randrange(10**6)}"
        elif roll < 12:
            host = f"{rand_label(rng)}{i}.{domain}"
            kind, value = "host", host
        elif roll < 14:
            host = domain
            kind, value = "domain", domain
        elif roll < 18:
            host = domain
            kind, value = "email", f"{rand_label(rng)}{i}@{domain}"
        elif roll < 19:
            host = domain = ""
            kind, value = "ip", f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
            host = value
        else:
            host = domain = ""
            kind, value = "phone", f"+8190{rng.randrange(10**8):08d}"
        key = indicator_key(kind, value)
        if key in seen:
            continue
        seen.add(key)
        defanged = value.replace("https://", "hxxps://").replace(".", "[.]").replace("@", "[@]")
        rows.append((kind, key, value, host, domain if kind != "ip" else "", defanged))
    return rows


def generate(indicators: int, sightings: int, seed: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from forum.models import Board, Post, Thread, Volume
    from incidents.models import Indicator, Sighting

    rng = random.Random(seed)
    started = time.perf_counter()
    board = Board.objects.get(slug="info")
    volume, _ = Volume.objects.get_or_create(board=board, number=900_000, defaults={"imported": True})
    thread_count, post_count = 2_000, 20_000
    base = datetime(2020, 1, 1, tzinfo=UTC)
    Thread.objects.bulk_create([
        Thread(board=board, volume=volume, number=900_000 + i, title=BENCH_MARK if i == 0 else f"スレッド {i}",
               originator_name="bench", started_on=(base + timedelta(hours=i)).date(), imported=True)
        for i in range(thread_count)], batch_size=2000)
    thread_ids = list(Thread.objects.filter(volume=volume).order_by("pk").values_list("pk", flat=True))
    Post.objects.bulk_create([
        Post(thread_id=thread_ids[i % thread_count], position=i // thread_count + 1, author_name="bench",
             posted_at=base + timedelta(minutes=7 * i), source="", html="", format=Post.Format.ARCHIVE)
        for i in range(post_count)], batch_size=2000)
    posts = list(Post.objects.filter(thread__volume=volume).order_by("pk").values_list("pk", "thread_id", "posted_at"))
    print(f"threads and posts: {time.perf_counter() - started:.1f} s", flush=True)

    values = make_values(indicators, rng)
    now = timezone.now()
    per_indicator = max(1, sightings // indicators)
    extra = sightings - per_indicator * indicators  # the first `extra` indicators get one more
    table = Indicator._meta.db_table
    columns = ["kind", "key", "value", "host", "registrable_domain", "defanged", "punycode", "written", "brand_id",
               "assessment", "roles", "first_seen", "last_seen", "times_seen", "post_count", "thread_ids", "exported",
               "verdict", "review_reason", "created_at", "updated_at"]
    rows = []
    for j, (kind, key, value, host, domain, defanged) in enumerate(values):
        count = per_indicator + (1 if j < extra else 0)
        seen_posts = [posts[(j + r * 7919) % len(posts)] for r in range(count)]
        first = min(p[2] for p in seen_posts)
        last = max(p[2] for p in seen_posts)
        threads_of = list(dict.fromkeys(p[1] for p in seen_posts))[:20]
        rows.append([kind, key, value, host, domain, defanged, "", "", None, "suspicious", 1, first, last, count,
                     count, threads_of, True, "", "", now, now])
    _insert(connection, table, columns, rows, json_columns={"thread_ids"})
    print(f"{len(rows)} indicators: {time.perf_counter() - started:.1f} s", flush=True)

    ids = list(Indicator.objects.order_by("pk").values_list("pk", flat=True))
    table = Sighting._meta.db_table
    columns = ["indicator_id", "post_id", "thread_id", "quote_id", "part", "role", "count", "written", "seen_at"]
    batch = []
    written = 0
    for j, indicator_id in enumerate(ids):
        for r in range(per_indicator + (1 if j < extra else 0)):
            post_id, thread_id, posted_at = posts[(j + r * 7919) % len(posts)]
            batch.append([indicator_id, post_id, thread_id, None, 1, "body", 1, "", posted_at])
        if len(batch) >= 200_000:
            _insert(connection, table, columns, batch)
            written += len(batch)
            batch = []
    _insert(connection, table, columns, batch)
    written += len(batch)
    print(f"{written} sightings: {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with transaction.atomic():
        from incidents.indexing import note_change

        note_change()


def _insert(connection, table: str, columns: list[str], rows: list[list], json_columns=frozenset()) -> None:
    import json

    from django.db import transaction

    if not rows:
        return
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    json_positions = [i for i, c in enumerate(columns) if c in json_columns]
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    for i in json_positions:
                        row[i] = json.dumps(row[i])
                    copy.write_row(row)
        else:
            for row in rows:
                for i in json_positions:
                    row[i] = json.dumps(row[i])
                for i, value in enumerate(row):
                    if isinstance(value, datetime):  # stored as Django stores them (UTC text)
                        row[i] = connection.ops.adapt_datetimefield_value(value)
            marks = ", ".join(["%s"] * len(columns))
            for start in range(0, len(rows), 50_000):
                cursor.executemany(f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({marks})",
                                   rows[start:start + 50_000])


def queries(n: int, rng: random.Random) -> list[str]:
    """Half of the lookups find something, written the ways readers paste it; half find nothing."""
    from incidents.models import Indicator

    top = Indicator.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    picked = []
    while len(picked) < n // 2:
        pks = [rng.randrange(1, top + 1) for _ in range(200)]
        picked += list(Indicator.objects.filter(pk__in=pks).values_list("kind", "value", "registrable_domain"))
    out = []
    for kind, value, domain in picked[: n // 2]:
        if kind == "url" and rng.random() < 0.5:
            value = value.replace("https://", "hxxps://").replace(".", "[.]")
        elif kind == "email" and rng.random() < 0.5:
            value = value.replace("@", "[@]")
        elif kind == "phone":
            value = "0" + value[3:5] + "-" + value[5:9] + "-" + value[9:]
        elif kind == "host" and rng.random() < 0.3:
            value = domain  # a registrable domain: exact, same host and same domain lists
        out.append(value)
    for i in range(n - len(out)):
        out.append(rng.choice([f"https://nothing{i}.example.com/x", f"nobody{i}@nowhere.jp", f"090-0000-{i % 10000:04d}",
                               f"missing{i}.xyz"]))
    rng.shuffle(out)
    return out


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q):
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return (f"n={len(ordered)} p50={at(.50):.2f} ms p90={at(.90):.2f} ms p99={at(.99):.2f} ms "
            f"max={ordered[-1] * 1000:.2f} ms mean={statistics.mean(ordered) * 1000:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--indicators", type=int, default=1_000_000)
    parser.add_argument("--sightings", type=int, default=5_000_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--max-seconds", type=float, default=300, help="stop the lookups after this long")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.sightings < args.indicators:
        parser.error("every indicator has a sighting: --sightings must be at least --indicators")

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from forum.models import Post, Thread
    from incidents import api
    from incidents.lookup import parse_query
    from incidents.models import Indicator, Sighting

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    ours = Thread.objects.filter(title=BENCH_MARK).exists()
    if not ours and (Post.objects.exists() or Indicator.objects.exists()):
        sys.exit("this database holds posts or indicators that are not the benchmark's: name an empty one")
    have = (Indicator.objects.count(), Sighting.objects.count()) if ours else (0, 0)
    if have != (args.indicators, args.sightings):
        if ours:
            sys.exit(f"this database holds {have[0]} indicators and {have[1]} sightings from another run: "
                     "name another database, or drop this one")
        generate(args.indicators, args.sightings, args.seed)
    print(f"indicators: {Indicator.objects.count()}, sightings: {Sighting.objects.count()}", flush=True)

    rng = random.Random(args.seed)
    texts = queries(args.lookups, rng)

    def absolute(path):
        return "http://bench" + path

    for text in texts[:20]:  # warm up: regexes compiled, the suffix list read, the connection open
        api.lookup_data(parse_query(text), absolute)
        client_warm = Client(HTTP_HOST="bench").get("/indicators/", {"q": text})
        assert client_warm.status_code == 200
    lookups, pages, found = [], [], 0
    deadline = time.perf_counter() + args.max_seconds
    for text in texts:  # the lookup: parse, exact, same host, same domain, threads
        start = time.perf_counter()
        query = parse_query(text)
        result = Indicator.objects.matching(query) if query.understood else {}
        rows = [row for part in result.values() for row in part]
        threads = api.thread_refs(t for row in rows for t in row.thread_ids)
        [api.indicator_data(row, threads, absolute) for row in rows]
        lookups.append(time.perf_counter() - start)
        found += bool(result.get("exact"))
        if time.perf_counter() > deadline:
            break
    client = Client(HTTP_HOST="bench")
    for text in texts[: len(lookups)]:  # the whole page, cache cold
        cache.clear()
        start = time.perf_counter()
        response = client.get("/indicators/", {"q": text})
        pages.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        if time.perf_counter() > deadline + args.max_seconds:
            break
    print(f"lookups with an exact match: {found} of {len(lookups)}")
    print(f"lookup: {percentiles(lookups)}")
    print(f"page:   {percentiles(pages)}")


if __name__ == "__main__":
    main()
