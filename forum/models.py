"""The catalogue: boards, their numbered volumes and threads, posts, members' profiles, drafts.

Counters on these rows (post_count, last_position, thread_count…) are written only by
forum.counters; numbers (thread NO., post position, volume number) only by forum.actions.
"""

import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Paths of the site itself: a board slug may not shadow them (URLs are /<board>/…).
RESERVED_BOARD_SLUGS = frozenset(
    {
        "admin", "accounts", "api", "search", "indicators", "moderation", "healthz", "static",
        "media", "preview", "drafts", "i18n", "members", "privacy", "robots.txt", "sitemap.xml",
        "favicon.ico", "feeds", "vol", "contact",
    }
)


def validate_board_slug(value: str) -> None:
    if value in RESERVED_BOARD_SLUGS:
        raise ValidationError(
            _("“%(slug)s” is a path of the site itself and cannot name a board."),
            code="reserved", params={"slug": value},
        )


def name_key(name: str) -> str:
    """The form of a display name that decides whether two names are the same person's."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


class BoardQuerySet(models.QuerySet):
    def with_newest_threads(self, user, count: int) -> list["Board"]:
        """The boards, each with `newest_threads`: its `count` newest threads (by NO.) that
        `user` may see. Two queries whatever the archive holds: the boards with the NO. of their
        count-th newest thread (a LIMIT subquery each), then each board's threads from that NO.
        up, read from the (board, number) index. (A window over every thread, as a sliced
        Prefetch makes, grew with the archive; subqueries in the second query's condition made
        PostgreSQL expect a third of the threads and read them all.)"""
        visible = Thread.objects.visible_to(user)
        lowest = visible.filter(board=OuterRef("pk")).order_by("-number").values("number")[count - 1:count]
        boards = list(self.annotate(lowest_newest=Subquery(lowest)))
        newest = Q()
        for board in boards:
            board.newest_threads = []
            newest |= Q(board=board, number__gte=board.lowest_newest or 0)  # None: fewer threads than count
        if boards:
            by_id = {board.pk: board for board in boards}
            for thread in visible.filter(newest).order_by("-number"):
                thread.board = by_id[thread.board_id]
                thread.board.newest_threads.append(thread)
        return boards


class Board(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    slug = models.CharField(
        _("slug"), max_length=40, unique=True,
        validators=[
            RegexValidator(r"^[a-z][a-z0-9-]*\Z", _("Lower-case letters, digits and hyphens, starting with a letter.")),
            validate_board_slug,
        ],
    )
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    threads_per_volume = models.PositiveIntegerField(
        _("threads per volume"), default=10, validators=[MinValueValidator(1)]
    )
    # The highest thread NO. and volume number this board has ever given or imported
    # (an archive page's link to a newer volume counts): numbers are never reused.
    last_thread_number = models.PositiveIntegerField(default=0, editable=False)
    last_volume_number = models.PositiveIntegerField(default=0, editable=False)

    objects = BoardQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("board")
        verbose_name_plural = _("boards")
        constraints = [
            models.CheckConstraint(
                condition=~Q(slug__in=sorted(RESERVED_BOARD_SLUGS)), name="board_slug_not_reserved"
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # Admin forms validate too, but a board made in code or a shell must not slip past.
        self.full_clean(validate_unique=False, validate_constraints=False)
        super().save(*args, **kwargs)

    def volume_label(self, number: int) -> str:
        return f"{self.name}NO.{number}"


class Volume(models.Model):
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="volumes")
    number = models.PositiveIntegerField(_("number"))
    # Imported volumes are closed: threads written on Daiou go into volumes after them.
    imported = models.BooleanField(_("imported"), default=False)
    thread_count = models.PositiveIntegerField(default=0, editable=False)
    # What an imported page needs to be written back byte for byte (forum.archive_io).
    archive_layout = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["board", "-number"]
        verbose_name = _("volume")
        verbose_name_plural = _("volumes")
        constraints = [models.UniqueConstraint(fields=["board", "number"], name="volume_number_per_board")]

    def __str__(self):
        return self.board.volume_label(self.number)


def _held_start():
    """A thread whose first post waits for approval."""
    return Exists(Post.objects.filter(thread=OuterRef("pk"), position=1, held=True))


class ThreadQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Hidden threads, and threads whose first post waits for approval, are there only for
        moderators of their board (and a held thread for its originator). No query of its own."""
        from .moderation import roles

        if roles.moderates_everything(user):
            return self
        if not user.is_authenticated:
            return self.filter(hidden=False).exclude(_held_start())
        return self.visible_to_member(user.pk)

    def visible_to_member(self, user_id: int):
        """visible_to() of a member who does not moderate every board: the member's id is the
        only thing of theirs in it, as a parameter (forum.views compiles it once per process)."""
        from .moderation import roles

        return self.filter(Q(hidden=False) & (~_held_start() | Q(originator_id=user_id))
                           | Q(board__in=roles.boards_moderated_by(user_id)))


