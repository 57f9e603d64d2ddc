"""Writes that matter: each a plain function taking the actor, run in one transaction.

Thread numbers, post positions and volume numbers are given here and nowhere else, under a
row lock on the board or thread (on SQLite, IMMEDIATE transactions serialise writers), so
concurrent writers never collide and never leave a gap.
"""

import functools
import re
from dataclasses import dataclass, replace

from django.db import IntegrityError, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import counters
from .signals import announce_posts_changed
from .archive.member_body import MemberBodyError, compose_body
from .blocks import Figure, Quote, blocks_from_json, blocks_to_json, parse_body
from .figures.actions import FigureError, attach as attach_figures
from .watching import actions as watching
from .links import allowed_hosts
from .models import Board, Draft, Post, Profile, Thread, Volume
from .precompiled import Precompiled
from .render import RENDER_VERSION, render_markdown, render_post


class ActionRefused(Exception):
    """The action cannot be done; the message says why, for the member."""


class ThreadLocked(ActionRefused):
    pass


@dataclass(frozen=True)
class PostFields:
    body: str
    subtitle: str = ""
    device: str = ""
    os: str = ""
    quotes: tuple = ()  # forum.quoting.PendingQuote: redacted already
    # forum.figures Figure rows in order (stored and re-encoded already); None keeps an edited post's.
    figures: tuple | None = None
    # `body` rendered already (render_body: the new-member gate counts its links), so that a post
    # is rendered once; None: the action renders it.
    body_html: str | None = None


def render_body(fields: PostFields) -> PostFields:
    """The fields with their own text rendered as the post will store it."""
    if fields.body_html is not None:
        return fields
    return replace(fields, body_html=render_markdown(fields.body, allowed_hosts()))


def _content(fields: PostFields) -> dict:
    """The stored forms of a member's post: blocks as the archive lays it out (subtitle, own
    text, the figures, then the quoted mails), what the format cannot hold about the quotes,
    and the HTML."""
    mails = [(q.headers, q.body) for q in fields.quotes]
    figures = fields.figures or ()
    try:
        blocks = parse_body(compose_body(fields.body, subtitle=fields.subtitle, mails=mails,
                                         figures=[f.caption for f in figures]))
    except MemberBodyError as error:
        raise ActionRefused(_("The post cannot be stored as it is: %(reason)s") % {"reason": error}) from None
    blocks = _with_images(blocks, figures)
    details = [{"kind": q.kind, "html": q.html, "html_text": q.html_text, "attachments": q.attachments}
               for q in fields.quotes]
    html = render_post(fields.body, Post.Format.MARKDOWN, blocks=blocks, quote_details=details,
                       allowed_hosts=allowed_hosts(), source_html=fields.body_html)
    return {"blocks": blocks_to_json(blocks), "quote_details": details, "html": html, "render_version": RENDER_VERSION}


def _with_images(blocks: list, figures) -> list:
    """The attached figures' images on their blocks: the figure blocks laid out after the own
    text and before the first quoted mail (a `<図>` typed in the text comes before them)."""
    if not figures:
        return blocks
    before_quotes = next((i for i, block in enumerate(blocks) if isinstance(block, Quote)), len(blocks))
    at = [i for i in range(before_quotes) if isinstance(blocks[i], Figure)][-len(figures):]
    if len(at) != len(figures) or any(blocks[i].caption != f.caption for i, f in zip(at, figures)):
        raise ActionRefused(_("The figures cannot be laid out in this post."))
    blocks = list(blocks)
    for i, figure in zip(at, figures):
        blocks[i] = replace(blocks[i], image=figure.image())
    return blocks


def preview_html(fields: PostFields) -> str:
    """Exactly the HTML the post will be published with."""
    return _content(fields)["html"]


def preview_quote_html(quote, number: int) -> str:
    """One pending quote as it will be shown."""
    fields = PostFields(body="", quotes=(quote,))
    return _content(fields)["html"]


def kept_quotes(post: Post) -> tuple:
    """A post's quoted mails as pending quotes again, so that an edit of its text keeps them."""
    from .quoting import PendingQuote

    quotes = [b for b in blocks_from_json(post.blocks) if isinstance(b, Quote)]
    details = list(post.quote_details) + [{}] * len(quotes)
    return tuple(PendingQuote(kind=details[i].get("kind", "mail"), headers=[(h.name, h.value) for h in q.headers],
                              body=q.body, html=details[i].get("html", ""), html_text=details[i].get("html_text", ""),
                              attachments=details[i].get("attachments", []))
                 for i, q in enumerate(quotes))


