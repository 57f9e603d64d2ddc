#!/usr/bin/env python
"""Instructions a request costs inside the production server (issue 8; results in
docs/benchmarks.md): a measure that does not move with the machine's other load.

    .venv/bin/python bench/instructions.py --posts 10000                      # both databases
    .venv/bin/python bench/instructions.py --posts 1000000 --databases sqlite --requests 10

Throughput over HTTP (bench/http_load.py) is what issue 8's targets are stated in, but on a
shared 2-core machine the same page's CPU time moves by a third from minute to minute, more
than most single changes save. Valgrind's callgrind counts the instructions a process executes,
whatever else runs. This starts gunicorn with config/gunicorn.conf.py under callgrind, one sync
worker, counting off, against the databases bench/http_load.py fills (and with its settings:
bench.http_settings, DEBUG off, the page cache off unless --cache on); for each scenario it sends a few requests
to warm up, then switches counting on in the worker (bench/callgrind_wsgi.py), sends
--requests requests one after the other, switches it off, and prints the instructions per
request: gunicorn parsing the request and writing the response, Django, the view, the database
driver and, on SQLite, the database itself (PostgreSQL's server is another process, not
counted). The floor view's count against the thread page's is the in-process side of
http_load's "% of the floor".

Needs valgrind and gcc (Debian's packages; valgrind's headers come with it): the two-function
helper that switches counting is compiled into var/ once.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import http_load  # noqa: E402

VAR = http_load.VAR
TOGGLE_SOURCE = """#include <valgrind/callgrind.h>
void daiou_callgrind_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void daiou_callgrind_stop(void) { CALLGRIND_DUMP_STATS; CALLGRIND_STOP_INSTRUMENTATION; }
"""
SCENARIOS = ("floor", "home", "volume", "thread50", "thread1000_first", "thread1000_last")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", default="10000", help="post counts, comma-separated (databases of http_load.py)")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--scenarios", default="floor,thread50")
    parser.add_argument("--requests", type=int, default=20, help="counted requests per scenario (default 20)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--cache", choices=("off", "on"), default="off",
                        help="the page cache (default off; on: the warm-up requests fill it)")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="server, without a name")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/5")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    if unknown := set(scenarios) - set(SCENARIOS):
        raise SystemExit(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    toggle = build_toggle()
    for posts in [int(p) for p in args.posts.split(",") if p]:
        for database in [d for d in args.databases.split(",") if d]:
            counts = measure_database(args, toggle, database, posts, scenarios)
            if "floor" in counts and "thread50" in counts:
                print(f"  thread50 / floor: {counts['thread50'] / counts['floor']:.2f}", flush=True)


def build_toggle() -> Path:
    for tool in ("valgrind", "gcc"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install -y {tool}")
    library = VAR / "callgrind-toggle.so"
    if not library.exists():
        VAR.mkdir(exist_ok=True)
        source = VAR / "callgrind-toggle.c"
        source.write_text(TOGGLE_SOURCE)
        subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


def measure_database(args, toggle: Path, database: str, posts: int, scenarios: list[str]) -> dict[str, int]:
    env = http_load.base_env(args, database, posts)
    if database == "sqlite" and not (VAR / f"bench-http-{posts}.sqlite3").exists():
        raise SystemExit(f"no var/bench-http-{posts}.sqlite3: fill it with bench/http_load.py --posts {posts} first")
    page_file = VAR / f"bench-http-page-{database}-{posts}.html"
    targets = json.loads(subprocess.run(
        [http_load.PYTHON, http_load.__file__, "--prepare", json.dumps({"posts": posts, "page_file": str(page_file)})],
        env=env, cwd=http_load.REPO, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    dumps = VAR / "callgrind"
    shutil.rmtree(dumps, ignore_errors=True)
    dumps.mkdir()
    server_env = {**env, "DAIOU_PAGE_CACHE": "1" if args.cache == "on" else "0",
                  "DAIOU_BENCH_BYTES": str(page_file), "DAIOU_WORKERS": "1",
                  "DAIOU_THREADS": "1", "DAIOU_CALLGRIND_TOGGLE": str(toggle)}
    counts = {}
    with http_load.server(
            server_env, VAR / f"bench-instructions-{database}-{posts}.log", app="bench.callgrind_wsgi:application",
            wrapper=("valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={dumps}/callgrind.%p"),
            options=("--timeout", "900"), start_seconds=300) as (base, _):
        print(f"== {database}, {posts:,} posts, page cache {args.cache} (gunicorn under callgrind, one worker)",
              flush=True)
        for scenario in scenarios:
            path = targets[scenario]
            for _ in range(args.warmup):
                check(http_load.fetch(base, path, targets, scenario), path)
            known = set(dumps.iterdir())
            http_load.fetch(base, "/__callgrind/start", targets, "")
            for _ in range(args.requests):
                check(http_load.fetch(base, path, targets, scenario), path)
            http_load.fetch(base, "/__callgrind/stop", targets, "")
            counts[scenario] = instructions(dumps, known) // args.requests
            print(f"  {scenario:18} {counts[scenario]:>12,} instructions a request", flush=True)
    return counts


def check(answer: tuple, path: str) -> None:
    if answer[0] != 200:
        raise SystemExit(f"{path}: {answer[0]}")


def instructions(dumps: Path, known: set) -> int:
    """The total of the dump the worker wrote at /__callgrind/stop."""
    deadline = time.monotonic() + 60
    # The dump asked for is callgrind.<pid>.<n>; the worker's own file appears beside it.
    while not (new := {p for p in set(dumps.iterdir()) - known if p.name.count(".") == 2}):
        if time.monotonic() > deadline:
            raise SystemExit("callgrind wrote no dump: is the server under valgrind?")
        time.sleep(0.2)
    time.sleep(0.5)  # written whole
    if len(new) != 1:
        raise SystemExit(f"expected one dump of the worker, found {sorted(p.name for p in new)}")
    [dump] = new
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            dump.unlink()
            return int(line.split()[1])
    raise SystemExit(f"{dump}: no totals")


if __name__ == "__main__":
    main()
