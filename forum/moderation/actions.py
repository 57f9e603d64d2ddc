"""Moderators' actions: each a plain function taking the target, the actor and a reason, run in
one transaction that also writes its ModerationLog row (like Misago's threads/lock.py and
Zulip's zerver/actions/). A refused action raises ModerationRefused with the message to show,
and changes nothing.

Every action that changes what a thread shows bumps Thread.version (forum.counters, so cached
pages and API answers keyed by it go stale) and announces the posts (forum.signals), so that
search and indicators follow. Redaction and deletion re-derive search and indicators at once,
inside the transaction (forum.signals.posts_purged): no copy of the text outlives them.
"""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from forum import counters, search_index
from forum.actions import ActionRefused, PostFields, take_thread_number
from forum.actions import edit_post as forum_edit_post
from forum.models import Board, Post, Thread
from forum.signals import announce_posts_changed, posts_purged
from forum.watching import actions as watching
from incidents.hosts import normalize_host
from incidents.redact import REDACTED_NAME

from . import bans, roles
from .models import Ban, HIDE_CATEGORIES, HiddenReason, ModerationLog, PostRevision, Report, ThreadRedirect

MAX_REASON_LENGTH = 1000
MAX_NOTE_LENGTH = 2000
MIN_REDACTED_LENGTH = 2
MAX_BAN_DAYS = 3650

Action = ModerationLog.Action


class ModerationRefused(ActionRefused):
    """The action cannot be done; the message says why. Nothing was changed."""


class ModerationForbidden(ModerationRefused):
    """Refused for the actor's role (another board's moderator, not a moderator of every board,
    not an admin): pages answer 403, not the form again."""


# ---- common parts ----------------------------------------------------------------------------

