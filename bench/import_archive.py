"""Benchmark: import N synthetic volume pages (10 threads × 10 posts each) into an empty database.

    .venv/bin/python bench/import_archive.py --pages 1000 --db sqlite
    .venv/bin/python bench/import_archive.py --pages 1000 --db postgres
    .venv/bin/python bench/import_archive.py --pages 100 --profile bench/data/import.prof   # cProfile

Pages are generated once into bench/data/corpus-N (reused). The database is fresh each run:
bench/data/import.sqlite3, or the PostgreSQL database daiou_bench_import (dropped first). The
pages go through `import_volumes` as `manage.py import_archive` does, with DEBUG off, so
everything an import triggers runs as in production: parsing, redaction of quoted mails,
blocks, rendering, and, after each commit of about 2,000 posts, the `posts_changed` receivers
(the indicators of incidents.indexing and the search index of forum.search_index), in two
processes beside the importer (`--background off`: in the importer, after each commit). It
prints posts per second, CPU seconds of the importer's process (not the receivers' processes,
not PostgreSQL's server) and its resident memory every 10% of the files, then what the
receivers made, and the load average before and after (the machine is shared: read the
numbers with it).
"""

import argparse
import cProfile
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "bench" / "data"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--background", choices=["on", "off"], default="on",
                        help="the receivers in a second process, as import_archive does (on), or after each commit in this one")
    parser.add_argument("--profile", metavar="FILE", help="write cProfile statistics of the import loop to FILE")
    args = parser.parse_args()
    load_before = os.getloadavg()

    corpus = DATA / f"corpus-{args.pages}"
    python = sys.executable
    if not corpus.exists():
        per_board = max(1, args.pages // 2)
        subprocess.run([python, "manage.py", "generate_corpus", str(corpus), "--volumes", str(per_board)],
                       cwd=REPO, check=True)
    if args.db == "sqlite":
        db = DATA / "import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db}"
    else:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "DROP DATABASE IF EXISTS daiou_bench_import"], check=True)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "CREATE DATABASE daiou_bench_import"], check=True)
        url = "postgres://postgres@127.0.0.1:5432/daiou_bench_import"
    os.environ["DATABASE_URL"] = url
    # As deployed: with DEBUG on, Django would keep every query's SQL in memory.
    os.environ.update(DEBUG="0", DAIOU_HTTPS="0", SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-" + "x" * 40))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(REPO))
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=REPO, check=True, env=os.environ)

    import django

    django.setup()
    from forum.archive_io import import_volumes
    from forum.models import SearchDocument
    from forum.signals import posts_changed
    from incidents.models import Indicator, Sighting

    print(f"posts_changed has {len(posts_changed.receivers)} receivers (indicators, search index)")
    files = sorted(corpus.glob("*.txt"))
    profile = cProfile.Profile() if args.profile else None
    posts, started, cpu_started = 0, time.perf_counter(), time.process_time()
    samples = []
    if profile:
        profile.enable()
    pages = ((str(path), lambda path=path: path.read_text(encoding="utf-8")) for path in files)
    for i, (source, report) in enumerate(import_volumes(pages, background=args.background == "on"), 1):
        if not hasattr(report, "created"):
            raise SystemExit(f"{source}: {report}")
        posts += report.created["post"]
        if i % max(1, len(files) // 10) == 0 or i == len(files):
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            samples.append((i, posts, elapsed, rss_mb()))
            print(f"{i:5d} files {posts:7d} posts {elapsed:7.1f} s {posts / elapsed:7.0f} posts/s "
                  f"cpu {cpu:7.1f} s rss {rss_mb():6.0f} MB", flush=True)
    if profile:
        profile.disable()
        profile.dump_stats(args.profile)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(f"made: {SearchDocument.objects.count()} search documents, {Indicator.objects.count()} indicators, "
          f"{Sighting.objects.count()} sightings")
    load_after = os.getloadavg()
    print(f"RESULT db={args.db} files={len(files)} posts={posts} seconds={elapsed:.1f} "
          f"posts_per_second={posts / elapsed:.0f} cpu_seconds={cpu:.1f} rss_first={samples[0][3]:.0f}MB "
          f"rss_last={samples[-1][3]:.0f}MB load_before={load_before[0]:.2f},{load_before[1]:.2f},{load_before[2]:.2f} "
          f"load_after={load_after[0]:.2f},{load_after[1]:.2f},{load_after[2]:.2f}")


if __name__ == "__main__":
    main()
