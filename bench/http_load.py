#!/usr/bin/env python
"""HTTP benchmark (issue 8; results in docs/benchmarks.md): Daiou as readers meet it, through
the production server on 127.0.0.1, driven by wrk (Debian: `apt-get install -y wrk`).

    .venv/bin/python bench/http_load.py --posts 10000 --duration 10
    .venv/bin/python bench/http_load.py --posts 1000000 --databases postgres --cache on
    .venv/bin/python bench/http_load.py --report        # the tables into docs/benchmarks.md

For each number of posts and each database (SQLite var/bench-http-<posts>.sqlite3, PostgreSQL
daiou_http_<posts>, which it creates) it
1. fills the database with `manage.py fill_corpus --posts N` (the shared generator: rows in
   bulk, then HTML, indicators and the search index; resumable, so a filled database is
   reused as it is), with a thread of 50 posts and one of 1,000 in a volume of their own;
2. prepares the targets: static files collected, a member with a session and a CSRF token
   for the reply, the thread page of 50 posts written out as a static file (served by
   whitenoise: the ceiling) and as the body of /bench/bytes/, a Django view returning the
   same bytes through the whole middleware stack (the framework's floor; bench/http_urls.py);
3. starts gunicorn with config/gunicorn.conf.py (DEBUG off, Redis as the cache), once with
   the page cache off and once on (DAIOU_PAGE_CACHE), and runs each scenario on its own:
   a warm-up, then wrk for --duration seconds at --connections connections, one wrk thread.

Scenarios: the static file and the floor view (references), the home page, a volume page,
the thread of 50 posts, the thread of 1,000 posts (first and last page), a search, an
indicator lookup (the JSON API), and posting a reply (a wrk Lua script: a logged-in POST of
a Markdown reply with a link and a phone number, CSRF token in the form; each request a new
post, answered by a redirect). Anonymous scenarios send no cookie.

Each result is appended to bench/results/http.json as soon as it is measured and skipped
when it is there already (--force measures again), so a stopped run goes on where it was.
Requests per second and wrk's latency percentiles are kept with the load average of the
machine when the scenario started, and what each request cost in CPU while wrk ran (from /proc:
gunicorn's processes, the database server's backends for this database, wrk itself, and the
whole machine, in core-milliseconds per request): the share of the floor is a ratio of costs. `--report` writes the tables and, under them, issue 8's
targets against these results (met, or missed by how much). A reply's own latency, without
seven other clients ahead of it: `--scenarios reply --connections 1 --label c1`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
VAR = REPO / "var"
RESULTS = REPO / "bench" / "results" / "http.json"
STATIC_ROOT = VAR / "bench-http-static"
DOC = REPO / "docs" / "benchmarks.md"
DOC_START, DOC_END = "<!-- bench/http_load.py results: start -->", "<!-- bench/http_load.py results: end -->"
LONG_THREADS = (50, 1000)
SCENARIOS = ("static", "floor", "home", "volume", "thread50", "thread1000_first", "thread1000_last", "search",
             "lookup", "reply")
TITLES = {
    "static": "static file, same bytes (whitenoise)", "floor": "Django view, same bytes (floor)",
    "home": "home page", "volume": "volume page", "thread50": "thread, 50 posts",
    "thread1000_first": "thread, 1,000 posts, first page", "thread1000_last": "thread, 1,000 posts, last page",
    "search": "search", "lookup": "indicator lookup (API)", "reply": "posting a reply",
}
SEARCH_QUERY = "フィッシング"
ONE_CLIENT = "c1"  # the label of a reply measured with one connection (a reply's own latency)
REPLY_LUA = """
-- A logged-in member posts a reply: Markdown with a link and a phone number (sanitised,
-- indicators extracted), a new text each time. Answered by a redirect to the post.
local counter = 0
function setup(thread)
  thread:set("id", math.random(1, 1000000000))
end
function init(args)
  counter = 0
