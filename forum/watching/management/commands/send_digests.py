from django.core.management.base import BaseCommand

from forum.watching.digest import send_digests


class Command(BaseCommand):
    help = ("Mail each member who asked for the digest the watched threads with new replies since their "
            "last one (titles and links only). Run daily from cron.")

    def handle(self, *args, **options):
        sent = send_digests()
        self.stdout.write(f"{sent} digest(s) sent")
