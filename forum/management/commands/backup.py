from django.core.management.base import BaseCommand, CommandError

from forum.backup import BackupError, make_backup


class Command(BaseCommand):
    help = ("Write a complete backup into DIR (a new or empty folder): every row but the search index, "
            "rate-limit windows and sessions (data.jsonl.gz), every volume as text (archive/), the files of "
            "MEDIA_ROOT (media/) and manifest.json (rows, migrations, checksums). The site may keep running: "
            "everything is read in one snapshot. `manage.py restore DIR` puts it back into an empty database.")

    def add_arguments(self, parser):
        parser.add_argument("dir", help="the backup's folder (must not exist, or be empty)")

    def handle(self, *args, dir, verbosity, **options):
        log = self.stdout.write if verbosity >= 2 else (lambda message: None)
        try:
            manifest = make_backup(dir, log=log)
        except BackupError as error:
            raise CommandError(str(error)) from None
        for name in manifest["missing_media"]:
            self.stderr.write(f"warning: the file of a figure was missing from MEDIA_ROOT: {name}")
        if verbosity:
            self.stdout.write(f"backup in {dir}: {sum(manifest['rows'].values())} rows in {len(manifest['rows'])} "
                              f"tables, {manifest['volumes']} volumes, {manifest['media_files']} media files")
