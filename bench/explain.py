#!/usr/bin/env python
"""Query plans of the hot pages on PostgreSQL (issue 8; the result is docs/query-plans.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/daiou_http_1000000 .venv/bin/python bench/explain.py
    DATABASE_URL=… .venv/bin/python bench/explain.py --pages search,lookup --output /tmp/plans.md

It reads a database filled by `manage.py fill_corpus` (the thread of 50 posts and the one of
1,000 are found by their post counts, as bench/pages.py finds them) and asks Django's test
client, in-process with DEBUG off and the whole middleware stack, for each hot page once after
a warm-up: the home page, the middle volume of `info`, the thread of 50 posts, the first and
last page of the thread of 1,000, a search (口座), an indicator lookup (the JSON API, the most
seen domain, as bench/http_load.py asks it), and the thread of 50 posts as a member. The page
cache is off and the cache (local memory, never Redis: it is cleared before each page) empty,
so every query a cache miss costs is seen; a cached thread or volume page costs only its first
one or two (the thread's version, the volume with its threads' fingerprint).

Every statement a page runs is recorded by a `connection.execute_wrapper`: its SQL and its
parameters as they were sent, and its time in the request. (CaptureQueriesContext, kept beside
it to check that no statement went round the wrapper, logs the SQL with the parameters
interpolated by psycopg's mogrify and its time in whole milliseconds: with server-side binding,
DB_SERVER_SIDE_BINDING on by default, that is not the statement PostgreSQL planned, and for a
value mogrify refuses it is not SQL at all.) Each SELECT is then run again as
`EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)` with the same parameters, bound the same way, in a
transaction rolled back afterwards.

Flags: a plan holding a Seq Scan on a table of more than --big-table rows (10,000, by
pg_class.reltuples: run ANALYZE after a fill) is flagged, and that statement is explained once
more with `SET LOCAL enable_seqscan = off`, so the report shows what the index plan would cost:
on a small database the planner rightly reads a small table whole, and the comparison says
whether that choice would hold at a million posts. A scan that reads and drops more than
--filtered rows (500, "Rows Removed by Filter": an index serving only part of the condition) is
flagged too. The database's own functions (the search's) are one node to EXPLAIN: the plans of
their statements are taken with auto_explain, as notices to this connection (LOAD needs a
superuser, as the local `postgres` is; without one the report says so).

docs/query-plans.md gets the command line, the date, the number of posts, the server's version,
the load average (os.getloadavg()) and, per page, each statement (shortened), its plan's top
nodes and its execution time. It writes nothing but that file and what bench/pages.py's setup
writes (its users and their sessions, collected static files in var/bench-pages-static).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "docs" / "query-plans.md"
SEARCH_QUERY = "口座"
PAGES = ("home", "volume", "thread50", "thread1000_first", "thread1000_last", "search", "lookup",
         "thread50:member")
TITLES = {
    "home": "home page", "volume": "volume page (the middle volume of `info`)", "thread50": "thread, 50 posts",
    "thread1000_first": "thread, 1,000 posts, first page", "thread1000_last": "thread, 1,000 posts, last page",
    "search": f"search ({SEARCH_QUERY})", "lookup": "indicator lookup (JSON API)",
}
SEQ_SCAN = re.compile(r"(?:Parallel )?Seq Scan on (\w+)")


@dataclass
class Statement:
    sql: str
    params: object
    request_ms: float
    times: int = 1  # the same statement with the same parameters, run this many times by the page
    plan: list[str] = field(default_factory=list)
    big_seq_scans: list[str] = field(default_factory=list)
    removed: int = 0  # the most rows one scan node read and dropped
    without_seqscan: list[str] = field(default_factory=list)
    nested: list[Nested] = field(default_factory=list)  # the statements of the functions it calls
    nested_note: str = ""  # why there are none when there should be

    @property
    def select(self) -> bool:
        return self.sql.lstrip().upper().startswith(("SELECT", "WITH"))

    @property
    def flagged(self) -> set[str]:
        """Big tables read whole, by this statement's plan or a nested one's."""
        return {*self.big_seq_scans, *(table for n in self.nested for table in n.big_seq_scans)}

    @property
    def most_removed(self) -> int:
        return max([self.removed, *(n.removed for n in self.nested)])


@dataclass
class Nested:
    """One statement inside a database function, as auto_explain saw it: every run, and the
    plan of the slowest."""
    text: str
    runs: int
    total_ms: float
    slowest_ms: float
    plan: list[str]
    big_seq_scans: list[str]
    removed: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default=",".join(PAGES),
                        help="pages, each PAGE or PAGE:ROLE (anonymous, member, moderator); default: all")
    parser.add_argument("--output", default=str(OUTPUT))
    parser.add_argument("--big-table", type=int, default=10_000, help="rows past which a Seq Scan is flagged")
    parser.add_argument("--filtered", type=int, default=500, help="rows a scan drops past which it is flagged")
    parser.add_argument("--lines", type=int, default=12, help="plan lines shown per statement (flagged: all)")
    parser.add_argument("--note", default="", help="said at the top (e.g. what the database is for)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    setup()

    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/explain.py reads PostgreSQL's plans: set DATABASE_URL=postgres://…")
    from bench import pages

    targets, clients = pages.prepare()
    targets.update(search_and_lookup())
    rows = table_rows()
    functions = user_functions()
    results = []
    for spec in [p for p in args.pages.split(",") if p]:
        page, _, role = spec.partition(":")
        if page not in targets or (role or "anonymous") not in clients:
            raise SystemExit(f"unknown page {spec!r}: choose from {', '.join(PAGES)}")
        status, statements = capture(clients[role or "anonymous"], targets[page])
        for statement in statements:
            if statement.select:
                explain(statement, rows, args.big_table, functions)
        results.append((spec, targets[page], status, statements))
        seq = sum(bool(s.flagged) for s in statements)
        filtered = sum(s.most_removed > args.filtered for s in statements)
        print(f"{spec:22} {status}  {len(statements):3} statements, {seq} with a seq scan on a big table, "
              f"{filtered} dropping over {args.filtered} rows", flush=True)
    Path(args.output).write_text(report(args, results, rows, load_before, os.getloadavg()), encoding="utf-8")
    print(f"written: {args.output}")


def setup() -> None:
    # bench/pages.py's setup (DEBUG off, plain HTTP, hashed static files), with the cache in
    # this process' memory, so that clearing it never touches a Redis the site shares.
    os.environ.pop("REDIS_URL", None)
    os.environ["CACHE_KEY_PREFIX"] = "bench-explain"
    # One client asks many times: the per-address limits must not refuse it.
    os.environ.update({"DAIOU_RATE_SEARCH": "1000000/60", "DAIOU_RATE_LOOKUP": "1000000/60"})
    sys.path.insert(0, str(REPO))
    from bench import pages

    pages.setup()
    from django.conf import settings

    settings.DAIOU_PAGE_CACHE = False  # every query of a full render, not the cached page's one


def search_and_lookup() -> dict:
    from incidents.models import Indicator

    lookup = Indicator.objects.filter(kind="domain").order_by("-times_seen").values_list("value", flat=True).first()
    return {"search": "/search/?" + urlencode({"q": SEARCH_QUERY}),
            "lookup": "/api/indicators.json?" + urlencode({"q": lookup or "example.com"})}


def table_rows() -> dict[str, int]:
    """Rows per table, as the planner knows them (reltuples; -1 before the first ANALYZE)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples::bigint FROM pg_class "
                       "WHERE relkind IN ('r', 'p', 'm') AND relnamespace = 'public'::regnamespace")
        return dict(cursor.fetchall())


