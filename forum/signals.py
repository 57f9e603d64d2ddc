"""What the forum tells the rest of Daiou, without importing it (incidents listens).

`posts_changed` is sent once the transaction that wrote the posts has committed, with the ids
of posts created or changed (text, visibility); derived data — indicators, the search index —
is rebuilt from them. Receivers must not raise: the post is saved whatever they do.
"""

from django.db import transaction
from django.dispatch import Signal

posts_changed = Signal()  # sender: forum.models.Post; kwargs: post_ids (list[int])

# Sent at once, inside the transaction that took text out of posts for good (a moderator's
# redaction, a deletion): receivers re-derive what they keep from these posts now and drop
# every copy of the old text (indicators seen only there, however reviewed). A receiver that
# raises rolls the whole action back, so no copy outlives a redaction that was reported done.
posts_purged = Signal()  # sender: forum.models.Post; kwargs: post_ids (list[int])


def announce_posts_changed(post_ids) -> None:
    """Call inside the writing transaction; receivers run after it commits."""
    ids = list(post_ids)
    if ids:
        from .models import Post

        transaction.on_commit(lambda: posts_changed.send_robust(sender=Post, post_ids=ids))
