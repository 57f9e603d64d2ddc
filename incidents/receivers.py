"""What incidents does when the forum or an admin changes something (connected in apps.py)."""
import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def index_changed_posts(sender, post_ids, **kwargs):
    """forum.signals.posts_changed: runs after the posts' transaction committed. It must not
    raise (the post is saved whatever happens here); `manage.py rebuild_indicators` repairs
    what a failure left behind."""
    from .indexing import index_posts

    try:
        index_posts(post_ids)
    except Exception:
        logger.exception("indicators of posts %s were not updated; run manage.py rebuild_indicators", post_ids[:20])


def purge_posts(sender, post_ids, **kwargs):
    """forum.signals.posts_purged: inside the moderator's transaction; an error rolls it back."""
    from .indexing import purge_posts

    purge_posts(post_ids)


def brand_saved(sender, instance, **kwargs):
    brand_id = instance.pk
    transaction.on_commit(lambda: _reassess([brand_id]))


def brand_deleting(sender, instance, **kwargs):
    # Its indicators lose the brand (SET_NULL) when the row goes: remember them before.
    from .models import Indicator

    instance._indicator_ids = list(Indicator.objects.filter(brand=instance).values_list("pk", flat=True))


def brand_deleted(sender, instance, **kwargs):
    ids = getattr(instance, "_indicator_ids", [])

    def refresh_them():
        from .indexing import note_change, refresh

        with transaction.atomic():
            refresh(ids)
            note_change()

    transaction.on_commit(refresh_them)


def _reassess(brand_ids):
    from .indexing import reassess_brand_hosts

    reassess_brand_hosts(brand_ids)
