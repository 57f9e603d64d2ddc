from django.core.management.base import BaseCommand, CommandError

from forum.progress import ProgressBar
from incidents.indexing import index_new_posts, rebuild


class Command(BaseCommand):
    help = ("Read every post again and rebuild indicators, sightings and quoted mails (after brand aliases "
            "or extraction rules changed, or posts were deleted). Reviews are kept. --resume goes on after "
            "the last post a stopped rebuild stored.")

    def add_arguments(self, parser):
        parser.add_argument("--resume", action="store_true",
                            help="keep what is there and read only the posts after the last one read")
        parser.add_argument("--new-posts", action="store_true",
                            help="read only the posts after the last one anything was taken from, as new posts "
                                 "are read, without counting every indicator again (after a bulk fill)")

    def handle(self, *args, resume=False, new_posts=False, **options):
        bar = ProgressBar(self.stderr, "rebuild_indicators: posts") if options["verbosity"] else None

        def progress(done, total):
            if bar:
                bar(done, total)
            if options["verbosity"] >= 2:
                self.stdout.write(f"{done}/{total} posts")

        if new_posts and resume:
            raise CommandError("--new-posts and --resume are two ways of going on: choose one")
        counts = index_new_posts(progress=progress) if new_posts else rebuild(progress=progress, resume=resume)
        if bar:
            bar.finish()
        self.stdout.write(self.style.SUCCESS(
            f"{counts['posts']} posts read: {counts['indicators']} indicators, {counts['sightings']} sightings"))
