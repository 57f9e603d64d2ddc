from django.core.management.base import BaseCommand
from django.db import transaction

from forum.models import Profile
from django.contrib.auth import get_user_model

DEMO_USER = "demo"
DEMO_PASSWORD = "daiou-demo-password"


class Command(BaseCommand):
    help = "Demo data for local use: a demo member (and, once imported, the seed volume). Safe to run twice."

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=DEMO_USER, defaults={"email": "demo@example.org"})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            Profile.objects.create(user=user, display_name="デモ会員", device="ThinkPad", os="Win11")
        self.stdout.write(f"demo member: {DEMO_USER} / {DEMO_PASSWORD}")