@functools.cache
def _profile_query(alias: str) -> Precompiled:
    """A member's profile (read for every post), its SQL written once per process."""
    member = Precompiled.stand_in(0)
    return Precompiled(Profile.objects.filter(user_id=member).order_by("pk")[:1], alias, (member,))


def _author_fields(user) -> dict:
    profile = next(iter(_profile_query(router.db_for_read(Profile))(user.pk)), None)
    return {
        "author": user,
        "author_name": profile.display_name if profile else user.get_username(),
        "handle": profile.handle if profile else "",
    }


def _volume_for_new_thread(board: Board) -> Volume:
    """The newest volume if it is Daiou's own and has room; otherwise the next one, opened now."""
    newest = board.volumes.order_by("-number").first()
    if newest and not newest.imported and newest.thread_count < board.threads_per_volume:
        return newest
    board.last_volume_number = max(board.last_volume_number, newest.number if newest else 0) + 1
    return Volume.objects.create(board=board, number=board.last_volume_number)


def take_thread_number(board: Board) -> tuple[Board, Volume, int]:
    """The next thread NO. of `board` and the volume it goes in, under a row lock on the board
    (call inside a transaction): a new thread, and a thread moved here (forum.moderation)."""
    board = Board.objects.select_for_update().get(pk=board.pk)
    volume = _volume_for_new_thread(board)
    board.last_thread_number += 1
    board.save(update_fields=["last_thread_number", "last_volume_number"])
    counters.note_new_thread(volume)
    return board, volume, board.last_thread_number


def _refuse_if_banned(user, action: str) -> None:
    from .moderation.bans import refusal_for

    refusal = refusal_for(user=user, action=action)
    if refusal:
        raise ActionRefused(refusal)


def _new_post(thread: Thread, position: int, user, fields: PostFields, now, reply_to=None,
              client_token: str = "", held: bool = False) -> Post:
    post = Post.objects.create(
        thread=thread,
        position=position,
        client_token=client_token,
        held=held,
        posted_at=now,
        subtitle=fields.subtitle,
        source=fields.body,
        format=Post.Format.MARKDOWN,
        device=fields.device,
        os=fields.os,
        reply_to=reply_to,
        **_content(fields),
        **_author_fields(user),
    )
    if fields.figures:
        _attach_figures(post, fields.figures)
    return post


def _attach_figures(post: Post, figures) -> None:
    try:
        attach_figures(post, figures)
    except FigureError:
        raise ActionRefused(_("A figure of this post is no longer there: attach it again.")) from None


# The composer's one-time token (views.new_client_token): letters, digits, - and _.
CLIENT_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,40}")


def post_for_token(user, client_token: str) -> Post | None:
    """The post this member already made with this composer token, if any."""
    if not client_token or not getattr(user, "is_authenticated", False):
        return None
    return Post.objects.filter(author=user, client_token=client_token).select_related("thread__board").first()


def _one_post_per_token(result):
    """A form sent twice (double click, retry) makes one post. Two sends that race both get
    past any check; the second insert then breaks the unique (author, client_token)
    constraint, its whole transaction (number, volume, counters) is rolled back, and the
    action returns what the first send made (`result(post)`) instead of failing."""
    def decorate(action):
        @functools.wraps(action)
        def wrapper(*, user, client_token: str = "", **kwargs):
            if client_token and not CLIENT_TOKEN.fullmatch(client_token):
                client_token = ""  # not one the composer made: no deduplication, no error
            try:
                return action(user=user, client_token=client_token, **kwargs)
            except IntegrityError:
                earlier = post_for_token(user, client_token)
                if earlier is None:
                    raise
                return result(earlier)
        return wrapper
    return decorate


