from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from forum.figures.actions import PRUNE_AFTER, prune


class Command(BaseCommand):
    help = ("Delete figures uploaded in the composer but never posted (older than a day by default) and "
            "every figure file no row uses any more; figures an earlier version of a post shows are kept. "
            "Run it daily (cron).")

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=PRUNE_AFTER.total_seconds() / 3600,
                            help="age of an unattached figure that is deleted (default: 24)")

    def handle(self, *args, hours, **options):
        if hours < 1:
            raise CommandError("--hours must be at least 1: a figure younger than that may be in a composer now")
        rows, files = prune(older_than=timedelta(hours=hours))
        self.stdout.write(f"pruned {rows} unattached figures and {files} unused files")
