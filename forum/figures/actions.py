"""Writes of figures: storing an upload, attaching figures to a post, pruning the unattached.

A file is written once per content hash (its name) before its row commits; a file no row
names is removed by `prune_figures`, so a failed write leaves nothing that is ever served.
"""

import os
import tempfile
from datetime import timedelta

from django.core import signing
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from .images import Reencoded
from .models import Figure, figures_dir, file_path

MAX_FIGURES_PER_POST = 10
# Unattached figures one member may hold at once (the composer's pending ones, drafts').
MAX_PENDING_PER_MEMBER = 30
SIGNING_SALT = "daiou.pending-figures"
PENDING_MAX_AGE = 24 * 3600
PRUNE_AFTER = timedelta(days=1)


class FigureError(ValueError):
    """A figure step that cannot be done: `code` is one of expired, gone, too_many,
    too_many_pending (the composer words it for the member)."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def write_file(image: Reencoded) -> None:
    """The re-encoded file under its hash, written whole or not at all (rename into place)."""
    path = file_path(image.sha256, image.ext)
    if path.exists():
        os.utime(path)  # the same bytes (content-addressed); fresh, so a prune running now spares it
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(image.data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def store_upload(*, user, image: Reencoded, caption: str) -> Figure:
    """A member's re-encoded screenshot, stored at once as an unattached figure of theirs."""
    if Figure.objects.filter(owner=user, post__isnull=True).count() >= MAX_PENDING_PER_MEMBER:
        raise FigureError("too_many_pending")
    write_file(image)
    return Figure.objects.create(owner=user, caption=caption, sha256=image.sha256, ext=image.ext,
                                 width=image.width, height=image.height, size=len(image.data))


def sign(figures) -> str:
    return signing.dumps([f.pk for f in figures], salt=SIGNING_SALT, compress=True) if figures else ""


def unsign(token: str, user, post=None) -> list[Figure]:
    """The figures a form carried, in order: the member's own, unattached (or the edited post's).
    FigureError when the token was altered or is too old, or a figure is gone (pruned)."""
    if not token:
        return []
    try:
        ids = signing.loads(token, salt=SIGNING_SALT, max_age=PENDING_MAX_AGE)
        if not isinstance(ids, list) or not all(type(i) is int for i in ids):
            raise ValueError
    except (signing.BadSignature, ValueError):
        raise FigureError("expired") from None
    return load_pending(ids, user, post)


def load_pending(ids, user, post=None) -> list[Figure]:
    ids = list(dict.fromkeys(ids))[:MAX_FIGURES_PER_POST]
    found = {f.pk: f for f in Figure.objects.pending_for(user, post).filter(pk__in=ids)}
    if len(found) != len(ids):
        raise FigureError("gone")
    return [found[i] for i in ids]


def load_kept(ids, user) -> list[Figure]:
    """The figures a draft kept that are still there (unattached, the member's), in order."""
    found = {f.pk: f for f in Figure.objects.pending_for(user).filter(pk__in=ids)}
    return [found[i] for i in dict.fromkeys(ids) if i in found][:MAX_FIGURES_PER_POST]


def attach(post, figures) -> None:
    """The post's figures become exactly `figures`, in order (inside the post's transaction).
    Figures it no longer shows are detached and go with the next prune."""
    figures = list(figures)
    if len(figures) > MAX_FIGURES_PER_POST:
        raise FigureError("too_many")
    ids = [f.pk for f in figures]
    Figure.objects.filter(post=post).exclude(pk__in=ids).update(post=None, created_at=timezone.now() - PRUNE_AFTER)
    for position, figure in enumerate(figures):
        # Only a figure still unattached (or already this post's) moves: a second submit of
        # the same form cannot take figures away from the post the first one made.
        if not Figure.objects.filter(Q(post__isnull=True) | Q(post=post), pk=figure.pk).update(post=post,
                                                                                              position=position):
            raise FigureError("gone")


def revision_files() -> set[tuple[str, str]]:
    """The (sha256, ext) of every figure an earlier version of a post shows (forum.moderation's
    PostRevision keeps the blocks, images named by hash)."""
    from forum.moderation.models import PostRevision

    files = set()
    with_images = PostRevision.objects.annotate(text=Cast("blocks", TextField())).filter(text__contains='"sha256"')
    for blocks in with_images.values_list("blocks", flat=True).iterator():
        for block in blocks if isinstance(blocks, list) else ():
            image = block.get("image") if isinstance(block, dict) else None
            if isinstance(image, dict):
                files.add((image.get("sha256"), image.get("ext")))
    return files


def prune(*, older_than: timedelta = PRUNE_AFTER, now=None) -> tuple[int, int]:
    """Delete unattached figures older than `older_than` and every file no row names any more
    (a file is shared by all rows of the same image). (rows deleted, files deleted).

    A figure an edit removed stays while an earlier version of the post shows it: that version
    is evidence (moderators read what was changed), kept until the post is deleted for good.
    It is no longer its uploader's to attach again (owner cleared)."""
    now = now or timezone.now()
    stale_before = now - older_than
    with transaction.atomic():
        stale = list(Figure.objects.filter(post__isnull=True, created_at__lt=stale_before)
                     .values_list("pk", "sha256", "ext"))
        # Read after the stale rows: an edit that detached one of them has committed its revision by now.
        evidence = revision_files()
        kept = {pk for pk, sha256, ext in stale if (sha256, ext) in evidence}
        Figure.objects.filter(pk__in=kept, owner__isnull=False).update(owner=None)
        rows, _ = Figure.objects.filter(pk__in=[pk for pk, _, _ in stale if pk not in kept], post__isnull=True,
                                        created_at__lt=stale_before).delete()
    used = set(Figure.objects.values_list("sha256", "ext").distinct())
    files = 0
    root = figures_dir()
    # A file written a moment ago may be an upload still being written, or belong to a row
    # not committed yet.
    cutoff = (now - timedelta(minutes=10)).timestamp()
    for path in root.glob("*/*") if root.is_dir() else ():
        try:
            if path.stat().st_mtime >= cutoff:
                continue
        except FileNotFoundError:
            continue
        sha256, _, ext = path.name.partition(".")
        if path.name.startswith(".upload-") or (sha256, ext) not in used:
            path.unlink(missing_ok=True)
            files += 1
    return rows, files
