#!/usr/bin/env python
"""Reply benchmark in-process (issue 8): what posting a reply costs in CPU, without a server,
a network or wrk in the way.

    cp var/bench-http-10000.sqlite3 /tmp/reply-bench.sqlite3      # replies write: use a copy
    export DATABASE_URL=sqlite:////tmp/reply-bench.sqlite3          # or postgres://… (your own)
    .venv/bin/python bench/reply.py --replies 200
    .venv/bin/python bench/reply.py --profile --replies 200        # cProfile of the replies
    .venv/bin/python bench/reply.py --queries                      # the queries of one reply

As bench/http_load.py's "posting a reply" scenario: a logged-in member who may post without
being held (`bench-reply`, made once, with the limits.established permission) sends the
composer's form with a CSRF token to the newest regular thread of `chat`: a Markdown body
with a link and a phone number, a new text each time, answered by a redirect. Django's test
client with DEBUG off and the whole middleware stack; it closes each response as a server
does, which runs what forum.signals.posts_changed_after_response deferred (indicators and the
search document), so that work is counted too (checked: the last reply has its indicators).

It prints the median and p90 of each reply's time in milliseconds and the median of the CPU
time this process spent on it; on PostgreSQL the server's own work is not in that CPU time,
so the mean CPU time of the connection's server process (on this machine: /proc) is added.
The flood and duplicate limits are lifted through the environment as the HTTP benchmark does
(DAIOU_FLOOD_SECONDS=0, DAIOU_DUPLICATE_SECONDS=0).

The indicators of the body (its link, host, domain and phone number) gain a sighting with
every reply, as in the HTTP benchmark: a long run measures much-seen indicators.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.http_load import REPLY_TEXT  # noqa: E402  (the same body as the HTTP benchmark's)
from bench.pages import profile_calls  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=100, help="timed replies")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile --replies replies instead")
    parser.add_argument("--queries", action="store_true", help="print the queries of one reply instead")
    args = parser.parse_args()
    setup()
    from django.conf import settings

    client, path, csrf = prepare()
    send = Replies(client, path, csrf)
    for _ in range(args.warmup):
        send()
    if args.queries:
        show_queries(send)
        return
    if args.profile:
        profile_calls(send, args.replies)
        return
    times, cpu = [], []
    server_before = server_cpu()
    for _ in range(args.replies):
        started, started_cpu = time.perf_counter(), time.process_time()
        send()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    server = server_cpu()
    send.check_derived()
    print(f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, {args.replies} replies to {path}, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"reply: median {statistics.median(times):7.2f} ms  p90 {statistics.quantiles(times, n=10)[-1]:7.2f} ms"
          f"  CPU median {statistics.median(cpu):7.2f} ms"
          + (f"  + PostgreSQL server CPU mean {(server - server_before) / args.replies:5.2f} ms"
             if server is not None else ""))


def setup() -> None:
    # As served: DEBUG off, plain HTTP for the test client; the flood and duplicate limits lifted.
    os.environ.update({"DEBUG": "0", "DAIOU_HTTPS": "0", "DJANGO_SETTINGS_MODULE": "bench.http_settings",
                       "DAIOU_FLOOD_SECONDS": "0", "DAIOU_DUPLICATE_SECONDS": "0"})
    os.environ.setdefault("SECRET_KEY", "bench-reply")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("STATIC_ROOT", str(REPO / "var" / "bench-pages-static"))
    os.environ.setdefault("CACHE_KEY_PREFIX", "bench-reply")
    import django

    django.setup()


def prepare():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    from forum.models import Profile, Thread

    user, made = get_user_model().objects.get_or_create(username="bench-reply",
                                                        defaults={"email": "bench-reply@example.org"})
    if made:
        Profile.objects.create(user=user, display_name="bench-reply")
        user.user_permissions.add(Permission.objects.get(content_type__app_label="limits", codename="established"))
    client = Client()
    client.force_login(user)
    csrf = _get_new_csrf_string()
    client.cookies["csrftoken"] = csrf
    thread = Thread.objects.filter(board__slug="chat").order_by("-number").first()
    if thread is None:
        raise SystemExit("no thread in `chat`: fill the database with manage.py fill_corpus first")
    return client, f"/chat/{thread.number}/reply/", csrf


class Replies:
    """Sends one reply per call, each with a new text (the duplicate check would see no repeat)."""

    def __init__(self, client, path: str, csrf: str):
        self.client, self.path, self.csrf, self.sent = client, path, csrf, 0
        self.run = os.getpid()

    def __call__(self) -> None:
        self.sent += 1
        response = self.client.post(self.path, {
            "step": "post", "subtitle": "", "device": "", "os": "", "csrfmiddlewaretoken": self.csrf,
            "body": f"{REPLY_TEXT}{self.run}-{self.sent}"})
        if response.status_code != 302:
            raise SystemExit(f"a reply to {self.path} was answered {response.status_code}, not a redirect")

    def check_derived(self) -> None:
        """The work deferred after the response ran: the last reply has its indicators."""
        from forum.models import Post
        from incidents.models import Sighting

        post = Post.objects.filter(author__username="bench-reply").order_by("-pk").first()
        if not Sighting.objects.filter(post=post).exists():
            raise SystemExit(f"post {post.pk} has no indicators: the after-response work did not run")


def server_cpu() -> float | None:
    """CPU time (ms) of this connection's PostgreSQL backend so far, when it runs on this
    machine (read from /proc); None on SQLite, whose work is this process's own."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")  # utime + stime


def show_queries(send) -> None:
    """Each query of one reply, with its time in the database's driver (Django's debug cursor)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        send()
    for n, query in enumerate(queries.captured_queries, 1):
        print(f"{n:3} {float(query['time']) * 1000:6.2f} ms  {query['sql'][:250]}")
    print(f"{len(queries.captured_queries)} queries, "
          f"{sum(float(q['time']) for q in queries.captured_queries) * 1000:.2f} ms in the driver")


if __name__ == "__main__":
    main()
