"""Writes that matter: each a plain function taking the actor, run in one transaction.

Thread numbers, post positions and volume numbers are given here and nowhere else, under a
row lock on the board or thread (on SQLite, IMMEDIATE transactions serialise writers), so
concurrent writers never collide and never leave a gap.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import counters
from .signals import announce_posts_changed
from .archive.member_body import MemberBodyError, compose_body
from .blocks import Quote, blocks_from_json, blocks_to_json, parse_body
from .links import allowed_hosts
from .models import Board, Draft, Post, Profile, Thread, Volume
from .render import RENDER_VERSION, render_post


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


def _content(fields: PostFields) -> dict:
    """The stored forms of a member's post: blocks as the archive lays it out (subtitle, own
    text, then the quoted mails), what the format cannot hold about the quotes, and the HTML."""
    mails = [(q.headers, q.body) for q in fields.quotes]
    try:
        blocks = parse_body(compose_body(fields.body, subtitle=fields.subtitle, mails=mails))
    except MemberBodyError as error:
        raise ActionRefused(_("The post cannot be stored as it is: %(reason)s") % {"reason": error}) from None
    details = [{"kind": q.kind, "html": q.html, "html_text": q.html_text, "attachments": q.attachments}
               for q in fields.quotes]
    html = render_post(fields.body, Post.Format.MARKDOWN, blocks=blocks, quote_details=details,
                       allowed_hosts=allowed_hosts())
    return {"blocks": blocks_to_json(blocks), "quote_details": details, "html": html, "render_version": RENDER_VERSION}


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


def _author_fields(user) -> dict:
    profile = Profile.objects.filter(user=user).first()
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


def _new_post(thread: Thread, position: int, user, fields: PostFields, now, reply_to=None) -> Post:
    return Post.objects.create(
        thread=thread,
        position=position,
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


@transaction.atomic
def create_thread(*, board: Board, user, title: str, fields: PostFields, draft_key: str | None = None) -> Thread:
    board = Board.objects.select_for_update().get(pk=board.pk)
    now = timezone.now()
    volume = _volume_for_new_thread(board)
    board.last_thread_number += 1
    board.save(update_fields=["last_thread_number", "last_volume_number"])
    author = _author_fields(user)
    thread = Thread.objects.create(
        board=board,
        volume=volume,
        number=board.last_thread_number,
        title=title,
        originator=user,
        originator_name=author["author_name"],
        started_on=timezone.localdate(now),
        created_at=now,
    )
    counters.note_new_thread(volume)
    post = _new_post(thread, 1, user, fields, now)
    counters.note_new_post(thread, post)
    if draft_key:
        Draft.objects.filter(user=user, key=draft_key).delete()
    announce_posts_changed([post.pk])
    thread.refresh_from_db()
    return thread


@transaction.atomic
def create_reply(*, thread: Thread, user, fields: PostFields, reply_to: Post | None = None,
                 draft_key: str | None = None) -> Post:
    thread = Thread.objects.select_for_update().get(pk=thread.pk)
    if thread.locked:
        raise ThreadLocked(_("This thread is locked: it takes no more replies."))
    if reply_to is not None and reply_to.thread_id != thread.pk:
        raise ActionRefused(_("The post you reply to is not in this thread."))
    post = _new_post(thread, thread.last_position + 1, user, fields, timezone.now(), reply_to=reply_to)
    counters.note_new_post(thread, post)
    if draft_key:
        Draft.objects.filter(user=user, key=draft_key).delete()
    announce_posts_changed([post.pk])
    return post


def can_edit(user, post: Post) -> bool:
    if not user.is_authenticated:
        return False
    return post.author_id == user.pk or user.has_perm("forum.moderate")


@transaction.atomic
def edit_post(*, post: Post, user, fields: PostFields) -> Post:
    post = Post.objects.select_for_update().select_related("thread").get(pk=post.pk)
    if not can_edit(user, post):
        raise ActionRefused(_("Only the author or a moderator may edit this post."))
    if post.format != Post.Format.MARKDOWN:
        raise ActionRefused(_("Archived posts are kept as they were written."))
    if not fields.quotes:
        fields = PostFields(**{**fields.__dict__, "quotes": kept_quotes(post)})
    for name, value in _content(fields).items():
        setattr(post, name, value)
    post.source = fields.body
    post.subtitle = fields.subtitle
    post.device = fields.device
    post.os = fields.os
    post.edited_at = timezone.now()
    post.save()
    counters.note_thread_changed(post.thread)
    announce_posts_changed([post.pk])
    return post


def save_draft(*, user, key: str, title: str = "", subtitle: str = "", body: str = "") -> Draft:
    draft, _ = Draft.objects.update_or_create(
        user=user, key=key, defaults={"title": title, "subtitle": subtitle, "body": body}
    )
    return draft
