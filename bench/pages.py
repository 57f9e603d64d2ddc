#!/usr/bin/env python
"""Page benchmark in-process (issue 8; results in docs/benchmarks.md): what the busy pages cost
in CPU, without a server, a network or wrk in the way.

    export DATABASE_URL=sqlite:///$PWD/var/prof.sqlite3    # or postgres://…
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py fill_corpus --posts 10000 --steps fill,render
    .venv/bin/python bench/pages.py --renders 300
    .venv/bin/python bench/pages.py --pages thread50 --roles anonymous --cache on
    .venv/bin/python bench/pages.py --profile thread50:anonymous:off   # cProfile of one case

It reads a database filled by `fill_corpus` (the thread of 50 posts and the one of 1,000 are
found by their post counts) and asks Django's test client, with DEBUG off and the whole
middleware stack, for each page N times after a warm-up: the home page, the middle volume of
`info`, the thread of 50 posts, the first and last page of the thread of 1,000, as an anonymous
reader, a member and a moderator of every board, with the page cache off and on (members never
get cached pages, so their two columns measure the same thing twice). It prints, per page,
the median and p90 of each request's time in milliseconds, and the median of the CPU time this
process spent on it (steadier on a busy machine; a PostgreSQL server's own work is not in it),
and the floor: a view answering the bytes of the thread page of 50 posts through the same
middleware (bench/http_urls.py), so "thread50 / floor" is the in-process counterpart of
bench/http_load.py's "% of the floor view's throughput" (without the HTTP server's own cost,
which both pay over HTTP).

The cache is whatever the environment says (REDIS_URL, else local memory). The bench users
(`bench-pages-member`, `bench-pages-moderator`) are made once in the database.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAGES = ("home", "volume", "thread50", "thread1000_first", "thread1000_last")
ROLES = ("anonymous", "member", "moderator")
MODES = ("off", "on")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--renders", type=int, default=100, help="timed requests per page, role and mode")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--cache", default="off,on")
    parser.add_argument("--profile", metavar="PAGE:ROLE:MODE", help="cProfile --renders requests of one page instead")
    args = parser.parse_args()
    setup()

    from django.conf import settings

    targets, clients = prepare()
    if args.profile:
        page, role, mode = args.profile.split(":")
        settings.DAIOU_PAGE_CACHE = mode == "on"
        profile(clients[role], targets[page], args.renders, args.warmup)
        return
    print(f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, cache {settings.CACHES['default']['BACKEND']}"
          f", {args.renders} renders each, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    floor = timed(clients["anonymous"], "/bench/bytes/", args.renders, args.warmup)
    print(f"{'floor (same bytes as thread50)':45}  {line(floor)}")
    results = {}
    for mode in args.cache.split(","):
        settings.DAIOU_PAGE_CACHE = mode == "on"
        for page in args.pages.split(","):
            for role in args.roles.split(","):
                result = results[page, role, mode] = timed(clients[role], targets[page], args.renders, args.warmup)
                print(f"{page:18} {role:10} cache {mode:3}  {line(result)}", flush=True)
    for mode in args.cache.split(","):
        if ("thread50", "anonymous", mode) in results:
            share = floor[2] / results["thread50", "anonymous", mode][2]
            print(f"thread50, anonymous, cache {mode}: {share:.0%} of the floor view's rate (median CPU times)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def setup() -> None:
    # As served: DEBUG off (no query log, cached templates), plain HTTP for the test client.
    os.environ.update({"DEBUG": "0", "DAIOU_HTTPS": "0", "DJANGO_SETTINGS_MODULE": "bench.http_settings"})
    os.environ.setdefault("SECRET_KEY", "bench-pages")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("STATIC_ROOT", str(REPO / "var" / "bench-pages-static"))
    os.environ.setdefault("CACHE_KEY_PREFIX", "bench-pages")  # apart from the site's own pages in Redis
    sys.path.insert(0, str(REPO))
    import django
    from django.core.management import call_command

    django.setup()
    # Pages name static files by their hashed names (the manifest), as in production.
    call_command("collectstatic", interactive=False, verbosity=0)


def prepare() -> tuple[dict, dict]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission
    from django.test import Client

    from bench import http_urls
    from forum.models import Board, Profile, Thread

    info = Board.objects.get(slug="info")
    long_threads = {t.post_count: t for t in Thread.objects.filter(board=info, post_count__in=(50, 1000))}
    if set(long_threads) != {50, 1000}:
        raise SystemExit("no thread of 50 or of 1,000 posts: fill the database with manage.py fill_corpus first")
    volumes = list(info.volumes.order_by("number").values_list("number", flat=True))
    targets = {
        "home": "/", "volume": f"/info/vol/{volumes[len(volumes) // 2]}/",
        "thread50": long_threads[50].get_absolute_url(),
        "thread1000_first": long_threads[1000].get_absolute_url(),
        "thread1000_last": long_threads[1000].get_absolute_url() + "?page=last",
    }
    clients = {"anonymous": Client()}
    page = clients["anonymous"].get(targets["thread50"])
    if page.status_code != 200 or page.content.count(b"<article") != 50:
        raise SystemExit(f"{targets['thread50']}: {page.status_code}, not a page of 50 posts")
    http_urls.PAGE = page.content  # the floor view answers these bytes
    users = get_user_model().objects
    for role in ("member", "moderator"):
        user, made = users.get_or_create(username=f"bench-pages-{role}",
                                         defaults={"email": f"bench-pages-{role}@example.org"})
        if made:
            Profile.objects.create(user=user, display_name=f"bench-pages-{role}")
            user.user_permissions.add(Permission.objects.get(content_type__app_label="limits", codename="established"))
            if role == "moderator":
                user.groups.add(Group.objects.get(name="moderators"))
        clients[role] = Client()
        clients[role].force_login(user)
    return targets, clients


def timed(client, url: str, renders: int, warmup: int) -> tuple[float, float, float]:
    """Median and p90 of the requests' times, median of their CPU times (ms)."""
    for _ in range(warmup):
        check(client.get(url), url)
    times, cpu = [], []
    for _ in range(renders):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        check(response, url)
    return statistics.median(times), statistics.quantiles(times, n=10)[-1], statistics.median(cpu)


def line(result: tuple[float, float, float]) -> str:
    return f"median {result[0]:7.2f} ms  p90 {result[1]:7.2f} ms  CPU median {result[2]:7.2f} ms"


def check(response, url: str) -> None:
    if response.status_code != 200:
        raise SystemExit(f"{url}: {response.status_code}")


def profile(client, url: str, renders: int, warmup: int) -> None:
    for _ in range(warmup):
        check(client.get(url), url)
    profile_calls(lambda: client.get(url), renders)


def profile_calls(call, times: int) -> None:
    """cProfile of `times` calls, printed by cumulative time, then by own time (bench/reply.py too)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(times):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    if os.environ.get("BENCH_PROFILE_CALLERS"):  # who calls a hot function: BENCH_PROFILE_CALLERS=functional.py:276
        stats.print_callers(os.environ["BENCH_PROFILE_CALLERS"])


if __name__ == "__main__":
    main()
