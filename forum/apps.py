from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForumConfig(AppConfig):
    name = "forum"
    verbose_name = _("Forum")

    def ready(self):
        from django.db.models.signals import post_migrate, post_save

        from . import search_index
        from .models import Thread
        from .signals import posts_changed

        posts_changed.connect(search_index.on_posts_changed, dispatch_uid="forum.search_index")
        post_save.connect(search_index.on_thread_saved, sender=Thread, dispatch_uid="forum.search_index.thread")
        post_migrate.connect(search_index.ensure_hidden_indexes, sender=self, dispatch_uid="forum.search_index.hidden")
