from django.core.management.base import BaseCommand, CommandError

from forum.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = ("Restore a backup made by `manage.py backup` into an empty database (a new one: the tables are "
            "made first) and MEDIA_ROOT, with the same Daiou release (migrations) that made it. Checks every "
            "file's checksum first, loads every row in one transaction (all or nothing), verifies the row "
            "counts, rebuilds the search index and counters, and checks that every volume exports exactly "
            "as the backup holds it.")

    def add_arguments(self, parser):
        parser.add_argument("dir", help="the backup's folder")

    def handle(self, *args, dir, verbosity, **options):
        log = self.stdout.write if verbosity >= 2 else (lambda message: None)
        try:
            done = restore_backup(dir, log=log)
        except BackupError as error:
            raise CommandError(str(error)) from None
        if verbosity:
            self.stdout.write(f"restored {sum(done['rows'].values())} rows in {len(done['rows'])} tables and "
                              f"{done['media_files']} media files; {done['indexed']} posts indexed for search")
