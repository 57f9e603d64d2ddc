from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_delete
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "incidents"
    verbose_name = _("Incidents")

    def ready(self):
        from forum.signals import posts_changed, posts_purged

        from . import receivers
        from .models import Brand

        posts_changed.connect(receivers.index_changed_posts, dispatch_uid="incidents.index_changed_posts")
        posts_purged.connect(receivers.purge_posts, dispatch_uid="incidents.purge_posts")
        post_save.connect(receivers.brand_saved, sender=Brand, dispatch_uid="incidents.brand_saved")
        pre_delete.connect(receivers.brand_deleting, sender=Brand, dispatch_uid="incidents.brand_deleting")
        post_delete.connect(receivers.brand_deleted, sender=Brand, dispatch_uid="incidents.brand_deleted")
