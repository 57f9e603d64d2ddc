"""Reads for the moderation pages: the review queue, members' history, the log, and the public
note a thread page shows. Each is a fixed number of queries, whatever the page holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, Count, F, IntegerField, JSONField, OuterRef, Subquery, Sum, Value, When, Window
from django.db.models.functions import RowNumber

from forum.models import Post

from . import roles
from .models import ModerationLog, Report

QUEUE_LENGTH = 50
HISTORY_LENGTH = 5


@dataclass
class AuthorHistory:
    recent: list = field(default_factory=list)  # their latest posts
    actions: list = field(default_factory=list)  # the latest log rows about them
    post_count: int = 0
    hidden_count: int = 0


@dataclass
class QueueItem:
    post: Post
    since: datetime
    reports: list = field(default_factory=list)
    history: AuthorHistory | None = None


def _for_boards(queryset, user, field_name: str):
    only = roles.board_filter(user, field_name)
    return queryset if only is None else queryset.filter(only)


def _queued_posts(user) -> list[QueueItem]:
    base = _for_boards(Post.objects.select_related("thread__board", "author__profile"), user, "thread__board")
    held = list(base.filter(held=True, hidden=False).order_by("posted_at", "pk")[:QUEUE_LENGTH])
    open_reports = Report.objects.filter(status=Report.Status.OPEN, post__isnull=False)
    first_report = open_reports.filter(post=OuterRef("pk")).order_by("created_at").values("created_at")[:1]
    reported = list(base.filter(pk__in=open_reports.values("post_id")).annotate(first_report=Subquery(first_report))
                    .order_by("first_report", "pk")[:QUEUE_LENGTH])
    items = {post.pk: QueueItem(post, post.posted_at) for post in held}
    for post in reported:
        if post.pk not in items:
            items[post.pk] = QueueItem(post, post.first_report)
    return sorted(items.values(), key=lambda item: (item.since, item.post.pk))[:QUEUE_LENGTH]


def author_histories(author_ids) -> dict[int, AuthorHistory]:
    """Each member's latest posts with their totals (one query) and the latest log rows about
    them (one query)."""
    ids = sorted({pk for pk in author_ids if pk})
    histories = {pk: AuthorHistory() for pk in ids}
    if not ids:
        return histories
    by_author = {"partition_by": [F("author_id")]}
    posts = (Post.objects.filter(author_id__in=ids).select_related("thread__board")
             .only("pk", "position", "posted_at", "hidden", "held", "author_id", "thread__number", "thread__title",
                   "thread__board__slug", "thread__board__name")
             .annotate(row=Window(RowNumber(), order_by=[F("posted_at").desc(), F("pk").desc()], **by_author),
                       total=Window(Count("pk"), **by_author),
                       hidden_total=Window(Sum(Case(When(hidden=True, then=Value(1)), default=Value(0),
                                                    output_field=IntegerField())), **by_author))
             .filter(row__lte=HISTORY_LENGTH).order_by("author_id", "row"))
    for post in posts:
        history = histories[post.author_id]
        history.recent.append(post)
        history.post_count, history.hidden_count = post.total, post.hidden_total or 0
    actions = (ModerationLog.objects.filter(member_id__in=ids)
               .annotate(row=Window(RowNumber(), partition_by=[F("member_id")],
                                    order_by=[F("created_at").desc(), F("pk").desc()]))
               .filter(row__lte=HISTORY_LENGTH).order_by("member_id", "row"))
    for entry in actions:
        histories[entry.member_id].actions.append(entry)
    return histories


def review_queue(user) -> dict:
    """What waits for `user`'s decision on the boards they moderate, oldest first: posts held
    for approval or reported (with their open reports and their authors' history), reported
    threads, and removal requests."""
    items = _queued_posts(user)
    reports: dict[int, list] = {}
    for report in (Report.objects.filter(status=Report.Status.OPEN, post_id__in=[i.post.pk for i in items])
                   .select_related("reporter__profile").order_by("created_at", "pk")):
        reports.setdefault(report.post_id, []).append(report)
    histories = author_histories(item.post.author_id for item in items)
    for item in items:
        item.reports = reports.get(item.post.pk, [])
        item.history = histories.get(item.post.author_id)
    open_reports = Report.objects.filter(status=Report.Status.OPEN).order_by("created_at", "pk")
    threads = _for_boards(open_reports.filter(post__isnull=True, thread__isnull=False)
                          .exclude(reason=Report.REMOVAL), user, "thread__board")
    removals = open_reports.filter(reason=Report.REMOVAL)
    if not roles.moderates_everything(user):  # requests naming no post of theirs are for everyone's moderators
        removals = removals.filter(roles.board_filter(user, "thread__board"))
    return {
        "items": items,
        "thread_reports": list(threads.select_related("thread__board", "reporter__profile")[:QUEUE_LENGTH]),
        "removal_requests": list(removals.select_related("thread__board", "post")[:QUEUE_LENGTH]),
    }


def log_entries(*, actor: str = "", action: str = "", board=None, since=None, until=None):
    """The log, newest first, filtered."""
    entries = ModerationLog.objects.select_related("thread__board", "post", "member")
    if actor:
        entries = entries.filter(actor_name__iexact=actor)
    if action:
        entries = entries.filter(action=action)
    if board is not None:
        entries = entries.filter(board=board)
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    return entries.order_by("-created_at", "-id")


def with_public_note(threads):
    """Threads annotated with their latest public moderation (moved, merged, locked) for the
    thread page: part of the thread's own query."""
    latest = (ModerationLog.objects.filter(thread=OuterRef("pk"), public=True)
              .order_by("-created_at", "-id"))
    return threads.annotate(
        moderation_action=Subquery(latest.values("action")[:1]),
        moderation_at=Subquery(latest.values("created_at")[:1]),
        moderation_details=Subquery(latest.values("details")[:1], output_field=JSONField()),
    )
