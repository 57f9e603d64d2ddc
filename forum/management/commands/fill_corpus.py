import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Max

from forum import corpus_fill
from forum.models import Post
from forum.progress import ProgressBar

STEPS = ("fill", "render", "indicators", "search")


class Command(BaseCommand):
    help = ("Fill the database with a synthetic archive in the seed's shapes (for benchmarks), in bulk, then "
            "build what is derived from the posts: HTML, indicators, the search index. Each step is timed, "
            "shows its progress and goes on where a stopped run left it.")

    def add_arguments(self, parser):
        parser.add_argument("--posts", type=int, default=10_000,
                            help="posts on the two boards, in whole volumes of 100 (default 10,000)")
        parser.add_argument("--long-threads", default="50,1000",
                            help="post counts of extra threads in a volume of their own on `info` "
                                 "(the thread-page benchmarks'); '' for none (default 50,1000)")
        parser.add_argument("--steps", default=",".join(STEPS), help=f"any of {', '.join(STEPS)} (default: all)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--parallel", action="store_true",
                            help="PostgreSQL: build HTML, indicators and the search index at once, in three "
                                 "processes (each still timed on its own; on 2 cores the three take about half "
                                 "as long). Ignored on SQLite: its one writer made the three wait on each other")

    def handle(self, *args, posts, long_threads, steps, seed, parallel, verbosity, **options):
        wanted = [s.strip() for s in steps.split(",") if s.strip()]
        if unknown := [s for s in wanted if s not in STEPS]:
            raise CommandError(f"unknown step(s) {unknown}; choose from {', '.join(STEPS)}")
        try:
            sizes = tuple(int(n) for n in long_threads.split(",") if n.strip())
        except ValueError:
            raise CommandError("--long-threads takes post counts separated by commas, e.g. 50,1000") from None
        if posts < 1 or any(n < 1 for n in sizes):
            raise CommandError("--posts and --long-threads must be at least 1")
        times = {}
        if "fill" in wanted:
            bar = ProgressBar(self.stderr, "fill: posts")
            written = corpus_fill.fill(posts, seed=seed, long_threads=sizes, progress=bar)
            times["fill"] = bar.finish()
            self.stdout.write(f"fill: {written:,} posts written in {times['fill']:.1f} s")
        # Indicators as new posts take them in: a rebuild would count every indicator again at the end.
        derived = {"render": ("rerender", {}), "indicators": ("rebuild_indicators", {"new_posts": True}),
                   "search": ("rebuild_search_index", {"resume": True})}
        # The generator's posts (imported ones): posts made through the site since (a benchmark's
        # replies) had their derived data made as they were posted.
        last_post = Post.objects.filter(format=Post.Format.ARCHIVE).aggregate(last=Max("pk"))["last"] or 0
        todo = []
        for step in STEPS[1:]:
            if step in wanted and finished(step) == last_post:
                self.stdout.write(f"{step}: done already, up to post {last_post}")
            elif step in wanted:
                todo.append(step)
        if parallel and connection.vendor == "sqlite":
            # Measured at a million posts: side by side, rerender got 150-200 posts/s waiting for
            # the one writer's lock (3.5 hours to go); alone it writes 5,000/s.
            self.stdout.write("--parallel is ignored on SQLite: one step after the other is faster")
            parallel = False
        if parallel and len(todo) > 1:
            # Each in its own process (its own connection).
            connection.close()
            started = time.monotonic()
            running = {step: subprocess.Popen([sys.executable, "manage.py", derived[step][0],
                                               *["--" + flag.replace("_", "-") for flag in derived[step][1]],
                                               "--verbosity", str(verbosity)], cwd=settings.BASE_DIR,
                                              env={**os.environ, "DATABASE_URL": _database_url()})
                       for step in todo}
            while running:
                for step, process in list(running.items()):
                    if process.poll() is None:
                        continue
                    del running[step]
                    if process.returncode:
                        raise CommandError(f"{step} ({derived[step][0]}) failed with exit code {process.returncode}")
                    times[step] = time.monotonic() - started
                    note_finished(step, last_post)
                    self.stdout.write(f"{step}: {times[step]:.1f} s")
                time.sleep(0.5)
            todo = []
        for step in todo:
            name, kwargs = derived[step]
            started = time.monotonic()
            call_command(name, verbosity=verbosity, stdout=self.stdout, stderr=self.stderr, **kwargs)
            times[step] = time.monotonic() - started
            note_finished(step, last_post)
            self.stdout.write(f"{step}: {times[step]:.1f} s")
        self.stdout.write("times: " + (", ".join(f"{step} {seconds:.1f} s" for step, seconds in times.items())
                                       or "nothing left to do"))


# The derived steps that finished, by database, with the highest post they covered: a benchmark
# reusing a filled database skips them (rebuild_indicators --resume would recompute every
# indicator again). Kept beside the local databases, in var/.
def _state_path() -> Path:
    return Path(settings.VAR_DIR) / "fill-corpus-state.json"


def _database_url() -> str:
    """This connection's database, for the step processes (a test's database, too)."""
    d = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{d['NAME']}"
    return f"postgres://{d['USER']}:{d['PASSWORD'] or ''}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


def _database() -> str:
    return f"{connection.vendor}:{connection.settings_dict['NAME']}"


def finished(step: str) -> int | None:
    try:
        return json.loads(_state_path().read_text()).get(_database(), {}).get(step)
    except (OSError, ValueError):
        return None


def note_finished(step: str, last_post: int) -> None:
    path = _state_path()
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        state = {}
    state.setdefault(_database(), {})[step] = last_post
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=1))
