from django.core.management.base import BaseCommand

from forum.counters import rebuild_counters


class Command(BaseCommand):
    help = "Recompute the forum's denormalised counters (post counts, last positions, volume sizes)."

    def handle(self, *args, **options):
        wrong = rebuild_counters()
        self.stdout.write(f"rebuilt counters: {wrong['threads']} threads and {wrong['volumes']} volumes were wrong")
