#!/usr/bin/env python
"""Search benchmark (ISSUE 7; results in docs/search.md).

    .venv/bin/python bench/search.py --posts 1000000

For each database (SQLite file var/bench-search.sqlite3, PostgreSQL database daiou_bench,
which it creates) it
1. fills the forum with synthetic posts in the seed's shapes (forum.corpus_fill, shared with
   `manage.py fill_corpus` and bench/http_load.py: Japanese bodies, quoted phishing mails with
   URLs, news quotes; two boards, 10 posts per thread, dated evenly from 2006 to 2026),
   inserting rows directly in bulk rather than through the importer (post HTML is left
   empty: search never reads it);
2. indexes them with forum.search_index.rebuild (resumable: it goes on after the highest
   post indexed);
3. times the results page (GET /search/?q=…, through Django's test client: the view, its
   queries, snippets and the template) for random 1-, 2-, 3- and 6-character substrings of
   random posts, and a deep page (the page reached after following "More results" several
   times) for some of them; prints p50/p99 and the index size.

Everything is reused when it is already there, so a stopped run goes on where it was
(`--fill-budget SECONDS` stops filling after that long and benchmarks what exists). Each
database runs in its own process (Django's settings are per process).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
LENGTHS = (1, 2, 3, 6)
NEXT_LINK = re.compile(r'<a href="([^"]+)" rel="next">')
COUNT = re.compile(r'class="search-count">([^<]*)<')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000, help="posts in the benchmark database")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--sqlite-path", default=str(REPO / "var" / "bench-search.sqlite3"))
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432/daiou_bench")
    parser.add_argument("--queries", type=int, default=200, help="queries per length")
    parser.add_argument("--deep-queries", type=int, default=40, help="queries per length also timed on a deep page")
    parser.add_argument("--deep-page", type=int, default=10, help="which page counts as deep")
    parser.add_argument("--fill-budget", type=float, default=None, help="stop filling after this many seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", default="fill,index,measure",
                        help="any of fill, index, measure, and trgm (PostgreSQL: pg_trgm measured for comparison)")
    parser.add_argument("--worker", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    for name in [d.strip() for d in args.databases.split(",") if d.strip()]:
        url = f"sqlite:///{args.sqlite_path}" if name == "sqlite" else args.postgres_url
        env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "SECRET_KEY": "bench-search",
               "ALLOWED_HOSTS": "testserver", "DAIOU_HTTPS": "0", "DAIOU_HASHED_STATIC": "0",
               "DB_POOL_MIN": "1", "DB_POOL_MAX": "2", "DJANGO_SETTINGS_MODULE": "config.settings",
               # One client asks thousands of searches: the per-address rate limit would refuse them.
               "DAIOU_RATE_SEARCH": "1000000/60"}
        if name == "postgres":
            _create_postgres_database(url)
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--worker", name], env=env, check=True, cwd=REPO)


def _create_postgres_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def say(*parts) -> None:
    print(*parts, flush=True)


def worker(args) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    say(f"== {args.worker}: {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    steps = set(args.steps.split(","))
    if "fill" in steps:
        started = time.monotonic()
        fill(args.posts, args.seed, budget=args.fill_budget)
        say(f"filled in {time.monotonic() - started:.0f} s")
    if "index" in steps:
        started = time.monotonic()
        index()
        say(f"indexed in {time.monotonic() - started:.0f} s")
    if "measure" in steps:
        report = {"database": args.worker, "machine": machine(), **sizes(), **measure(args)}
        say(json.dumps(report, ensure_ascii=False, indent=1))
    if "trgm" in steps and args.worker == "postgres":
        say(json.dumps(compare_trigrams(args), ensure_ascii=False, indent=1))


# ---- filling ---------------------------------------------------------------------------------


def fill(target: int, seed: int, budget: float | None) -> None:
    """The shared bulk filler (forum.corpus_fill, `manage.py fill_corpus`), without the long
    threads of the HTTP benchmark: a database filled by an earlier run goes on identically."""
    from forum import corpus_fill

    def progress(done, wanted):
        say(f"  {done}/{wanted} posts")

    corpus_fill.fill(target, seed=seed, budget=budget, progress=progress)


def index() -> None:
    from forum import search_index

    def progress(done, last_id):
        if done % 50_000 < 5000:
            say(f"  indexed {done} posts (up to post {last_id})")

    from django.db import connection

    search_index.rebuild(resume=True, batch=5000, progress=progress)
    search_index.optimize()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does some time after a bulk load


# ---- measuring -------------------------------------------------------------------------------


def machine() -> dict:
    import platform

    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            version = "SQLite " + cursor.execute("SELECT sqlite_version()").fetchone()[0]
        else:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0].split(" on ")[0]
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "database_version": version}


def sizes() -> dict:
    from django.db import connection

    from forum.models import Post

    mb = 1024 * 1024
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name")
            by_name = dict(cursor.fetchall())
            fts = sum(v for k, v in by_name.items() if k.startswith("forum_searchindex"))
            docs = sum(v for k, v in by_name.items() if "searchdocument" in k)
            posts = sum(v for k, v in by_name.items() if k.startswith("forum_post"))
            out = {"fts5_index_mb": round(fts / mb), "documents_mb": round(docs / mb)}
        else:
            cursor.execute("SELECT pg_relation_size('forum_searchdocument_tsv'), "
                           "pg_total_relation_size('forum_searchdocument'), pg_total_relation_size('forum_post')")
            gin, docs, posts = cursor.fetchone()
            out = {"gin_index_mb": round(gin / mb), "documents_with_tsv_and_toast_mb": round((docs - gin) / mb)}
    return {"posts": Post.objects.count(), **out, "posts_table_mb": round(posts / mb)}


def sample_queries(count: int, seed: int) -> dict[int, list[str]]:
    """Random substrings (no spaces) of the folded text of random posts: what is common in
    the archive is asked often, as real queries are, and rare strings (URLs, numbers) too."""
    from forum import search_text as st
    from forum.models import SearchDocument

    rng = random.Random(seed)
    top = SearchDocument.objects.order_by("-post_id").values_list("post_id", flat=True).first()
    queries: dict[int, list[str]] = {n: [] for n in LENGTHS}
    while any(len(q) < count for q in queries.values()):
        ids = [rng.randint(1, top) for _ in range(200)]
        for head, body in SearchDocument.objects.filter(post_id__in=ids).values_list("head", "body"):
            words = [w for part in (head + st.FIELD_SEPARATOR + body).split(st.FIELD_SEPARATOR) for w in part.split()]
            for n in LENGTHS:
                fitting = [w for w in words if len(w) >= n]
                if fitting and len(queries[n]) < count:
                    word = rng.choice(fitting)
                    start = rng.randint(0, len(word) - n)
                    queries[n].append(word[start:start + n])
    return queries


def measure(args) -> dict:
    from django.test import Client

    from forum import search
    from forum import search_text as st

    client = Client()
    queries = sample_queries(args.queries, args.seed)
    client.get("/search/?" + urlencode({"q": "warm"}))
    results = {}
    for n in LENGTHS:
        first, deep, counts, core = [], [], [], []
        for i, query in enumerate(queries[n]):
            url = "/search/?" + urlencode({"q": query})
            started = time.perf_counter()
            response = client.get(url)
            first.append((time.perf_counter() - started) * 1000)
            wanted = search.Search(terms=st.parse_query(query).terms)
            started = time.perf_counter()
            search.run(wanted)  # the database's part: hits, count, the page's posts
            core.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code}")
            counts.append(_shown_count(response))
            if i < args.deep_queries:
                deep_ms = _deep_page(client, response, args.deep_page)
                if deep_ms is not None:
                    deep.append(deep_ms)
        results[f"{n}_char"] = {
            "queries": len(first), "p50_ms": _pct(first, 50), "p99_ms": _pct(first, 99), "max_ms": round(max(first), 1),
            "search_only": {"p50_ms": _pct(core, 50), "p99_ms": _pct(core, 99)},
            "hits_shown_as": _commonest(counts),
            "deep_page": {"page": args.deep_page, "timed": len(deep), "p50_ms": _pct(deep, 50),
                          "p99_ms": _pct(deep, 99)} if deep else None,
            "examples": queries[n][:8],
        }
        say(f"  {n}-char: p50 {results[f'{n}_char']['p50_ms']} ms, p99 {results[f'{n}_char']['p99_ms']} ms")
    return {"results": results}


def compare_trigrams(args) -> dict:
    """The alternative measured for PostgreSQL: pg_trgm's GIN index over the same folded text
    (a copy of it in `bench_trgm`, made once), asked for the newest page of hits with LIKE."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute("SELECT to_regclass('bench_trgm') IS NULL")
        if cursor.fetchone()[0]:
            say("  making bench_trgm and its trigram index")
            started = time.monotonic()
            cursor.execute("CREATE TABLE bench_trgm AS SELECT sort_key, head || chr(31) || body AS folded "
                           "FROM forum_searchdocument")
            cursor.execute("ALTER TABLE bench_trgm ADD PRIMARY KEY (sort_key)")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute("CREATE INDEX bench_trgm_folded ON bench_trgm USING gin (folded gin_trgm_ops)")
            cursor.execute("VACUUM ANALYZE bench_trgm")
            say(f"  made in {time.monotonic() - started:.0f} s")
        cursor.execute("SELECT pg_relation_size('bench_trgm_folded')")
        size = cursor.fetchone()[0]
        cursor.execute("SET statement_timeout = '20s'")
        queries = sample_queries(min(args.queries, 50), args.seed)
        out = {"trigram_gin_index_mb": round(size / 1024 / 1024)}
        for n in LENGTHS:
            times = []
            for query in queries[n]:
                pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                started = time.perf_counter()
                try:
                    cursor.execute("SELECT sort_key FROM bench_trgm WHERE folded LIKE %s ORDER BY sort_key DESC LIMIT 21",
                                   [pattern])
                    cursor.fetchall()
                    times.append((time.perf_counter() - started) * 1000)
                except Exception:  # the statement timeout (autocommit: nothing to roll back)
                    times.append(20_000.0)
            out[f"{n}_char"] = {"queries": len(times), "p50_ms": _pct(times, 50), "p99_ms": _pct(times, 99)}
            say(f"  trigram {n}-char: p50 {out[f'{n}_char']['p50_ms']} ms, p99 {out[f'{n}_char']['p99_ms']} ms")
        cursor.execute("RESET statement_timeout")
    return {"pg_trgm": out}


def _deep_page(client, response, page: int) -> float | None:
    """Follow "More results" to the given page; the time of the last request."""
    elapsed = None
    for _ in range(page - 1):
        found = NEXT_LINK.search(response.content.decode())
        next_url = html.unescape(found[1]) if found else None
        if not next_url:
            return None
        started = time.perf_counter()
        response = client.get(next_url)
        elapsed = (time.perf_counter() - started) * 1000
    return elapsed


def _commonest(counts: list[str]) -> list[tuple[str, int]]:
    from collections import Counter

    return Counter(counts).most_common(3)


def _shown_count(response) -> str:
    found = COUNT.search(response.content.decode())
    return found[1].strip() if found else "?"


def _pct(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))], 1)


if __name__ == "__main__":
    main()
