import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from forum.archive_io import import_volume
from forum.models import Profile

DEMO_USER = "demo"
DEMO_PASSWORD = "daiou-demo-password"


def seed_folder() -> Path:
    # The seed page lives in the workplace's shared folder beside the checkout, never in git.
    return Path(os.environ.get("DAIOU_SHARED", settings.BASE_DIR.parent / "shared")) / "seeds"


class Command(BaseCommand):
    help = "Demo data for local use: a demo member and the seed volume (情報NO.70). Safe to run again."

    def handle(self, *args, **options):
        with transaction.atomic():
            User = get_user_model()
            user, created = User.objects.get_or_create(username=DEMO_USER, defaults={"email": "demo@example.org"})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
                Profile.objects.create(user=user, display_name="デモ会員", device="ThinkPad", os="Win11")
            # The demo member is established (forum.limits.gate), so trying the composer publishes
            # at once instead of waiting for a moderator who does not exist locally.
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label="limits", codename="established"))
        pages = sorted(seed_folder().glob("*.txt"))
        if not pages:
            self.stdout.write(f"no seed pages in {seed_folder()}: the archive stays empty")
        for page in pages:
            report = import_volume(page.read_text(encoding="utf-8"), str(page))
            self.stdout.write(report.lines()[0])
        self.stdout.write(f"demo member: {DEMO_USER} / {DEMO_PASSWORD}  →  http://127.0.0.1:8000/info/916/")
