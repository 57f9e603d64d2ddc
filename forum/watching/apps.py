from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WatchingConfig(AppConfig):
    name = "forum.watching"
    label = "watching"
    verbose_name = _("Watching")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .actions import digest_language_at_login

        user_logged_in.connect(digest_language_at_login, dispatch_uid="watching.digest_language")
