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
        # Cached pages are named by Thread.version: saves made outside forum's writers bump it too.
        from django.db.models.signals import post_delete

        from . import pagecache
        from .models import Board, Post

        for model in (Board, Thread, Post):
            post_save.connect(pagecache.on_saved, sender=model, dispatch_uid=f"forum.pagecache.{model.__name__}")
        post_delete.connect(pagecache.on_post_deleted, sender=Post, dispatch_uid="forum.pagecache.post_deleted")
