"""The one owner of the forum's denormalised counters, and their rebuild (`rebuild_counters`)."""

from django.db import transaction
from django.db.models import Count, F, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from .models import Post, Thread, Volume

# Thread.post_count is the public count: the posts readers see in the thread. A post waiting for
# approval (Post.held, rejected ones too) is not counted until it is approved; a hidden post is,
# since readers see its place ("この投稿は非表示にされました"). last_position counts every post.
PUBLIC_POSTS = Q(held=False)


def note_new_post(thread: Thread, post: Post) -> None:
    """Call inside the transaction that saved `post`, with the thread row locked."""
    Thread.objects.filter(pk=thread.pk).update(
        post_count=F("post_count") + (0 if post.held else 1),
        last_position=post.position,
        last_posted_at=post.posted_at,
        version=F("version") + 1,
    )


def note_post_held(thread: Thread | int, *, held: bool) -> None:
    """Call in the transaction that approved a held post (`held` False) or held a published one
    again (True): the public count follows, and the version, since the pages change."""
    Thread.objects.filter(pk=getattr(thread, "pk", thread)).update(
        post_count=F("post_count") + (-1 if held else 1), version=F("version") + 1)


def note_thread_changed(thread: Thread | int) -> None:
    """Call in the transaction of ANY write that changes what the thread's pages show (a post's
    text, visibility or state, the thread's title, lock, place): the version names the cached
    pages (forum.pagecache), so a change without it leaves readers the old page."""
    Thread.objects.filter(pk=getattr(thread, "pk", thread)).update(version=F("version") + 1)


def note_threads_changed(thread_ids) -> None:
    """note_thread_changed for many threads in one statement (bulk writes, re-rendering)."""
    Thread.objects.filter(pk__in=list(thread_ids)).update(version=F("version") + 1)


def note_board_changed(board) -> None:
    """The board's name shows on every page of its threads and volumes."""
    Thread.objects.filter(board=board).update(version=F("version") + 1)


def note_new_thread(volume: Volume) -> None:
    Volume.objects.filter(pk=volume.pk).update(thread_count=F("thread_count") + 1)


def _per(model, field: str, aggregate):
    """A correlated subquery: the aggregate over `model` rows pointing at the outer row, or 0."""
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field)
    return Coalesce(Subquery(rows.annotate(v=aggregate).values("v")), Value(0), output_field=IntegerField())


@transaction.atomic
def rebuild_counters() -> dict[str, int]:
    """Recompute every counter from the rows themselves; returns how many rows were wrong."""
    actual_posts = _per(Post, "thread", Count("pk", filter=PUBLIC_POSTS))
    actual_last = _per(Post, "thread", Max("position"))
    last_at = Subquery(Post.objects.filter(thread=OuterRef("pk")).order_by("-position").values("posted_at")[:1])
    wrong_threads = (
        Thread.objects.annotate(n=actual_posts, m=actual_last)
        .filter(~Q(post_count=F("n")) | ~Q(last_position=F("m")))
        .count()
    )
    if wrong_threads:
        Thread.objects.update(post_count=actual_posts, last_position=actual_last, last_posted_at=last_at)

    actual_threads = _per(Thread, "volume", Count("pk"))
    wrong_volumes = Volume.objects.annotate(n=actual_threads).filter(~Q(thread_count=F("n"))).count()
    if wrong_volumes:
        Volume.objects.update(thread_count=actual_threads)
    return {"threads": wrong_threads, "volumes": wrong_volumes}


def recount_threads(thread_ids) -> None:
    """Counters of these threads from their rows (after an import wrote posts in bulk)."""
    threads = Thread.objects.filter(pk__in=list(thread_ids))
    last_at = Subquery(Post.objects.filter(thread=OuterRef("pk")).order_by("-position").values("posted_at")[:1])
    threads.update(post_count=_per(Post, "thread", Count("pk", filter=PUBLIC_POSTS)),
                   last_position=_per(Post, "thread", Max("position")), last_posted_at=last_at,
                   version=F("version") + 1)


def recount_volumes(volume_ids) -> None:
    Volume.objects.filter(pk__in=list(volume_ids)).update(thread_count=_per(Thread, "volume", Count("pk")))