def user_functions() -> re.Pattern | None:
    """A call of one of the database's own functions (the search's, in migrations)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")
        names = sorted({name for (name,) in cursor.fetchall()})
    return re.compile(r"\b(?:%s)\s*\(" % "|".join(map(re.escape, names))) if names else None


def capture(client, url: str) -> tuple[int, list[Statement]]:
    """The statements one request for `url` runs (after a warm-up request), each distinct
    (SQL, parameters) once with how many times it ran."""
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # per-process lookups made once (content types, compiled templates) are not the page's
    cache.clear()
    sent = []

    def record(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sent.append((sql, params, (time.perf_counter() - started) * 1000))

    with CaptureQueriesContext(connection) as logged, connection.execute_wrapper(record):
        response = client.get(url)
    if len(logged.captured_queries) != len(sent):  # a statement that went round the wrapper
        raise SystemExit(f"{url}: {len(sent)} statements recorded but {len(logged.captured_queries)} logged")
    statements: dict[tuple, Statement] = {}
    for sql, params, ms in sent:
        key = (sql, repr(params))
        if key in statements:
            statements[key].times += 1
            statements[key].request_ms += ms
        else:
            statements[key] = Statement(sql, params, ms)
    return response.status_code, list(statements.values())


REMOVED = re.compile(r"Rows Removed by Filter: (\d+)")


def removed(plan: list[str]) -> int:
    return max((int(n) for line in plan for n in REMOVED.findall(line)), default=0)


def big_seq_scans(plan: list[str], rows: dict[str, int], big_table: int) -> list[str]:
    return sorted({table for line in plan for table in SEQ_SCAN.findall(line) if rows.get(table, 0) > big_table})


def explain(statement: Statement, rows: dict[str, int], big_table: int, functions: re.Pattern | None) -> None:
    from django.db import DatabaseError

    statement.plan = run_explain(statement)
    statement.big_seq_scans = big_seq_scans(statement.plan, rows, big_table)
    statement.removed = removed(statement.plan)
    if statement.big_seq_scans:
        statement.without_seqscan = run_explain(statement, "SET LOCAL enable_seqscan = off")
    if functions and functions.search(statement.sql):
        # EXPLAIN shows a function as one node: its own statements' plans come from auto_explain.
        try:
            statement.nested = run_nested(statement, rows, big_table)
        except DatabaseError as error:
            statement.nested_note = f"auto_explain could not be loaded ({str(error).strip()}): it needs a superuser"


AUTO_EXPLAIN = ("auto_explain.log_min_duration = 0", "auto_explain.log_analyze = on",
                "auto_explain.log_buffers = on", "auto_explain.log_nested_statements = on",
                "auto_explain.log_level = notice")
AUTO_EXPLAIN_NOTICE = re.compile(r"duration: ([\d.]+) ms\s+plan:\nQuery Text: (.*?)\n(?=\S)(.*)", re.DOTALL)


def run_nested(statement: Statement, rows: dict[str, int], big_table: int) -> list[Nested]:
    """Run the statement once with auto_explain sending every plan, nested ones included, to
    this connection as notices (LOAD needs a superuser); the top statement's own comes last."""
    from django.db import connection, transaction

    notices = []

    def keep(diagnostic):
        notices.append(diagnostic.message_primary or "")

    with transaction.atomic(), connection.cursor() as cursor:
        with transaction.atomic():  # a refused LOAD spoils only its savepoint
            cursor.execute("LOAD 'auto_explain'")
        for setting in AUTO_EXPLAIN:
            cursor.execute(f"SET LOCAL {setting}")
        connection.connection.add_notice_handler(keep)
        try:
            cursor.execute(statement.sql, statement.params)
        finally:
            connection.connection.remove_notice_handler(keep)
        transaction.set_rollback(True)
    runs: dict[str, list[tuple[float, list[str]]]] = {}
    for notice in notices[:-1]:
        if found := AUTO_EXPLAIN_NOTICE.match(notice):
            text = re.sub(r"\s+", " ", found[2]).strip()
            runs.setdefault(text, []).append((float(found[1]), found[3].rstrip().splitlines()))
    nested = []
    for text, done in runs.items():
        slowest_ms, plan = max(done, key=lambda run: run[0])
        nested.append(Nested(text, len(done), sum(ms for ms, _ in done), slowest_ms, plan,
                             big_seq_scans(plan, rows, big_table), removed(plan)))
    return nested