def clean_reason(reason: str | None) -> str:
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise ModerationRefused(_("Give a reason: other moderators read it in the log."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ModerationRefused(_("The reason is too long (at most %(n)d characters).") % {"n": MAX_REASON_LENGTH})
    return reason


def _require(actor, board) -> None:
    if not roles.can_moderate(actor, board):
        raise ModerationForbidden(_("Only moderators of this board may do this.") if board is not None
                                  else _("Only moderators of every board may do this."))


def _require_global(actor) -> None:
    if not roles.moderates_everything(actor):
        raise ModerationForbidden(_("Only moderators of every board may do this."))


def post_label(post: Post) -> str:
    return f"{post.thread.board.name}NO.{post.thread.number} #{post.position}"


def thread_label(thread: Thread) -> str:
    return f"{thread.board.name}NO.{thread.number} {thread.title}"[:300]


def _log(action: str, actor, reason: str, *, target: str, post: Post | None = None, thread: Thread | None = None,
         board: Board | None = None, member=None, category: str = "", public: bool = False,
         details: dict | None = None) -> ModerationLog:
    if post is not None:
        thread = thread or post.thread
        member = member if member is not None else post.author
    if thread is not None:
        board = board or thread.board
    return ModerationLog.objects.create(
        actor=actor, actor_name=actor.get_username() if actor else "", action=action, board=board, thread=thread,
        post=post, member=member, target=target, category=category, reason=reason, public=public,
        details=details or {})


def _locked_post(post) -> Post:
    try:
        return (Post.objects.select_for_update(of=("self",)).select_related("thread__board", "author")
                .get(pk=getattr(post, "pk", post)))
    except Post.DoesNotExist:
        raise ModerationRefused(_("This post no longer exists.")) from None


def _locked_thread(thread) -> Thread:
    try:
        return Thread.objects.select_for_update(of=("self",)).select_related("board").get(pk=getattr(thread, "pk", thread))
    except Thread.DoesNotExist:
        raise ModerationRefused(_("This thread no longer exists.")) from None


def _close_reports(reports, actor, reason: str, status: str) -> int:
    return reports.filter(status=Report.Status.OPEN).update(
        status=status, handled_by=actor, handled_at=timezone.now(), resolution=reason)


def _changed(thread: Thread, post_ids) -> None:
    counters.note_thread_changed(thread)
    announce_posts_changed(post_ids)


def _purged(thread: Thread, post_ids: list[int]) -> None:
    """Search and indicators re-read these posts now, inside the transaction."""
    search_index.index_posts(post_ids)
    posts_purged.send(sender=Post, post_ids=list(post_ids))
    _changed(thread, post_ids)


# ---- posts -----------------------------------------------------------------------------------

def _hide(post: Post, actor, reason: str, category: str) -> ModerationLog:
    post.hidden = True
    post.hidden_reason = category
    post.save(update_fields=["hidden", "hidden_reason"])
    entry = _log(Action.HIDE_POST, actor, reason, target=post_label(post), post=post, category=category)
    _changed(post.thread, [post.pk])
    return entry


@transaction.atomic
def hide_post(*, post, actor, reason: str, category: str = HiddenReason.OTHER) -> ModerationLog:
    """Readers see a placeholder saying why (`category`); moderators still see the text."""
    reason = clean_reason(reason)
    if category not in HIDE_CATEGORIES:
        raise ModerationRefused(_("Choose why the post is hidden."))
    post = _locked_post(post)
    _require(actor, post.thread.board)
    if post.hidden:
        raise ModerationRefused(_("This post is hidden already."))
    _close_reports(post.reports.all(), actor, reason, Report.Status.UPHELD)
    return _hide(post, actor, reason, category)


@transaction.atomic
def restore_post(*, post, actor, reason: str) -> ModerationLog:
    """Show a hidden post again; its open reports are dismissed. A rejected post goes back to
    waiting for approval."""
    reason = clean_reason(reason)
    post = _locked_post(post)
    _require(actor, post.thread.board)
    if not post.hidden:
        raise ModerationRefused(_("This post is not hidden."))
    if post.hidden_reason == HiddenReason.DELETED:
        raise ModerationRefused(_("This post was deleted for good: there is nothing to restore."))
    post.hidden = False
    post.hidden_reason = ""
    post.save(update_fields=["hidden", "hidden_reason"])
    _close_reports(post.reports.all(), actor, reason, Report.Status.DISMISSED)
    entry = _log(Action.RESTORE_POST, actor, reason, target=post_label(post), post=post)
    _changed(post.thread, [post.pk])
    return entry


@transaction.atomic
def approve_post(*, post, actor, reason: str, seen: str | None = None) -> ModerationLog:
    """Publish a post held for approval; for a reported post, keep it and dismiss the reports.
    `seen`: the post's edit stamp (`edit_stamp`) on the page the moderator decided from; an
    author's edit since then refuses the approval, which would publish text nobody read."""
    reason = clean_reason(reason)
    post = _locked_post(post)
    _require(actor, post.thread.board)
    if seen is not None and seen != edit_stamp(post):
        raise ModerationRefused(_("The author changed this post after you opened it: read it again before "
                                  "approving it."))
    if post.held and post.hidden_reason == HiddenReason.DELETED:
        raise ModerationRefused(_("This post was deleted for good: there is nothing to approve."))
    if post.held:
        post.held = False
        if post.hidden and post.hidden_reason == HiddenReason.REJECTED:
            post.hidden, post.hidden_reason = False, ""
        post.save(update_fields=["held", "hidden", "hidden_reason"])
        counters.note_post_held(post.thread, held=False)  # now counted in the thread's public count
        _close_reports(post.reports.all(), actor, reason, Report.Status.DISMISSED)
        entry = _log(Action.APPROVE_POST, actor, reason, target=post_label(post), post=post)
        watching.notify_reply(post)  # held until now: its thread's watchers hear of it now
    elif _close_reports(post.reports.all(), actor, reason, Report.Status.DISMISSED):
        if post.hidden and post.hidden_reason == HiddenReason.REPORTED:  # hidden by reports alone
            post.hidden, post.hidden_reason = False, ""
            post.save(update_fields=["hidden", "hidden_reason"])
        entry = _log(Action.DISMISS_REPORTS, actor, reason, target=post_label(post), post=post)
    else:
        raise ModerationRefused(_("This post is neither awaiting approval nor reported: nothing to approve."))
    _changed(post.thread, [post.pk])
    return entry


def edit_stamp(post) -> str:
    """What tells one version of a post's text from the next: when it was last edited."""
    return post.edited_at.isoformat() if post.edited_at else ""


@transaction.atomic
def reject_post(*, post, actor, reason: str) -> ModerationLog:
    """A held post is not published: it stays out of sight, its author sees it marked."""
    reason = clean_reason(reason)
    post = _locked_post(post)
    _require(actor, post.thread.board)
    if not post.held or post.hidden:
        raise ModerationRefused(_("This post is not awaiting approval."))
    post.hidden = True
    post.hidden_reason = HiddenReason.REJECTED
    post.save(update_fields=["hidden", "hidden_reason"])
    _close_reports(post.reports.all(), actor, reason, Report.Status.UPHELD)
    entry = _log(Action.REJECT_POST, actor, reason, target=post_label(post), post=post,
                 category=HiddenReason.REJECTED)
    _changed(post.thread, [post.pk])
    return entry


@transaction.atomic
def delete_post(*, post, actor, reason: str) -> ModerationLog:
    """Admins only. The post's text goes for good, with its revisions, search document and the
    indicators only it held; the post keeps its place (its number is never given again) as
    "deleted". A thread's only post goes with its thread."""
    reason = clean_reason(reason)
    post = _locked_post(post)
    if not roles.can_purge(actor):
        raise ModerationForbidden(_("Only admins may delete posts for good."))
    thread = post.thread
    if post.hidden_reason == HiddenReason.DELETED:
        raise ModerationRefused(_("This post was deleted for good already."))
    _close_reports(post.reports.all(), actor, reason, Report.Status.UPHELD)
    if not Post.objects.filter(thread=thread).exclude(pk=post.pk).exists():
        return _delete_thread(thread, post, actor, reason)
    PostRevision.objects.filter(post=post).delete()
    for name in ("source", "subtitle", "html", "device", "os"):
        setattr(post, name, "")
    post.blocks, post.quote_details = [], []
    post.hidden, post.hidden_reason, post.edited_at = True, HiddenReason.DELETED, timezone.now()
    post.save()
    entry = _log(Action.DELETE_POST, actor, reason, target=post_label(post), post=post,
                 category=HiddenReason.DELETED)
    _purged(thread, [post.pk])
    return entry


def _delete_thread(thread: Thread, post: Post, actor, reason: str) -> ModerationLog:
    thread = _locked_thread(thread)
    entry = _log(Action.DELETE_THREAD, actor, reason, target=thread_label(thread), board=thread.board,
                 member=post.author, category=HiddenReason.DELETED)
    ids = [post.pk]
    # Derived rows first: the index and the indicators are read from the posts, which go next.
    Post.objects.filter(pk=post.pk).update(source="", subtitle="", blocks=[], quote_details=[], html="",
                                          hidden=True, hidden_reason=HiddenReason.DELETED)
    posts_purged.send(sender=Post, post_ids=ids)
    search_index.remove_posts(ids)
    volume_id = thread.volume_id
    thread.delete()
    counters.recount_volumes([volume_id])
    return entry


@transaction.atomic
def edit_post(*, post, actor, reason: str, fields: PostFields) -> Post:
    """A moderator's edit: kept as a revision like the author's own, and logged with why."""
    reason = clean_reason(reason)
    post = _locked_post(post)
    _require(actor, post.thread.board)
    edited = forum_edit_post(post=post, user=actor, fields=fields, reason=reason)
    _log(Action.EDIT_POST, actor, reason, target=post_label(post), post=post)
    return edited


def _replace_all(value, needles: list[tuple[str, str]]):
    if isinstance(value, str):
        for needle, replacement in needles:
            value = value.replace(needle, replacement)
        return value
    if isinstance(value, list):
        return [_replace_all(item, needles) for item in value]
    if isinstance(value, dict):
        return {key: _replace_all(item, needles) for key, item in value.items()}
    return value


REDACTED_FIELDS = ("subtitle", "source", "device", "os", "blocks", "quote_details")


def _occurrences(obj, text: str) -> int:
    return sum(json.dumps(getattr(obj, name), ensure_ascii=False).count(json.dumps(text, ensure_ascii=False)[1:-1])
               for name in REDACTED_FIELDS)


@transaction.atomic
def redact_post(*, post, actor, reason: str, text: str, replacement: str = REDACTED_NAME) -> int:
    """Replace `text` (as stored, e.g. personal data the automatic redaction missed) by
    `replacement` in every stored copy: the post's text, quotes and their HTML source, its
    rendered HTML, its revisions, reports' notes about it, the search index and the
    indicators (at once, in this transaction), cached pages (Thread.version). Returns how
    many places held it."""
    from forum.archive_io import crossref_resolver
    from forum.links import allowed_hosts
    from forum.render import RENDER_VERSION, render_stored_post

    reason = clean_reason(reason)
    text = (text or "").replace("\r\n", "\n")
    if len(text.strip()) < MIN_REDACTED_LENGTH:
        raise ModerationRefused(_("Enter the text to redact, exactly as it is written in the post."))
    if replacement in text:
        raise ModerationRefused(_("The text to redact may not contain its replacement “%(mark)s”.") % {
            "mark": replacement})
    post = _locked_post(post)
    _require(actor, post.thread.board)
    found = _occurrences(post, text)
    revisions = list(PostRevision.objects.filter(post=post))
    found_in_revisions = sum(_occurrences(revision, text) for revision in revisions)
    if not found and not found_in_revisions:
        raise ModerationRefused(_("The text was not found in this post or its earlier versions. Copy it exactly "
                                  "as the post's source shows it."))
    needles = [(text, replacement)]
    for escaped in dict.fromkeys((html.escape(text), html.escape(text, quote=False))):
        if escaped != text:  # the same text in the HTML source of a quoted mail
            needles.append((escaped, replacement))
    for obj in [post, *revisions]:
        for name in REDACTED_FIELDS:
            setattr(obj, name, _replace_all(getattr(obj, name), needles))
    for revision in revisions:
        revision.save(update_fields=list(REDACTED_FIELDS))
    post.html = render_stored_post(post, allowed_hosts=allowed_hosts(),
                                   resolve_crossref=crossref_resolver() if post.format == Post.Format.ARCHIVE else None)
    post.render_version = RENDER_VERSION
    # Marked as changed on Daiou: a re-import of the archive page never brings the text back.
    post.edited_at = timezone.now()
    post.save()
    for report in Report.objects.filter(post=post):
        note, url = _replace_all(report.note, needles), _replace_all(report.url, needles)
        if (note, url) != (report.note, report.url):
            Report.objects.filter(pk=report.pk).update(note=note, url=url)
    _log(Action.REDACT_POST, actor, _replace_all(reason, needles), target=post_label(post), post=post,
         details={"places": found + found_in_revisions})
    _purged(post.thread, [post.pk])
    return found + found_in_revisions


# ---- threads ---------------------------------------------------------------------------------

def _thread_posts(thread: Thread) -> list[int]:
    return list(Post.objects.filter(thread=thread).values_list("pk", flat=True))


def _set_thread_flag(thread, actor, reason: str, *, field: str, value: bool, action: str, already: str,
                     public: bool) -> ModerationLog:
    reason = clean_reason(reason)
    thread = _locked_thread(thread)
    _require(actor, thread.board)
    if getattr(thread, field) == value:
        raise ModerationRefused(already)
    setattr(thread, field, value)
    thread.save(update_fields=[field])
    if field == "hidden":
        _close_reports(Report.objects.filter(thread=thread, post__isnull=True), actor, reason,
                       Report.Status.UPHELD if value else Report.Status.DISMISSED)
    entry = _log(action, actor, reason, target=thread_label(thread), thread=thread, member=thread.originator,
                 public=public)
    # Hidden threads' quotes leave the indicators; a lock changes only the page.
    _changed(thread, _thread_posts(thread) if field == "hidden" else [])
    return entry


@transaction.atomic
def lock_thread(*, thread, actor, reason: str) -> ModerationLog:
    return _set_thread_flag(thread, actor, reason, field="locked", value=True, action=Action.LOCK_THREAD,
                            already=_("This thread is locked already."), public=True)


@transaction.atomic
def unlock_thread(*, thread, actor, reason: str) -> ModerationLog:
    return _set_thread_flag(thread, actor, reason, field="locked", value=False, action=Action.UNLOCK_THREAD,
                            already=_("This thread is not locked."), public=True)


@transaction.atomic
def hide_thread(*, thread, actor, reason: str) -> ModerationLog:
    return _set_thread_flag(thread, actor, reason, field="hidden", value=True, action=Action.HIDE_THREAD,
                            already=_("This thread is hidden already."), public=False)


@transaction.atomic
def restore_thread(*, thread, actor, reason: str) -> ModerationLog:
    return _set_thread_flag(thread, actor, reason, field="hidden", value=False, action=Action.RESTORE_THREAD,
                            already=_("This thread is not hidden."), public=False)


@transaction.atomic
def move_thread(*, thread, board: Board, actor, reason: str) -> Thread:
    """Move a thread to another board: it takes the next NO. there (as a new thread would, under
    the board's row lock) and its old address redirects to it for good."""
    reason = clean_reason(reason)
    thread = _locked_thread(thread)
    _require(actor, thread.board)
    if not roles.can_moderate(actor, board):
        raise ModerationForbidden(_("You do not moderate the board you move the thread to."))
    if board.pk == thread.board_id:
        raise ModerationRefused(_("The thread is on this board already."))
    old_board, old_number, old_volume_id = thread.board, thread.number, thread.volume_id
    old_label = thread_label(thread)
    board, volume, number = take_thread_number(board)
    thread.board, thread.volume, thread.number = board, volume, number
    thread.save(update_fields=["board", "volume", "number"])
    ThreadRedirect.objects.update_or_create(board=old_board, number=old_number, defaults={"thread": thread})
    counters.recount_volumes([old_volume_id])
    _log(Action.MOVE_THREAD, actor, reason, target=old_label, thread=thread, member=thread.originator, public=True,
         details={"from": f"{old_board.name}NO.{old_number}", "to": f"{board.name}NO.{number}"})
    _changed(thread, _thread_posts(thread))  # the search index files posts by board
    return thread


@transaction.atomic
def merge_threads(*, source, target, actor, reason: str) -> Thread:
    """Append the posts of `source` to `target` (after its last post, in their order) and
    delete `source`; its address redirects to `target` for good."""
    reason = clean_reason(reason)
    first, second = sorted([getattr(source, "pk", source), getattr(target, "pk", target)])
    locked = {first: _locked_thread(first), second: _locked_thread(second)}
    source, target = locked[getattr(source, "pk", source)], locked[getattr(target, "pk", target)]
    if source.pk == target.pk:
        raise ModerationRefused(_("A thread cannot be merged into itself."))
    _require(actor, source.board)
    _require(actor, target.board)
    source_label = f"{source.board.name}NO.{source.number}"
    ids = _thread_posts(source)
    Post.objects.filter(thread=source).update(thread=target, position=F("position") + target.last_position)
    ThreadRedirect.objects.filter(thread=source).update(thread=target)
    ThreadRedirect.objects.update_or_create(board=source.board, number=source.number, defaults={"thread": target})
    Report.objects.filter(thread=source).update(thread=target)
    _log(Action.MERGE_THREAD, actor, reason, target=thread_label(target), thread=target, member=source.originator,
         public=True, details={"from": source_label, "title": source.title, "posts": len(ids)})
    volume_id = source.volume_id
    source.delete()
    counters.recount_volumes([volume_id])
    counters.recount_threads([target.pk])  # post count, last position; bumps the version
    announce_posts_changed(ids)
    target.refresh_from_db()
    return target


# ---- reports ---------------------------------------------------------------------------------

REPORT_REASONS = HIDE_CATEGORIES


def _clean_note(note: str | None) -> str:
    note = (note or "").replace("\x00", "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise ModerationRefused(_("The note is too long (at most %(n)d characters).") % {"n": MAX_NOTE_LENGTH})
    return note


@transaction.atomic
def file_report(*, reporter, reason: str, note: str = "", post=None, thread=None) -> Report:
    """A member reports a post or a thread. Open reports from DAIOU_REPORTS_TO_HIDE members hide
    a post until a moderator decides (logged as done by Daiou itself)."""
    if not reporter.is_authenticated:
        raise ModerationRefused(_("Log in to report."))
    refusal = bans.refusal_for(user=reporter, action=bans.REPORT)
    if refusal:
        raise ModerationRefused(refusal)
    if reason not in REPORT_REASONS:
        raise ModerationRefused(_("Choose what is wrong."))
    note = _clean_note(note)
    if reason == HiddenReason.OTHER and not note:
        raise ModerationRefused(_("Say in the note what is wrong."))
    if post is not None:
        post = _locked_post(post)
        if not (Post.objects.visible_to(reporter).filter(pk=post.pk).exists()
                and Thread.objects.visible_to(reporter).filter(pk=post.thread_id).exists()):
            raise ModerationRefused(_("This post no longer exists."))
        thread = post.thread
        duplicate = Report.objects.filter(reporter=reporter, post=post, status=Report.Status.OPEN)
    else:
        if thread is None or not Thread.objects.visible_to(reporter).filter(pk=thread.pk).exists():
            raise ModerationRefused(_("This thread no longer exists."))
        duplicate = Report.objects.filter(reporter=reporter, thread=thread, post=None, status=Report.Status.OPEN)
    if duplicate.exists():
        raise ModerationRefused(_("You have reported this already; moderators will look at it."))
    try:
        with transaction.atomic():
            report = Report.objects.create(post=post, thread=thread, reporter=reporter, reason=reason, note=note)
    except IntegrityError:  # the same member's second click, a moment after the first
        raise ModerationRefused(_("You have reported this already; moderators will look at it.")) from None
    if post is not None and not post.hidden and not post.held:
        reporters = (Report.objects.filter(post=post, status=Report.Status.OPEN).values("reporter").distinct()
                     .count())
        if reporters >= settings.DAIOU_REPORTS_TO_HIDE:
            _hide(post, None, _("Hidden automatically: reported by %(n)d members.") % {"n": reporters},
                  HiddenReason.REPORTED)
    return report


def post_at(url: str) -> tuple[Thread | None, Post | None]:
    """The thread and post an address of this site names (/info/916/?page=2#p57), if any."""
    parts = urlsplit((url or "").strip())
    match = re.fullmatch(r"/([a-z][a-z0-9-]*)/(\d{1,9})/(?:p(\d{1,9})/[a-z]*/?)?", parts.path or "")
    if not match:
        return None, None
    slug, number = match.group(1), int(match.group(2))
    thread = Thread.objects.filter(board__slug=slug, number=number).select_related("board").first()
    if thread is None:
        redirect = ThreadRedirect.objects.filter(board__slug=slug, number=number).select_related("thread").first()
        thread = redirect.thread if redirect else None
    anchor = re.fullmatch(r"p(\d{1,9})", parts.fragment or "")
    position = match.group(3) or (anchor.group(1) if anchor else None)
    post = None
    if thread is not None:
        post = Post.objects.filter(thread=thread, position=int(position or 1)).first()
    return thread, post


@transaction.atomic
def request_removal(*, requester, email: str, url: str, what: str) -> Report:
    """Anyone asks for their personal data to be removed (the contact form); it lands in the
    review queue, linked to the post when the address names one."""
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ModerationRefused(_("Enter an e-mail address we can answer to.")) from None
    what = _clean_note(what)
    url = (url or "").replace("\x00", "").strip()[:500]
    if not what or not url:
        raise ModerationRefused(_("Say which post it is and what should be removed."))
    thread, post = post_at(url)
    return Report.objects.create(post=post, thread=thread, reporter=requester if requester.is_authenticated else None,
                                 reason=Report.REMOVAL, note=what, url=url, contact_email=email)


@transaction.atomic
def close_report(*, report, actor, reason: str, upheld: bool) -> ModerationLog:
    """Close a report of a thread or a removal request (posts' reports close with the decision
    on the post): `upheld` when acted on, otherwise dismissed."""
    reason = clean_reason(reason)
    try:
        report = Report.objects.select_for_update(of=("self",)).select_related("thread__board", "post").get(
            pk=getattr(report, "pk", report))
    except Report.DoesNotExist:
        raise ModerationRefused(_("This report no longer exists.")) from None
    _require(actor, report.thread.board if report.thread is not None else None)
    if report.status != Report.Status.OPEN:
        raise ModerationRefused(_("This report was handled already."))
    _close_reports(Report.objects.filter(pk=report.pk), actor, reason,
                   Report.Status.UPHELD if upheld else Report.Status.DISMISSED)
    target = report.get_reason_display()
    if report.thread is not None:
        target = f"{target}: {thread_label(report.thread)}"
    return _log(Action.CLOSE_REPORT, actor, reason, target=str(target)[:300], thread=report.thread,
                post=report.post, details={"report": report.pk, "upheld": upheld})


# ---- members and addresses -------------------------------------------------------------------

MEMBER_ACTIONS = {Ban.Kind.SILENCE: Action.SILENCE_MEMBER, Ban.Kind.SUSPEND: Action.SUSPEND_MEMBER,
                  Ban.Kind.ACCOUNT: Action.BAN_ACCOUNT}
ADDRESS_ACTIONS = {Ban.Kind.EMAIL: Action.BAN_EMAIL, Ban.Kind.DOMAIN: Action.BAN_DOMAIN, Ban.Kind.IP: Action.BAN_IP}
MEMBER_KINDS_SET = frozenset(MEMBER_ACTIONS)


def _ends_at(days, *, required: bool):
    if days in (None, ""):
        if required:
            raise ModerationRefused(_("Say for how many days."))
        return None
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise ModerationRefused(_("The number of days must be a whole number.")) from None
    if not 1 <= days <= MAX_BAN_DAYS:
        raise ModerationRefused(_("Between 1 and %(n)d days.") % {"n": MAX_BAN_DAYS})
    return timezone.now() + timedelta(days=days)


@transaction.atomic
def sanction_member(*, member, actor, reason: str, kind: str, days=None) -> Ban:
    """Silence (no posting) or suspend (no posting, editing or reporting) a member for some
    days, or ban the account (until lifted, or for some days)."""
    reason = clean_reason(reason)
    _require_global(actor)
    if kind not in MEMBER_KINDS_SET:
        raise ModerationRefused(_("Unknown kind of sanction."))
    ends_at = _ends_at(days, required=kind != Ban.Kind.ACCOUNT)
    member = get_user_model().objects.select_for_update().filter(pk=getattr(member, "pk", member)).first()
    if member is None:
        raise ModerationRefused(_("This member no longer exists."))
    if member.pk == actor.pk:
        raise ModerationRefused(_("You cannot sanction yourself."))
    if member.is_superuser or (roles.moderates_everything(member) and not actor.is_superuser):
        raise ModerationForbidden(_("Only an admin may sanction a moderator, and nobody an admin."))
    if Ban.objects.active().filter(user=member, kind=kind).exists():
        raise ModerationRefused(_("This sanction is in force already; lift it first to change it."))
    ban = Ban.objects.create(kind=kind, user=member, reason=reason, created_by=actor, ends_at=ends_at)
    _log(MEMBER_ACTIONS[kind], actor, reason, target=member.get_username(), member=member,
         details={"ban": ban.pk, "until": ends_at.isoformat() if ends_at else None})
    return ban


def clean_address(kind: str, value: str) -> str:
    """An e-mail address, domain or IP range as a ban stores it, or ModerationRefused."""
    value = (value or "").strip()
    if kind == Ban.Kind.EMAIL:
        try:
            validate_email(value)
        except ValidationError:
            raise ModerationRefused(_("Enter an e-mail address.")) from None
        return value.lower()
    if kind == Ban.Kind.DOMAIN:
        host = normalize_host(value.lstrip("@"))
        if host is None or host.is_ip or "." not in host.ascii:
            raise ModerationRefused(_("Enter a domain such as example.com."))
        return host.ascii
    if kind == Ban.Kind.IP:
        try:
            return str(bans.ip_network(value))
        except ValueError:
            raise ModerationRefused(_("Enter an IP address or range (203.0.113.0/24), no wider than /%(v4)d for "
                                      "IPv4 or /%(v6)d for IPv6.") % {"v4": bans.MIN_PREFIX[4],
                                                                       "v6": bans.MIN_PREFIX[6]}) from None
    raise ModerationRefused(_("Unknown kind of ban."))


@transaction.atomic
def ban_address(*, kind: str, value: str, actor, reason: str, days=None) -> Ban:
    """Ban an e-mail address or domain (no sign-up) or an IP range (no sign-up, posting or reporting)."""
    reason = clean_reason(reason)
    _require_global(actor)
    value = clean_address(kind, value)
    ends_at = _ends_at(days, required=False)
    if Ban.objects.active().filter(kind=kind, value=value).exists():
        raise ModerationRefused(_("This is banned already."))
    ban = Ban.objects.create(kind=kind, value=value, reason=reason, created_by=actor, ends_at=ends_at)
    _log(ADDRESS_ACTIONS[kind], actor, reason, target=value,
         details={"ban": ban.pk, "until": ends_at.isoformat() if ends_at else None})
    return ban


@transaction.atomic
def lift_ban(*, ban, actor, reason: str) -> ModerationLog:
    reason = clean_reason(reason)
    _require_global(actor)
    ban = Ban.objects.select_for_update(of=("self",)).select_related("user").filter(pk=getattr(ban, "pk", ban)).first()
    if ban is None:
        raise ModerationRefused(_("This ban no longer exists."))
    if not Ban.objects.active().filter(pk=ban.pk).exists():
        raise ModerationRefused(_("This ban is not in force."))
    ban.lifted_at, ban.lifted_by = timezone.now(), actor
    ban.save(update_fields=["lifted_at", "lifted_by"])
    return _log(Action.LIFT_BAN, actor, reason, target=f"{ban.get_kind_display()}: {ban.target_label}"[:300],
                member=ban.user, details={"ban": ban.pk})
