"""What the forum tells the rest of Daiou, without importing it (incidents listens).

`posts_changed` is sent once the transaction that wrote the posts has committed, with the ids
of posts created or changed (text, visibility); derived data — indicators, the search index —
is rebuilt from them. Receivers must not raise: the post is saved whatever they do.
"""

import threading
from contextlib import contextmanager

from django.db import transaction
from django.dispatch import Signal

posts_changed = Signal()  # sender: forum.models.Post; kwargs: post_ids (list[int])

# Sent at once, inside the transaction that took text out of posts for good (a moderator's
# redaction, a deletion): receivers re-derive what they keep from these posts now and drop
# every copy of the old text (indicators seen only there, however reviewed). A receiver that
# raises rolls the whole action back, so no copy outlives a redaction that was reported done.
posts_purged = Signal()  # sender: forum.models.Post; kwargs: post_ids (list[int])


_batch = threading.local()


def send_posts_changed(ids: list[int]) -> None:
    """Run the receivers now (the transaction that wrote these posts has committed)."""
    from .models import Post

    posts_changed.send_robust(sender=Post, post_ids=ids)


def _send(ids: list[int]) -> None:
    for holder in (_batch, _request):
        pending = getattr(holder, "ids", None)
        if pending is not None:
            pending.extend(ids)
            return
    send_posts_changed(ids)


# Posts written while answering a request are announced once the response has been sent (the
# server closes it), so a member's reply is answered without waiting for its indicators and
# search document; the worker builds them right after. PostsChangedAfterResponse holds them.
_request = threading.local()


def posts_changed_after_response(get_response):
    """Middleware: what the request announced is sent when the server closes its response."""

    def middleware(request):
        _request.ids = []
        try:
            response = get_response(request)
        except BaseException:
            _flush(_take())
            raise
        ids = _take()
        if ids:
            # Called by HttpResponse.close(), which every WSGI/ASGI server calls once the
            # response is sent (Django's test client too).
            response._resource_closers.append(lambda: _flush(ids))
        return response

    return middleware


def _take() -> list[int]:
    ids, _request.ids = getattr(_request, "ids", None) or [], None
    return ids


def _flush(ids: list[int]) -> None:
    if ids:
        send_posts_changed(sorted(set(ids)))


def announce_posts_changed(post_ids) -> None:
    """Call inside the writing transaction; receivers run after it commits."""
    ids = list(post_ids)
    if ids:
        transaction.on_commit(lambda: _send(ids))


@contextmanager
def posts_changed_together(deliver=None):
    """Announcements committed inside this block reach the receivers as one, when it ends
    (or are handed to `deliver(ids)`, which sends them itself: forum.background).

    A bulk import commits many pages, and indicators and the search index cost much less per
    post for a thousand posts at once than for a hundred (aggregates merged once, one commit).
    Announcements of rolled-back savepoints never arrive, as Django drops their on_commit."""
    if getattr(_batch, "ids", None) is not None:
        yield  # already inside one: the outermost block sends
        return
    _batch.ids = []
    try:
        yield
    finally:
        ids, _batch.ids = _batch.ids, None
        if ids:
            (deliver or send_posts_changed)(sorted(set(ids)))