end
function request()
  counter = counter + 1
  local body = "step=post&subtitle=&device=&os=&csrfmiddlewaretoken=%(csrf)s&body="
    .. "%(text)s" .. id .. "-" .. counter
  return wrk.format("POST", "%(path)s", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "%(cookie)s",
  }, body)
end
"""
REPLY_TEXT = ("ベンチマークの返信です。偽サイト https://rakuten-secure.example-bench.xyz/login?id=123 "
              "に誘導されます。電話番号 090-1234-5678 にも注意。 ")


def say(*parts) -> None:
    print(*parts, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", default="10000", help="post counts, comma-separated (default 10000)")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--cache", default="off,on", help="page cache modes to measure (default off,on)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--duration", type=int, default=30, help="seconds of wrk per scenario (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of wrk before each scenario (default 3)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server, without a name")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: config's)")
    parser.add_argument("--threads", type=int, default=None, help="gunicorn threads per worker (default: config's)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the scenarios this many times in turn on one server, and give each page's "
                             "share of the floor view's throughput round by round (default 1)")
    parser.add_argument("--label", default="", help="added to each result's key (e.g. a server setting tried)")
    parser.add_argument("--note", default="", help="kept with each result (what else ran on the machine)")
    parser.add_argument("--force", action="store_true", help="measure again what is in the results already")
    parser.add_argument("--fill-steps", default="fill,render,indicators,search",
                        help="fill_corpus's steps to run first (default all; the page scenarios need fill,render)")
    parser.add_argument("--results", default=str(RESULTS))
    parser.add_argument("--report", action="store_true", help="only write the results into docs/benchmarks.md")
    parser.add_argument("--shares", action="store_true",
                        help="only print the shares of the floor, round by round, of the runs labelled --label")
    parser.add_argument("--prepare", help=argparse.SUPPRESS)  # the worker step, inside Django
    args = parser.parse_args()
    if args.prepare:
        prepare(json.loads(args.prepare))
        return
    results_path = Path(args.results)
    if args.report:
        write_report(load(results_path))
        return
    if args.shares:
        runs = load(results_path)["runs"]
        for database, posts, mode in sorted({(r["database"], r["posts"], r["cache"]) for r in runs.values()
                                             if r.get("label", "") == args.label and "round" in r}):
            say(f"{database}, {posts:,} posts, page cache {mode}:")
            for line in shares(runs, database, posts, mode, args.label):
                say("  " + line)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (Debian's package)")
    if shutil.which("gunicorn", path=str(Path(PYTHON).parent)) is None:
        raise SystemExit("gunicorn is not installed in this virtualenv: pip install -r requirements.txt")
    scenarios = [s for s in args.scenarios.split(",") if s]
    if unknown := set(scenarios) - set(SCENARIOS):
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    for posts in [int(p) for p in args.posts.split(",") if p]:
        for database in [d for d in args.databases.split(",") if d]:
            run_database(args, results_path, database, posts, scenarios)


# ---- one database --------------------------------------------------------------------------


def database_url(args, database: str, posts: int) -> str:
    if database == "sqlite":
        return f"sqlite:///{VAR / f'bench-http-{posts}.sqlite3'}"
    if database == "postgres":
        return f"{args.postgres}/daiou_http_{posts}"
    raise SystemExit(f"unknown database {database!r}: sqlite or postgres")


def base_env(args, database: str, posts: int) -> dict:
    return {
        **os.environ, "DATABASE_URL": database_url(args, database, posts), "DEBUG": "0",
        "SECRET_KEY": "bench-http", "ALLOWED_HOSTS": "127.0.0.1", "DAIOU_HTTPS": "0",
        "STATIC_ROOT": str(STATIC_ROOT), "DJANGO_SETTINGS_MODULE": "bench.http_settings",
        "REDIS_URL": args.redis, "CACHE_KEY_PREFIX": f"bench-http-{database}-{posts}",
        # One client at thousands of requests a second: the per-address limits would refuse it.
        "DAIOU_RATE_SEARCH": "1000000000/60", "DAIOU_RATE_LOOKUP": "1000000000/60",
        "DAIOU_FLOOD_SECONDS": "0", "DAIOU_DUPLICATE_SECONDS": "0",
        "DB_POOL_MIN": "1", "DB_POOL_MAX": "4", "DAIOU_ACCESS_LOG": "", "DAIOU_LOG_LEVEL": "warning",
    }


def run_database(args, results_path: Path, database: str, posts: int, scenarios: list[str]) -> None:
    env = base_env(args, database, posts)
    modes = [m for m in args.cache.split(",") if m]
    rounds = range(1, args.rounds + 1)
    keys = {(mode, s, n): result_key(database, posts, mode, s, args.label, n if args.rounds > 1 else "")
            for mode in modes for s in scenarios for n in rounds}
    done = load(results_path)["runs"]
    if not args.force and all(key in done for key in keys.values()):
        say(f"== {database}, {posts:,} posts: measured already")
        return
    say(f"== {database}, {posts:,} posts")
    if database == "postgres":
        create_postgres_database(env["DATABASE_URL"])
    manage(env, "migrate", "--no-input", "--verbosity", "0")
    started = time.monotonic()
    manage(env, "fill_corpus", "--posts", str(posts), "--long-threads", ",".join(map(str, LONG_THREADS)),
           "--steps", args.fill_steps)
    say(f"  database ready in {time.monotonic() - started:.0f} s")
    manage(env, "collectstatic", "--no-input", "--verbosity", "0")
    page_file = VAR / f"bench-http-page-{database}-{posts}.html"
    targets = json.loads(subprocess.run(
        [PYTHON, __file__, "--prepare", json.dumps({"posts": posts, "page_file": str(page_file)})],
        env=env, cwd=REPO, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    static_name = f"bench/{page_file.name}"
    (STATIC_ROOT / "bench").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(page_file, STATIC_ROOT / static_name)  # before the server starts: whitenoise indexes at start
    targets["static"] = f"/static/{static_name}"
    for mode in modes:
        done = load(results_path)["runs"]
        todo = [(n, s) for n in rounds for s in scenarios if args.force or keys[(mode, s, n)] not in done]
        if not todo:
            continue
        server_env = {**env, "DAIOU_PAGE_CACHE": "1" if mode == "on" else "0", "DAIOU_BENCH_BYTES": str(page_file)}
        if args.workers:
            server_env["DAIOU_WORKERS"] = str(args.workers)
        if args.threads:
            server_env["DAIOU_THREADS"] = str(args.threads)
        with server(server_env, VAR / f"bench-http-gunicorn-{database}-{posts}-{mode}.log") as (base, group):
            say(f"  gunicorn on {base}, page cache {mode}")
            probe = CpuProbe(group, env["DATABASE_URL"].rpartition("/")[2] if database == "postgres" else None)
            for n, scenario in todo:
                result = measure(args, base, scenario, targets, probe)
                result.update(database=database, posts=posts, cache=mode, scenario=scenario, label=args.label,
                              note=args.note, workers=args.workers, threads=args.threads)
                if args.rounds > 1:
                    result["round"] = n
                store(results_path, keys[(mode, scenario, n)], result)
                say(f"  cache {mode:3} {scenario:18} {result['requests_per_s']:8.1f} req/s  "
                    f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
                    f"errors {result['errors']}  load {result['load_average']}"
                    + (f"  (round {n})" if args.rounds > 1 else ""))
        if args.rounds > 1:
            for line in shares(load(results_path)["runs"], database, posts, mode, args.label):
                say("  " + line)


def result_key(database: str, posts: int, mode: str, scenario: str, label: str, round_number="") -> str:
    parts = (database, posts, mode, scenario, label, f"round{round_number}" if round_number != "" else "")
    return ":".join(str(part) for part in parts if part != "")


def shares(runs: dict, database: str, posts: int, mode: str, label: str) -> list[str]:
    """Each page's throughput as a share of the floor view's in the same round (--rounds): the
    machines here change speed from minute to minute, so a page is compared with the floor
    measured beside it, not with a floor of another minute; then the mean and the range."""
    mine = [r for r in runs.values() if (r["database"], r["posts"], r["cache"], r.get("label", "")) ==
            (database, posts, mode, label) and "round" in r]
    floors = {r["round"]: r for r in mine if r["scenario"] == "floor"}
    lines = []
    for scenario in [s for s in SCENARIOS if s not in ("static", "floor")]:
        paired = sorted((r["round"], r["requests_per_s"] / floors[r["round"]]["requests_per_s"])
                        for r in mine if r["scenario"] == scenario and r["round"] in floors)
        if paired:
            values = [share for _, share in paired]
            lines.append(f"{scenario}: {sum(values) / len(values):.1%} of the floor view's throughput on average "
                         f"over {len(values)} rounds ({min(values):.1%}–{max(values):.1%}; by round: "
                         + ", ".join(f"{share:.1%}" for _, share in paired) + ")")
    return lines


def manage(env: dict, *command: str) -> None:
    subprocess.run([PYTHON, "manage.py", *command], env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
                   cwd=REPO, check=True)


def create_postgres_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


# ---- inside Django: what the scenarios ask for ----------------------------------------------


def prepare(options: dict) -> None:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    from forum import corpus_fill
    from forum.models import Board, Profile, Thread
    from incidents.models import Indicator

    posts = options["posts"]
    info = Board.objects.get(slug="info")
    numbers = corpus_fill.long_thread_numbers(posts, LONG_THREADS)
    volume = corpus_fill.Plan(posts).volumes_per_board // 2 + 1
    reader = Client(HTTP_HOST="127.0.0.1")
    thread50 = f"/info/{numbers[50]}/"
    page = reader.get(thread50)
    if page.status_code != 200 or page.content.count(b"<article") != 50:
        raise SystemExit(f"{thread50}: {page.status_code}, not a page of 50 posts")
    Path(options["page_file"]).write_bytes(page.content)

    user, made = get_user_model().objects.get_or_create(username="bench-http", defaults={"email": "bench@example.org"})
    if made:
        Profile.objects.create(user=user, display_name="ベンチマーク")
        user.user_permissions.add(Permission.objects.get(content_type__app_label="limits", codename="established"))
    member = Client(HTTP_HOST="127.0.0.1")
    member.force_login(user)
    csrf = _get_new_csrf_string()
    member.cookies["csrftoken"] = csrf
    # The reply thread: the newest regular thread of `chat` (the page benchmarks read `info`).
    reply_thread = Thread.objects.filter(board__slug="chat").order_by("-number").first()
    reply_path = f"/chat/{reply_thread.number}/reply/"
    check = member.post(reply_path, {"step": "post", "subtitle": "", "device": "", "os": "",
                                     "csrfmiddlewaretoken": csrf, "body": REPLY_TEXT + "check"})
    if check.status_code != 302:
        raise SystemExit(f"a reply to {reply_path} was answered {check.status_code}, not a redirect")
    lookup = Indicator.objects.filter(kind="domain").order_by("-times_seen").values_list("value", flat=True).first()
    print(json.dumps({
        "floor": "/bench/bytes/", "home": "/", "volume": f"/info/vol/{volume}/", "thread50": thread50,
        "thread1000_first": f"/info/{numbers[1000]}/", "thread1000_last": f"/info/{numbers[1000]}/?page=20",
        "search": "/search/?" + urlencode({"q": SEARCH_QUERY}),
        "lookup": "/api/indicators.json?" + urlencode({"q": lookup or "example.com"}),
        "reply": reply_path, "page_bytes": len(page.content),
        "cookie": f"{member.cookies['sessionid'].key}={member.cookies['sessionid'].value}; csrftoken={csrf}",
        "csrf": csrf,
    }))


# ---- the server and wrk ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(env: dict, log_path: Path, *, wrapper: tuple = (), app: str = "config.wsgi", options: tuple = (),
           start_seconds: int = 120):
    """gunicorn with config/gunicorn.conf.py on a free port of 127.0.0.1, once it answers: yields
    its address and the master's pid (which leads the process group of its workers). `wrapper`
    runs it under another program (bench/instructions.py: valgrind)."""
    port = free_port()
    log = log_path.open("w")
    process = subprocess.Popen(
        [*wrapper, *([PYTHON] if wrapper else []), str(Path(PYTHON).parent / "gunicorn"),
         "-c", "config/gunicorn.conf.py", *options, app],
        env={**env, "DAIOU_BIND": f"127.0.0.1:{port}"}, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            try:
                with urllib.request.urlopen(base + "/robots.txt", timeout=5) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {log.name}")
            time.sleep(0.5)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)  # the master stops its workers gracefully
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def fetch(base: str, path: str, targets: dict, scenario: str) -> tuple[int, int, str]:
    """One request as the scenario makes it: status, body size, X-Page-Cache."""
    if scenario == "reply":
        request = urllib.request.Request(base + targets["reply"], data=urlencode({
            "step": "post", "subtitle": "", "device": "", "os": "", "csrfmiddlewaretoken": targets["csrf"],
            "body": REPLY_TEXT + f"probe {time.time()}"}).encode(), headers={"Cookie": targets["cookie"]})
    else:
        request = urllib.request.Request(base + path)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, len(response.read()), response.headers.get("X-Page-Cache", "")
    except urllib.error.HTTPError as error:
        return error.code, len(error.read()), error.headers.get("X-Page-Cache", "")


def measure(args, base: str, scenario: str, targets: dict, probe: CpuProbe) -> dict:
    path = targets[scenario] if scenario != "reply" else targets["reply"]
    status, size, _ = fetch(base, path, targets, scenario)
    expected = 302 if scenario == "reply" else 200
    if status != expected:
        raise SystemExit(f"{scenario}: {path} answered {status}, not {expected}")
    script = None
    if scenario == "reply":
        script = VAR / "bench-http-reply.lua"
        script.write_text(REPLY_LUA % {"csrf": targets["csrf"], "path": targets["reply"],
                                       "cookie": targets["cookie"], "text": quote(REPLY_TEXT)})
    url = base + quote(path, safe="/?=&%")
    if args.warmup:
        wrk(url, args.warmup, args.connections, script)
    _, _, cache_state = fetch(base, path, targets, scenario)
    load_average = round(os.getloadavg()[0], 2)
    before = probe.read()
    result = wrk(url, args.duration, args.connections, script)
    cpu = {part: round((spent - before[part]) * 1000 / max(result["requests"], 1), 3)
           for part, spent in probe.read().items()}
    return {**result, "cpu_ms_per_request": cpu, "status": status, "bytes": size, "page_cache_header": cache_state,
            "load_average": load_average, "duration_s": args.duration, "connections": args.connections,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}


class CpuProbe:
    """CPU seconds spent so far by the server (its process group), the database server's backends
    for one database (PostgreSQL; None for SQLite, which works inside the server), the programs
    this script ran and waited for (wrk), and the whole machine. Differences around a wrk run,
    over its requests, are each request's cost."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, group: int, database: str | None):
        self.group, self.database = group, database

    def read(self) -> dict:
        server = backends = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                spent = (int(fields[11]) + int(fields[12])) / self.TICK  # utime + stime
                if int(fields[2]) == self.group:
                    server += spent
                elif self.database and (command := (entry / "cmdline").read_bytes()).startswith(b"postgres: ") \
                        and f" {self.database} ".encode() in command:
                    backends += spent
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return {"server": server, "database": backends, "wrk": children.ru_utime + children.ru_stime,
                "machine": (sum(busy) - busy[3] - busy[4]) / self.TICK}  # all but idle and iowait


