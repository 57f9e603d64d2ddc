"""Benchmark: parse, redact and render each of the 142 corpus mails as the composer does.

    .venv/bin/python bench/quoting.py [--rounds 3]

Per mail: incidents.mail.parse_mail → incidents.redact.redact_mail → the post's blocks and
HTML (forum.actions' own function, without the database). Prints mails per second, the median
and the slowest mail (best of the rounds per mail).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shared", default=os.environ.get("DAIOU_SHARED", str(REPO.parent / "shared")))
    args = parser.parse_args()
    import django

    django.setup()
    from forum import actions, quoting

    files = sorted((Path(args.shared) / "corpus" / "eml").rglob("*.eml"))
    best = {}
    for _ in range(args.rounds):
        for path in files:
            data = path.read_bytes()
            started = time.perf_counter()
            quotes, _, _ = quoting.quote_mail(data, None)
            actions.preview_html(actions.PostFields(body="", quotes=tuple(quotes)))
            elapsed = time.perf_counter() - started
            best[path.name] = min(best.get(path.name, elapsed), elapsed)
    times = sorted(best.values())
    slowest = max(best, key=best.get)
    print(f"RESULT mails={len(files)} total={sum(times):.2f}s mails_per_second={len(files) / sum(times):.0f} "
          f"median={statistics.median(times) * 1000:.1f}ms p90={times[int(len(times) * 0.9)] * 1000:.1f}ms "
          f"slowest={slowest} {best[slowest] * 1000:.0f}ms")


if __name__ == "__main__":
    main()