def run_explain(statement: Statement, setting: str | None = None) -> list[str]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if setting:
            cursor.execute(setting)
        # The same SQL and parameters, bound as the page bound them (None: no placeholders, and
        # a literal % stays as it is).
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) " + statement.sql, statement.params)
        lines = [row[0] for row in cursor.fetchall()]
        transaction.set_rollback(True)  # EXPLAIN ANALYZE runs the statement: leave nothing behind
    return lines


# ---- the report --------------------------------------------------------------------------------


def shorten(sql: str, width: int = 220) -> str:
    """One line, the outer SELECT's column list (subqueries included) elided: what is read from
    where, on what condition."""
    text = re.sub(r"\s+", " ", sql).strip()
    if text.upper().startswith("SELECT "):
        depth = 0
        for at, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and text.startswith(" FROM ", at):
                text = "SELECT … " + text[at + 1:]
                break
    return text if len(text) <= width else text[: width - 1] + "…"


def timing(lines: list[str], label: str) -> float | None:
    for line in lines:
        if line.startswith(label):
            return float(re.search(r"([\d.]+) ms", line)[1])
    return None


def top_cost(lines: list[str]) -> str:
    found = re.search(r"cost=([\d.]+\.\.[\d.]+)", lines[0]) if lines else None
    return found[1] if found else "?"


