"""A member's screenshot: one row per upload, its file stored once per content hash."""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forum.blocks import FigureImage

from .images import CONTENT_TYPES

# Seen by every reader: attached to a post that is neither hidden nor awaiting approval, in a
# thread that is not hidden.
PUBLIC = Q(post__isnull=False, post__hidden=False, post__held=False, post__thread__hidden=False)


class FigureQuerySet(models.QuerySet):
    def public(self):
        return self.filter(PUBLIC)

    def visible_to(self, user):
        """Moderators of every board see every figure, a board's moderators its posts' figures
        (hidden and held posts show them the text); a member also their own figures not yet
        attached (the composer's preview) and those of their posts awaiting approval."""
        from forum.moderation import roles

        if roles.moderates_everything(user):
            return self
        if user.is_authenticated:
            own = Q(owner=user) & (Q(post__isnull=True) | Q(post__held=True, post__hidden=False))
            moderated = Q(post__thread__board__in=roles.moderated_boards_subquery(user))
            return self.filter(PUBLIC | own | moderated)
        return self.filter(PUBLIC)

    def pending_for(self, user, post=None):
        """Figures the member may attach: their own unattached ones, and when editing a post
        (the author, or a moderator) the figures it has."""
        own = Q(post__isnull=True, owner=user)
        return self.filter(own if post is None else own | Q(post=post))


class Figure(models.Model):
    class Ext(models.TextChoices):
        PNG = "png", "PNG"
        JPG = "jpg", "JPEG"
        WEBP = "webp", "WebP"

    # A deleted account's posts stay, and so do their figures (as the posts' author becomes NULL).
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="figures",
                              verbose_name=_("uploaded by"))
    # Unattached while the composer carries it; a deleted post leaves its figures to prune_figures.
    post = models.ForeignKey("forum.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="figures",
                             verbose_name=_("post"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    caption = models.CharField(_("caption"), max_length=200)
    # The stored (re-encoded) file's SHA-256: its name, shared by every row with the same image.
    sha256 = models.CharField(max_length=64, db_index=True, editable=False)
    ext = models.CharField(max_length=4, choices=Ext.choices, editable=False)
    width = models.PositiveIntegerField(editable=False)
    height = models.PositiveIntegerField(editable=False)
    size = models.PositiveIntegerField(_("size in bytes"), editable=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    objects = FigureQuerySet.as_manager()

    class Meta:
        ordering = ["post", "position", "id"]
        verbose_name = _("figure")
        verbose_name_plural = _("figures")

    def __str__(self):
        return f"{self.name} {self.caption}"

    @property
    def name(self) -> str:
        return f"{self.sha256}.{self.ext}"

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.ext]

    @property
    def path(self) -> Path:
        return file_path(self.sha256, self.ext)

    def image(self) -> FigureImage:
        return FigureImage(self.sha256, self.ext, self.width, self.height)


def figures_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "figures"


def file_path(sha256: str, ext: str) -> Path:
    # Two hex digits of fan-out keep directories small.
    return figures_dir() / sha256[:2] / f"{sha256}.{ext}"