class Thread(models.Model):
    board = models.ForeignKey(Board, on_delete=models.PROTECT, related_name="threads")
    volume = models.ForeignKey(Volume, on_delete=models.PROTECT, related_name="threads")
    number = models.PositiveIntegerField(_("NO."))
    title = models.CharField(_("title"), max_length=200)
    originator_name = models.CharField(_("originator"), max_length=100)
    originator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_on = models.DateField(_("start date"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    locked = models.BooleanField(_("locked"), default=False)
    hidden = models.BooleanField(_("hidden"), default=False)
    imported = models.BooleanField(_("imported"), default=False, editable=False)
    archive_layout = models.JSONField(null=True, blank=True, editable=False)
    # Written by forum.counters only.
    post_count = models.PositiveIntegerField(default=0, editable=False)
    last_position = models.PositiveIntegerField(default=0, editable=False)
    last_posted_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped on every change that shows on the thread's pages (cache keys carry it).
    version = models.PositiveIntegerField(default=0, editable=False)

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering = ["board", "-number"]
        verbose_name = _("thread")
        verbose_name_plural = _("threads")
        constraints = [models.UniqueConstraint(fields=["board", "number"], name="thread_number_per_board")]
        indexes = [models.Index(fields=["volume", "-number"], name="thread_volume_number")]
        permissions = [("moderate", _("Can moderate boards"))]

    def __str__(self):
        return f"{self.board.name}NO.{self.number} {self.title}"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("thread", args=[self.board.slug, self.number])


class PostQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Posts waiting for approval are there only for their author and the board's
        moderators. Hidden posts keep their place in the thread: the page shows readers a
        placeholder. No query of its own."""
        from .moderation import roles

        if roles.moderates_everything(user):
            return self
        if not user.is_authenticated:
            return self.filter(held=False)
        return self.visible_to_member(user.pk)

    def visible_to_member(self, user_id: int):
        """visible_to() of a member who does not moderate every board, by the member's id alone
        (forum.views compiles it once per process)."""
        from .moderation import roles

        return self.filter(Q(held=False) | Q(author_id=user_id) | Q(thread__board__in=roles.boards_moderated_by(user_id)))

    def in_positions(self, first: int, last: int):
        return self.filter(position__gte=first, position__lte=last).order_by("position")

    def page_rows(self):
        """What a thread page shows of each post (forum.post_html), as named rows: making 50
        model instances cost more than writing their HTML. The HTML comes as the UTF-8 bytes
        the page sends (`html_utf8`): decoding it to text and encoding it again for the
        response was a sixth of an uncached thread page."""
        return self.annotate(html_utf8=Utf8Bytes("html")).values_list(*PAGE_ROW_FIELDS, named=True)


class Utf8Bytes(models.Func):
    """A text column as its UTF-8 bytes (both databases store text as UTF-8: no conversion)."""

    output_field = models.BinaryField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS BLOB)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        # Not ::bytea, which would read backslashes in the text as escapes.
        return self.as_sql(compiler, connection, template="convert_to(%(expressions)s, 'UTF8')", **extra)


# The annotation last: values_list() puts annotations after the fields, so the rows need no reordering.
PAGE_ROW_FIELDS = ("pk", "position", "author_id", "author_name", "handle", "device", "os", "posted_at", "subtitle",
                   "format", "hidden", "hidden_reason", "held", "edited_at", "reply_to__position", "html_utf8")


class Post(models.Model):
    class Format(models.TextChoices):
        MARKDOWN = "markdown", _("Markdown")
        ARCHIVE = "archive", _("Archive text")

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="posts")
    position = models.PositiveIntegerField(_("position"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    # The name as shown on this post: a member's display name when they posted, or the
    # spelling an imported post was written with (each post keeps its own).
    author_name = models.CharField(_("name"), max_length=100)
    handle = models.CharField(_("handle"), max_length=100, blank=True)
    device = models.CharField(_("device"), max_length=100, blank=True)
    os = models.CharField(_("OS"), max_length=100, blank=True)
    posted_at = models.DateTimeField(_("posted at"))
    subtitle = models.CharField(_("subtitle"), max_length=200, blank=True)
    source = models.TextField(_("body"))
    format = models.CharField(_("format"), max_length=10, choices=Format.choices, default=Format.MARKDOWN)
    # The body as an ordered list of blocks (forum.blocks), recognised once when saved.
    blocks = models.JSONField(default=list, blank=True, editable=False)
    # What the archive format cannot hold about quoted mails, by quote: HTML source beside a
    # text part, its extracted text, attachments (name, type, size, SHA-256), the kind (mail, sms).
    quote_details = models.JSONField(default=list, blank=True, editable=False)
    html = models.TextField(editable=False)
    render_version = models.PositiveSmallIntegerField(default=0, editable=False)
    archive_layout = models.JSONField(null=True, blank=True, editable=False)
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    edited_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden = models.BooleanField(_("hidden"), default=False)
    # Why a hidden post is hidden, as readers see it (a category, never the moderator's note).
    hidden_reason = models.CharField(_("hidden because"), max_length=20, blank=True)
    # Written by a new member and waiting for a moderator's approval (forum.moderation).
    held = models.BooleanField(_("awaiting approval"), default=False)
    # The composer's one-time token: a form sent twice (double click, retry) makes one post.
    client_token = models.CharField(max_length=40, blank=True, default="", editable=False)

    objects = PostQuerySet.as_manager()

    class Meta:
        ordering = ["thread", "position"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [
            models.UniqueConstraint(fields=["thread", "position"], name="post_position_per_thread"),
            models.UniqueConstraint(fields=["author", "client_token"], condition=~models.Q(client_token=""),
                                    name="post_client_token_per_author"),
        ]
        indexes = [
            models.Index(fields=["author", "-posted_at"], name="post_author_recent"),
            # The review queue: the few posts waiting for approval, oldest first.
            models.Index(fields=["posted_at"], condition=Q(held=True), name="post_held_oldest"),
        ]

    def __str__(self):
        return f"{self.thread_id}#{self.position} {self.author_name}"

    @property
    def anchor(self) -> str:
        return f"p{self.position}"


class ArchiveAuthor(models.Model):
    """One spelling of an author of imported posts: each post keeps its own spelling, an admin
    links spellings of one person (`same_as`) and a spelling to a member account. Names and
    handles written here are reserved: nobody signs up as them."""

    name = models.CharField(_("name"), max_length=100)
    handle = models.CharField(_("handle"), max_length=100, blank=True)
    name_key = models.CharField(max_length=100, db_index=True, editable=False)
    handle_key = models.CharField(max_length=100, db_index=True, blank=True, editable=False)
    same_as = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="spellings",
                                verbose_name=_("same person as"))
    member = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="archive_spellings", verbose_name=_("member account"))

    class Meta:
        verbose_name = _("archive author")
        verbose_name_plural = _("archive authors")
        constraints = [models.UniqueConstraint(fields=["name", "handle"], name="archive_author_spelling")]

    def __str__(self):
        return f"{self.name}({self.handle})" if self.handle else self.name

    def save(self, *args, **kwargs):
        self.name_key = name_key(self.name)
        self.handle_key = name_key(self.handle) if self.handle else ""
        super().save(*args, **kwargs)


def name_is_reserved(name: str, user=None) -> bool:
    """Taken by an imported author's name or handle (unless that spelling is linked to `user`)."""
    key = name_key(name)
    spellings = ArchiveAuthor.objects.filter(Q(name_key=key) | Q(handle_key=key))
    if user is not None and user.pk:
        spellings = spellings.exclude(member=user)
    return spellings.exists()


class Profile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    display_name = models.CharField(_("display name"), max_length=50)
    # NFKC + case-folded display name: ＡＢＣ and abc are one name, so one member.
    display_name_key = models.CharField(max_length=50, unique=True, editable=False)
    handle = models.CharField(_("handle"), max_length=50, blank=True)
    device = models.CharField(_("device"), max_length=100, blank=True)
    os = models.CharField(_("OS"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self):
        return self.display_name

    def save(self, *args, **kwargs):
        self.display_name_key = name_key(self.display_name)
        super().save(*args, **kwargs)


class AllowedLinkHost(models.Model):
    """A host whose links stay clickable in a member's own text (news sites, brands' own
    domains); every other link is shown defanged. Subdomains are allowed with their host."""

    host = models.CharField(_("host"), max_length=253, unique=True,
                            help_text=_("Lower-case host name, e.g. nikkei.com (covers www.nikkei.com)."))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["host"]
        verbose_name = _("allowed link host")
        verbose_name_plural = _("allowed link hosts")

    def __str__(self):
        return self.host

    def clean(self):
        from incidents.hosts import normalize_host

        host = normalize_host(self.host)
        if host is None or host.is_ip:
            raise ValidationError({"host": _("Enter a host name such as nikkei.com.")})
        self.host = host.ascii


class LearnedRecipient(models.Model):
    """An address or name a member's quoted mails were sent to (mostly the member's own): it is
    redacted from all their later quotes too."""

    class Kind(models.TextChoices):
        ADDRESS = "address", _("address")
        NAME = "name", _("name")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learned_recipients")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.CharField(max_length=254)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "value"], name="learned_recipient_once")]


class Draft(models.Model):
    """Text being written, kept on the server so an expired session or failed submit loses nothing."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    key = models.CharField(max_length=64)  # "thread:<board slug>" or "reply:<thread id>"
    title = models.CharField(max_length=200, blank=True)
    subtitle = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    # Pending quotes as the composer carries them: redacted already, never the original.
    quotes = models.JSONField(blank=True, default=list)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="draft_per_user_and_key")]


class SortKeyField(models.BigIntegerField):
    """A 64-bit integer declared INTEGER on SQLite, so that as a primary key it is the rowid."""

    def db_type(self, connection):
        return "integer" if connection.vendor == "sqlite" else super().db_type(connection)


class SearchDocument(models.Model):
    """A post as the search index holds it; written by forum.search_index only.

    The key orders posts newest first when descending and is the row id of SQLite's FTS5
    index: (posted_at in seconds since 1970) << 30 | post id. The texts are folded
    (forum.search_text.fold) and cut to what is indexed; PostgreSQL adds a `tsv` column
    (bigrams, characters, filter tokens) with a GIN index (migration 0005_search).
    """

    sort_key = SortKeyField(primary_key=True)
    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="+")
    thread_id = models.BigIntegerField()  # not a relation: deleting a thread cascades through the post
    head = models.TextField(blank=True)  # the thread's title (first post only) and the post's subtitle
    body = models.TextField(blank=True)  # text, quoted mails and the author's name, parts split by U+001F
    meta = models.TextField(blank=True)  # filter tokens: _all _b<board> _q (quotes) _a<author>
    version = models.PositiveSmallIntegerField()  # forum.search_text.TEXT_VERSION when written
