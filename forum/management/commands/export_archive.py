from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from forum.archive.volume import ArchiveError
from forum.archive_io import volume_page, volumes_for_export
from forum.models import Board, Volume


class Command(BaseCommand):
    help = ("Write volumes in the old forum's format: `export_archive BOARD VOLUME [-o FILE]` for one, "
            "`export_archive --all DIR` for every volume of every board (one file each).")

    def add_arguments(self, parser):
        parser.add_argument("board", nargs="?", help="board slug or name")
        parser.add_argument("volume", nargs="?", type=int)
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")
        parser.add_argument("--all", metavar="DIR", help="write every volume into DIR")

    def handle(self, *args, board=None, volume=None, output=None, all=None, **options):
        try:
            if all:
                if board or volume:
                    raise CommandError("--all takes no board or volume")
                folder = Path(all)
                folder.mkdir(parents=True, exist_ok=True)
                count = 0
                for vol in volumes_for_export():
                    target = folder / f"{vol.board.slug}-{vol.number:05d}.txt"
                    target.write_bytes(volume_page(vol).encode("utf-8"))
                    count += 1
                self.stdout.write(f"wrote {count} volumes to {folder}")
                return
            if not board or volume is None:
                raise CommandError("name a board and a volume number, or use --all DIR")
            found = Board.objects.filter(slug=board).first() or Board.objects.filter(name=board).first()
            if found is None:
                raise CommandError(f"no board {board!r}")
            vol = Volume.objects.filter(board=found, number=volume).select_related("board").first()
            if vol is None:
                raise CommandError(f"{found.name} has no volume {volume}")
            data = volume_page(vol).encode("utf-8")
        except ArchiveError as error:
            raise CommandError(str(error)) from None
        if output:
            Path(output).write_bytes(data)
        else:
            self.stdout.buffer.write(data) if hasattr(self.stdout, "buffer") else self.stdout.write(data.decode(), ending="")
