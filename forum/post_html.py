"""A thread page's posts as HTML, written in Python: the template partial they replace (three
{% url %}, a tag and several translations a post) took about three quarters of a thread page's
time.

What is the same for every post of a page (addresses, translated words) is worked out once per
page. The stored HTML of a post goes in as it is (rendered and sanitised when it was saved);
everything else is escaped here, as the template's autoescaping did (per post with the standard
library's html.escape, which Django's escape() wraps, without its checks for lazy strings). The
posts are written as UTF-8 bytes, the stored HTML as the database gave it, and put into the
rendered page by `page_with_posts`. The output is checked against that template in
forum/tests/test_post_html.py.
"""

from __future__ import annotations

import functools
import secrets
from html import escape as escape_text

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .headers import author_label, post_stamp
from .models import Post
from .templatetags.cached_url import cached_reverse
from .moderation.templatetags.moderation_tags import hidden_reason_label

# Reversed in place of a post's number, then split around: one reverse() per page and URL name.
_SLOT = 9_876_543_210


def _url_around_number(name: str, *args) -> tuple[bytes, bytes]:
    """(before, after) the last argument of the URL `name`, as UTF-8: the URL of number n is
    before + n + after."""
    before, _slot, after = escape(cached_reverse(name, args=(*args, _SLOT))).rpartition(str(_SLOT))
    return before.encode(), after.encode()


@functools.lru_cache(maxsize=16)
def _words(language: str) -> dict:
    """The words of the posts' headers and footers in a language, as UTF-8 (escaped where they
    go as they are; those with %(…)s are escaped by what they are filled with): looking them up
    each page was a sixth of its posts' time. A label around a post's number is kept as its
    parts, joined around the number."""
    words = {
        "reply_word": escape(_("Reply")),
        "subtitle": escape(_("Subtitle")),
        "not_approved": escape(_("Not approved: only its author and the moderators see this post.")),
        "awaiting": escape(_("Awaiting approval: only its author and the moderators see this post until a "
                             "moderator approves it.")),
        "hidden": escape(_("This post has been hidden.")),
        "edited": f'<span class="meta">{escape(_("edited"))}</span>',
        "edit": escape(_("Edit")),
        "report": escape(_("Report")),
        "moderate": escape(_("Moderate")),
    }
    encoded = {key: word.encode() for key, word in words.items()}
    for key, label in (("post_label", _("Post %(n)s")), ("in_reply_to", _("In reply to #%(n)s"))):
        encoded[key] = [part.encode() for part in (label % {"n": "\x00"}).split("\x00")]
    # Filled with a reason's label, for hidden posts only: text, encoded once filled.
    encoded["reason"] = _("(Reason: %(reason)s)")
    encoded["hidden_for_moderators"] = _("Hidden from readers (reason: %(reason)s); moderators see the text.")
    return encoded


class _Page:
    """Addresses and words shared by the posts of one thread page, in the reader's language,
    as UTF-8."""

    def __init__(self, thread, per_page: int, moderator: bool):
        self.__dict__.update(_words(get_language()))
        slug, number = thread.board.slug, thread.number
        self.per_page = per_page
        self.moderator = moderator
        self.reply = None if thread.locked else (
            f'<a href="{escape(cached_reverse("reply", args=(slug, number)))}?to='.encode(),
            b'">' + self.reply_word + b"</a>")
        self.edit_url = _url_around_number("edit_post", slug, number)
        self.report_url = _url_around_number("moderation:report_post", slug, number)
        self.moderate_url = _url_around_number("moderation:post")


def thread_posts_html(posts, *, thread, user, moderator: bool, per_page: int) -> bytes:
    """The <article> of each post (rows of PostQuerySet.page_rows), as the reader `user` sees
    it (`moderator`: of this board), as UTF-8: the posts' stored HTML goes in as the bytes the
    database gave (decoding 70 KB of mostly Japanese text and encoding it again for the
    response was a sixth of an uncached page). `page_with_posts` puts them in the page."""
    page = _Page(thread, per_page, moderator)
    reader = user.pk if user.is_authenticated else None
    return b"\n".join([_article(post, page, reader) for post in posts])