def wrk(url: str, duration: int, connections: int, script: Path | None) -> dict:
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s", "--latency"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], check=True, capture_output=True, text=True).stdout
    try:
        return parse_wrk(out)
    except (KeyError, TypeError, AttributeError):
        raise SystemExit(f"wrk's output was not understood:\n{out}") from None


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(out: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
        return round(float(number) * UNITS[unit], 3)

    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", out, re.MULTILINE))
    requests = int(re.search(r"(\d+) requests in", out)[1])
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "requests": requests,
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1]),
        "p50_ms": ms(percentiles["50"]), "p90_ms": ms(percentiles["90"]), "p99_ms": ms(percentiles["99"]),
        "errors": (int(non_2xx[1]) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0),
    }


def machine() -> dict:
    import platform

    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    return {"cpus": os.cpu_count(), "cpu": model, "python": platform.python_version()}


# ---- results ---------------------------------------------------------------------------------


def load(path: Path) -> dict:
    if path.is_file():
        return json.loads(path.read_text())
    return {"runs": {}}


def store(path: Path, key: str, result: dict) -> None:
    data = load(path)
    data["runs"][key] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    temporary.replace(path)


def report(data: dict) -> str:
    """Markdown tables: per database and size, each scenario with the page cache off and on."""
    # The tables hold single runs; runs in rounds (--rounds) are told by their shares (--shares).
    runs = [r for r in data["runs"].values() if not r.get("label") and "round" not in r]
    lines = []
    for posts in sorted({r["posts"] for r in runs}):
        for database in ("sqlite", "postgres"):
            mine = {(r["cache"], r["scenario"]): r for r in runs if r["posts"] == posts and r["database"] == database}
            if not mine:
                continue
            first = next(iter(mine.values()))
            lines += ["", f"**{'SQLite' if database == 'sqlite' else 'PostgreSQL'}, {posts:,} posts** "
                      f"({first['duration_s']} s per scenario, {first['connections']} connections; "
                      f"measured {min(r['measured_at'] for r in mine.values())[:10]})", "",
                      "| scenario | bytes | cache off: req/s | p50 ms | p99 ms | cache on: req/s | p50 ms | p99 ms "
                      "| load |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
            for scenario in SCENARIOS:
                off, on = mine.get(("off", scenario)), mine.get(("on", scenario))
                if not (off or on):
                    continue
                cells = []
                for run in (off, on):
                    cells += ([f"{run['requests_per_s']:,.0f}", f"{run['p50_ms']:.1f}", f"{run['p99_ms']:.1f}"]
                              if run else ["–"] * 3)
                any_run = off or on
                loads = "/".join(f"{r['load_average']:.1f}" for r in (off, on) if r)
                errors = sum(r["errors"] for r in (off, on) if r)
                name = TITLES[scenario] + (f" ({errors} errors)" if errors else "")
                lines.append(f"| {name} | {any_run['bytes']:,} | " + " | ".join(cells) + f" | {loads} |")
            for mode in ("off", "on"):
                thread, floor = mine.get((mode, "thread50")), mine.get((mode, "floor"))
                if thread and floor:
                    lines.append(f"\nThread of 50 posts, page cache {mode}: "
                                 f"{thread['requests_per_s'] / floor['requests_per_s']:.0%} of the floor view's "
                                 f"throughput, p99 {thread['p99_ms']:.1f} ms.{cpu_line(thread, floor)}")
            alone = [r for r in data["runs"].values() if r.get("label") == ONE_CLIENT and r["scenario"] == "reply"
                     and r["posts"] == posts and r["database"] == database]
            for run in sorted(alone, key=lambda r: r["cache"]):
                lines.append(f"\nPosting a reply with one client at a time (`--scenarios reply --connections 1 "
                             f"--label {ONE_CLIENT}`), page cache {run['cache']}: {run['requests_per_s']:,.0f} "
                             f"replies/s, p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms.")
    return "\n".join(lines + targets(runs)).lstrip("\n")


def cpu_line(thread: dict, floor: dict) -> str:
    """What a thread page and a floor request each cost the machine, where it was measured."""
    if "cpu_ms_per_request" not in thread or "cpu_ms_per_request" not in floor:
        return ""

    def parts(cpu: dict) -> str:
        named = [f"server {cpu['server']:.2f}", f"wrk {cpu['wrk']:.2f}"]
        if cpu["database"]:
            named.insert(1, f"database server {cpu['database']:.2f}")
        return f"{cpu['machine']:.2f} ({', '.join(named)})"

    return (f" CPU per request, in core-milliseconds: the thread page {parts(thread['cpu_ms_per_request'])}, "
            f"the floor {parts(floor['cpu_ms_per_request'])}.")


def targets(runs: list[dict]) -> list[str]:
    """Issue 8's targets against these results: met, or missed by how much."""
    by = {(r["database"], r["posts"], r["cache"], r["scenario"]): r for r in runs}
    rows = []

    def verdict(ok: bool, miss: str) -> str:
        return "met" if ok else f"**missed** ({miss})"

    for (database, posts, cache, scenario), run in sorted(by.items()):
        name = f"{'SQLite' if database == 'sqlite' else 'PostgreSQL'}, {posts:,} posts, cache {cache}"
        floor = by.get((database, posts, cache, "floor"))
        if scenario == "thread50" and floor and posts >= 1_000_000:  # the targets are set at a million
            share, aim = run["requests_per_s"] / floor["requests_per_s"], 0.5 if cache == "on" else 0.2
            rows.append(f"| thread of 50 posts ≥ {aim:.0%} of the floor view | {name} | {share:.1%} | "
                        f"{verdict(share >= aim, f'{(aim - share) * 100:.1f} points short')} |")
            rows.append(f"| thread of 50 posts p99 < 100 ms at c = {run['connections']} | {name} | "
                        f"{run['p99_ms']:.1f} ms | {verdict(run['p99_ms'] < 100, f'{run['p99_ms'] - 100:.1f} ms over')} |")
        if scenario == "reply":
            rows.append(f"| posting a reply p50 < 100 ms (c = {run['connections']}) | {name} | {run['p50_ms']:.1f} ms | "
                        f"{verdict(run['p50_ms'] < 100, f'{run['p50_ms'] - 100:.1f} ms over')} |")
        small = by.get((database, 10_000, cache, scenario))
        if posts >= 1_000_000 and small and scenario in ("home", "volume", "thread50", "thread1000_first",
                                                         "thread1000_last"):
            ratio = run["p50_ms"] / small["p50_ms"]
            rows.append(f"| {TITLES[scenario]}: p50 at {posts:,} ≤ 1.3 × at 10,000 | {name} | {ratio:.2f} × | "
                        f"{verdict(ratio <= 1.3, f'{ratio - 1.3:.2f} × over')} |")
    if not rows:
        return []
    rows.sort()  # by target, then run
    return ["", "Against the targets of issue 8 (written by `bench/http_load.py --report` from these runs):", "",
            "| target | run | result | |", "| --- | --- | ---: | --- |", *rows]


def write_report(data: dict) -> None:
    text = DOC.read_text()
    if DOC_START not in text or DOC_END not in text:
        raise SystemExit(f"{DOC} has no {DOC_START} … {DOC_END} section to write into")
    before, rest = text.split(DOC_START, 1)
    _, after = rest.split(DOC_END, 1)
    DOC.write_text(f"{before}{DOC_START}\n{report(data)}\n{DOC_END}{after}")
    say(f"wrote the results into {DOC}")


if __name__ == "__main__":
    main()