@_one_post_per_token(lambda post: post.thread)
@transaction.atomic
def create_thread(*, board: Board, user, title: str, fields: PostFields, draft_key: str | None = None,
                  client_token: str = "", held: bool = False, bans_checked: bool = False) -> Thread:
    """`held`: the post waits for a moderator's approval (forum.limits.gate decides).
    `bans_checked`: the gate found the member's bans allow it in this request (its
    Decision.bans_checked); otherwise they are checked here."""
    if not bans_checked:
        _refuse_if_banned(user, "post")
    now = timezone.now()
    board, volume, number = take_thread_number(board)
    author = _author_fields(user)
    thread = Thread.objects.create(
        board=board,
        volume=volume,
        number=number,
        title=title,
        originator=user,
        originator_name=author["author_name"],
        started_on=timezone.localdate(now),
        created_at=now,
    )
    post = _new_post(thread, 1, user, fields, now, client_token=client_token, held=held)
    counters.note_new_post(thread, post)
    watching.watch(thread, user)  # its originator hears of replies
    if draft_key:
        Draft.objects.filter(user=user, key=draft_key).delete()
    announce_posts_changed([post.pk])
    thread.refresh_from_db()
    return thread


@_one_post_per_token(lambda post: post)
@transaction.atomic
def create_reply(*, thread: Thread, user, fields: PostFields, reply_to: Post | None = None,
                 draft_key: str | None = None, client_token: str = "", held: bool = False,
                 bans_checked: bool = False) -> Post:
    """`held` and `bans_checked` as for create_thread."""
    if not bans_checked:
        _refuse_if_banned(user, "post")
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    if thread.locked:
        raise ThreadLocked(_("This thread is locked: it takes no more replies."))
    if reply_to is not None and reply_to.thread_id != thread.pk:
        raise ActionRefused(_("The post you reply to is not in this thread."))
    post = _new_post(thread, thread.last_position + 1, user, fields, timezone.now(), reply_to=reply_to,
                     client_token=client_token, held=held)
    counters.note_new_post(thread, post)
    # Replying watches the thread; watchers hear of the reply now, or of a held one when approved.
    watching.watch(thread, user)
    watching.notify_reply(post)
    if draft_key:
        Draft.objects.filter(user=user, key=draft_key).delete()
    announce_posts_changed([post.pk])
    return post


def can_edit(user, post: Post) -> bool:
    """The author, or a moderator of the post's board (`post.thread` is read)."""
    from .moderation.roles import can_moderate

    if not user.is_authenticated:
        return False
    return post.author_id == user.pk or can_moderate(user, post.thread.board_id)


@transaction.atomic
def edit_post(*, post: Post, user, fields: PostFields, reason: str = "", held: bool = False) -> Post:
    """The author's or a moderator's edit. The text it replaces is kept as a PostRevision;
    forum.moderation.actions.edit_post is the moderator's way, with a reason and a log row.
    `held`: the edited post waits for approval again (forum.limits.gate decides: a new member's)."""
    from .moderation.models import PostRevision

    post = Post.objects.select_for_update(of=("self",)).select_related("thread").get(pk=post.pk)
    if not can_edit(user, post):
        raise ActionRefused(_("Only the author or a moderator may edit this post."))
    if post.format != Post.Format.MARKDOWN:
        raise ActionRefused(_("Archived posts are kept as they were written."))
    _refuse_if_banned(user, "edit")
    PostRevision.objects.create(
        post=post, number=PostRevision.objects.filter(post=post).count() + 1, subtitle=post.subtitle,
        source=post.source, device=post.device, os=post.os, blocks=post.blocks, quote_details=post.quote_details,
        edited_by=user, reason=reason)
    if not fields.quotes:
        fields = PostFields(**{**fields.__dict__, "quotes": kept_quotes(post)})
    if fields.figures is None:
        fields = PostFields(**{**fields.__dict__, "figures": tuple(post.figures.all())})
    for name, value in _content(fields).items():
        setattr(post, name, value)
    post.source = fields.body
    post.subtitle = fields.subtitle
    post.device = fields.device
    post.os = fields.os
    post.edited_at = timezone.now()
    if held and not post.held:
        post.held = True
        counters.note_post_held(post.thread, held=True)  # out of the thread's public count
    post.save()
    _attach_figures(post, fields.figures)
    counters.note_thread_changed(post.thread)
    announce_posts_changed([post.pk])
    return post


def save_draft(*, user, key: str, title: str = "", subtitle: str = "", body: str = "",
               pending: list | None = None) -> Draft:
    """`pending`: the composer's pending quotes and figures (forum.quoting.to_draft); None keeps
    what the draft holds."""
    defaults = {"title": title, "subtitle": subtitle, "body": body}
    if pending is not None:
        defaults["quotes"] = pending
    draft, _ = Draft.objects.update_or_create(user=user, key=key, defaults=defaults)
    return draft
