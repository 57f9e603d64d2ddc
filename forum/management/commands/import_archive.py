from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, reset_queries

from forum.archive.volume import ArchiveError
from forum.archive_io import MAX_PAGE_BYTES, import_volumes


def _reader(page: Path):
    def read() -> str:
        reset_queries()  # with DEBUG on, Django keeps each query's SQL until told otherwise
        if page.stat().st_size > MAX_PAGE_BYTES:
            raise ArchiveError(f"{page}: larger than {MAX_PAGE_BYTES // 2**20} MB; not a volume page")
        data = page.read_bytes()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ArchiveError(f"{page}: byte {error.start}: not UTF-8 text (volume pages are UTF-8)") from None
    return read


def _pages(paths: list[str]) -> list[Path]:
    pages = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            pages += sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            pages.append(path)
        else:
            raise CommandError(f"{raw}: no such file or folder")
    return pages


class Command(BaseCommand):
    help = ("Import volume pages of the old forum (files or folders). Each file is imported whole or not at all; "
            "files are committed together, about two thousand posts at a time.")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")

    def handle(self, *args, paths, dry_run=False, **options):
        failed = 0
        outcomes = import_volumes(((str(page), _reader(page)) for page in _pages(paths)), dry_run=dry_run)
        while True:
            try:
                _source, outcome = next(outcomes)
            except StopIteration:
                break
            except DatabaseError as error:
                raise CommandError(f"{error}; the files not listed above were not imported (nothing of them "
                                   "was written): import them again") from error
            if isinstance(outcome, ArchiveError):
                failed += 1
                self.stderr.write(f"error: {outcome}")
                continue
            for line in outcome.lines():
                self.stdout.write(("(dry run) " if dry_run else "") + line)
        if failed:
            raise CommandError(f"{failed} file(s) not imported; nothing of them was written")
