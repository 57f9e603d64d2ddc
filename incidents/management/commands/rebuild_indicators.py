from django.core.management.base import BaseCommand

from incidents.indexing import rebuild


class Command(BaseCommand):
    help = ("Read every post again and rebuild indicators, sightings and quoted mails (after brand aliases "
            "or extraction rules changed, or posts were deleted). Reviews are kept.")

    def handle(self, *args, **options):
        def progress(done, total):
            if options["verbosity"] >= 2:
                self.stdout.write(f"{done}/{total} posts")

        counts = rebuild(progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"{counts['posts']} posts read: {counts['indicators']} indicators, {counts['sightings']} sightings"))