def plan_nodes(lines: list[str]) -> list[str]:
    return [line for line in lines if not line.startswith(("Planning", "Execution Time"))]


def reads_table(plan: list[str], rows: dict[str, int]) -> bool:
    return any(name in rows for line in plan for name in re.findall(r" on (\w+)", line))


def report(args, results, rows: dict[str, int], load_before, load_after) -> str:
    from django.db import connection

    from forum.models import Post

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    big = sorted(((n, t) for t, n in rows.items() if n > args.big_table), reverse=True)
    command = "DATABASE_URL=…/" + connection.settings_dict["NAME"] + " .venv/bin/python " + \
        " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], REPO), *sys.argv[1:]])
    out = [
        "# Query plans of the hot pages (PostgreSQL)", "",
        "Made by `bench/explain.py` (its docstring says how): each page requested once in-process with "
        "DEBUG off, the page cache off and the cache empty, then every SELECT it ran explained with "
        "`EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT)` and the parameters it was sent with.", "",
        "- command:", "", "  ```sh", f"  {command}", "  ```", "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- database: `{connection.settings_dict['NAME']}`, PostgreSQL {version}, "
        f"{Post.objects.count():,} posts" + (f"; {args.note}" if args.note else ""),
        f"- load average (1, 5, 15 min) before: {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after: {' '.join(f'{x:.2f}' for x in load_after)}",
        "- tables over {:,} rows (pg_class.reltuples): {}".format(
            args.big_table, ", ".join(f"`{t}` {n:,}" for n, t in big) or "none"),
        "",
        f"**SEQ SCAN** marks a plan that reads a table of more than {args.big_table:,} rows whole; such a "
        "statement is explained again with `enable_seqscan = off` to show the index plan's cost and time. "
        f"**FILTERED** marks a scan that read and dropped more than {args.filtered:,} rows "
        "(`Rows Removed by Filter`, per loop). "
        "Times are the server's (`Execution Time`) for this one run, warm buffers; \"in request\" is the "
        "statement's time as the page ran it (with the driver's round trip). `×N`: the page ran the same "
        "statement with the same parameters N times.", "",
        "## Summary", "",
        "| page | URL | status | statements | SELECT execution, sum | flagged |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for spec, url, status, statements in results:
        total = sum((timing(s.plan, "Execution Time") or 0) * s.times for s in statements if s.select)
        count = sum(s.times for s in statements)
        found = sorted({t for s in statements for t in s.flagged})
        most = max((s.most_removed for s in statements), default=0)
        if most > args.filtered:
            found.append(f"a scan dropping {most:,} rows")
        flagged = ", ".join(found) or "none"
        out.append(f"| {title(spec)} | `{url}` | {status} | {count} | {total:.2f} ms | {flagged} |")
    for spec, url, status, statements in results:
        out += ["", f"## {title(spec)}", "", f"`GET {url}`: {status}, {sum(s.times for s in statements)} statements.",
                ""]
        for number, s in enumerate(statements, 1):
            times = f" ×{s.times}" if s.times > 1 else ""
            out.append(f"{number}. `{shorten(s.sql)}`{times}")
            if not s.select:
                out += [f"   (not a SELECT: not explained; in request {s.request_ms:.2f} ms)", ""]
                continue
            execution, planning = timing(s.plan, "Execution Time"), timing(s.plan, "Planning Time")
            flag = marks(s.big_seq_scans, s.removed, args.filtered)
            out.append(f"   execution {execution:.3f} ms, planning {planning:.3f} ms, in request "
                       f"{s.request_ms:.2f} ms, cost {top_cost(s.plan)}.{flag}")
            nodes = plan_nodes(s.plan)
            shown = nodes if s.big_seq_scans else nodes[: args.lines]
            out += ["", "   ```text", *[f"   {line}" for line in shown]]
            if len(shown) < len(nodes):
                out.append(f"   … {len(nodes) - len(shown)} more lines")
            out += ["   ```", ""]
            if s.without_seqscan:
                alternative = plan_nodes(s.without_seqscan)
                out += [f"   With `enable_seqscan = off`: execution "
                        f"{timing(s.without_seqscan, 'Execution Time'):.3f} ms, cost {top_cost(s.without_seqscan)} "
                        f"(the planner's choice: cost {top_cost(s.plan)}).", "", "   ```text",
                        *[f"   {line}" for line in alternative[: args.lines]], "   ```", ""]
            if s.nested_note:
                out += [f"   Inside the function: not shown, {s.nested_note}.", ""]
            # Statements that read no table (the functions' arithmetic, calls of one another) are counted only.
            reading = [n for n in s.nested if reads_table(n.plan, rows)]
            others = [n for n in s.nested if n not in reading]
            if s.nested:
                out += [f"   Inside the functions (auto_explain, one run): {len(reading)} statements reading tables"
                        + (f", and {len(others)} others (expressions, calls of functions) run "
                           f"{sum(n.runs for n in others)} times, {sum(n.total_ms for n in others):.3f} ms in all"
                           if others else "") + ":", ""]
            for n in reading:
                flag = marks(n.big_seq_scans, n.removed, args.filtered)
                runs = f"{n.runs} runs, {n.total_ms:.3f} ms in all, slowest" if n.runs > 1 else "1 run,"
                shown = n.plan if n.big_seq_scans else n.plan[: args.lines]
                out += [f"   - `{shorten(n.text)}`: {runs} {n.slowest_ms:.3f} ms, cost {top_cost(n.plan)}.{flag}",
                        "", "     ```text", *[f"     {line}" for line in shown]]
                if len(shown) < len(n.plan):
                    out.append(f"     … {len(n.plan) - len(shown)} more lines")
                out += ["     ```", ""]
    return "\n".join(out).rstrip() + "\n"


def marks(tables: list[str], dropped: int, filtered: int) -> str:
    return ((f" **SEQ SCAN** on {', '.join(tables)}." if tables else "")
            + (f" **FILTERED**: a scan read and dropped {dropped:,} rows." if dropped > filtered else ""))


def title(spec: str) -> str:
    page, _, role = spec.partition(":")
    return TITLES.get(page, page) + (f", as {role}" if role else "")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"{time.monotonic() - started:.0f} s")