# Where the posts go in the rendered thread page (templates/forum/thread.html): a comment no
# escaped text can spell ("<" is always escaped), with a token of this process besides.
SLOT = mark_safe(f"<!--posts {secrets.token_hex(8)}-->")


def page_with_posts(rendered: str, posts: bytes) -> bytes:
    """The page rendered around SLOT, encoded, with the posts' bytes in the slot."""
    before, slot, after = rendered.partition(SLOT)
    if not slot or SLOT in after:
        raise ValueError("the thread page must hold the posts' slot exactly once")
    return b"".join((before.encode(), posts, after.encode()))


_CLASSES = {(False, False): b"post", (True, False): b"post post-hidden", (False, True): b"post post-held",
            (True, True): b"post post-hidden post-held"}


def _article(post, page: _Page, reader) -> bytes:
    # Bytes throughout: the stored HTML goes in as it came, and only the few texts of a post
    # (its header, subtitle, a reason) are encoded; building text and encoding the whole
    # article was a fifth of the posts' time.
    n = b"%d" % post.position
    hidden, held = bool(post.hidden), bool(post.held)
    header = escape_text(f"{author_label(post.author_name, post.handle, post.device, post.os)} "
                         f"{post_stamp(post.posted_at)}").encode()
    parts = [
        b'<article class="%s" id="p%s" aria-labelledby="p%s-h">\n<header>\n<h2 class="post-header" id="p%s-h">'
        b'<a class="permalink" href="#p%s" aria-label="%s">#%s</a> %s</h2>'
        % (_CLASSES[hidden, held], n, n, n, n, n.join(page.post_label), n, header),
    ]
    if (to := post.reply_to__position) is not None:
        parts.append(b'<p class="reply-to"><a href="?page=%d#p%d">%s</a></p>'
                     % ((to - 1) // page.per_page + 1, to, (b"%d" % to).join(page.in_reply_to)))
    if post.subtitle and not hidden:
        parts.append(b'<p class="subtitle">%s: %s</p>' % (page.subtitle, escape_text(post.subtitle).encode()))
    parts.append(b"</header>")
    if held:
        parts.append(b'<p class="held-note">%s</p>' % (page.not_approved if hidden else page.awaiting))
    if hidden and not page.moderator:
        reason = ""
        if post.hidden_reason:
            reason = " " + page.reason % {"reason": escape_text(str(hidden_reason_label(post.hidden_reason)))}
        parts.append(b'<p class="hidden-note">%s%s</p>' % (page.hidden, reason.encode()))
    else:
        if hidden:
            label = escape_text(str(hidden_reason_label(post.hidden_reason) or "-"))
            parts.append(b'<p class="hidden-note">%s</p>' % (page.hidden_for_moderators % {"reason": label}).encode())
        parts.append(b'<div class="post-body">%s</div>' % post.html_utf8)
    parts.append(b'<footer class="post-actions">')
    if page.reply:
        parts.append(page.reply[0] + n + page.reply[1])
    if post.edited_at:
        parts.append(page.edited)
    if post.format != Post.Format.ARCHIVE and (page.moderator or (reader is not None and post.author_id == reader)):
        parts.append(b'<a href="%s%s%s">%s</a>' % (page.edit_url[0], n, page.edit_url[1], page.edit))
    parts.append(b'<a href="%s%s%s" rel="nofollow">%s</a>' % (page.report_url[0], n, page.report_url[1], page.report))
    if page.moderator:
        parts.append(b'<a href="%s%d%s">%s</a>' % (page.moderate_url[0], post.pk, page.moderate_url[1], page.moderate))
    parts.append(b"</footer>\n</article>")
    return b"\n".join(parts)
