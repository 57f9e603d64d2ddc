from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forum.corpus import CorpusWriter

BOARDS = {"info": "情報", "chat": "雑談"}


class Command(BaseCommand):
    help = "Write synthetic volume pages in the seed's shapes (for benchmarks): one file per volume."

    def add_arguments(self, parser):
        parser.add_argument("out", help="folder to write the pages into")
        parser.add_argument("--volumes", type=int, default=100, help="volumes per board (default 100)")
        parser.add_argument("--threads-per-volume", type=int, default=10)
        parser.add_argument("--posts-per-thread", type=int, default=10)
        parser.add_argument("--boards", default="info,chat", help="board slugs (info, chat)")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, out, volumes, threads_per_volume, posts_per_thread, boards, seed, **options):
        slugs = [s for s in boards.split(",") if s]
        if unknown := [s for s in slugs if s not in BOARDS]:
            raise CommandError(f"unknown board(s) {unknown}; choose from {sorted(BOARDS)}")
        if min(volumes, threads_per_volume, posts_per_thread) < 1:
            raise CommandError("--volumes, --threads-per-volume and --posts-per-thread must be at least 1")
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        writer = CorpusWriter(seed)
        posts = 0
        for slug in slugs:
            for volume, page in writer.pages(BOARDS[slug], volumes, threads_per_volume=threads_per_volume,
                                             posts_per_thread=posts_per_thread):
                (folder / f"{slug}-{volume.number:05d}.txt").write_text(page, encoding="utf-8")
                posts += sum(len(t.posts) for t in volume.threads)
        self.stdout.write(f"wrote {volumes * len(slugs)} volume pages ({posts} posts) to {folder}")
