"""One renderer for every post: saving, the Markdown preview and `manage.py rerender` call it.

Pages serve the stored result and never parse or sanitise on a request.
"""

import html
import threading
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter

# Bump when the output of render_post changes; `manage.py rerender` brings old posts up to it.
RENDER_VERSION = 1

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li",
        "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
    }
)
ALLOWED_ATTRIBUTES = {"a": ["href", "title", "rel"]}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow ugc noopener noreferrer"

_local = threading.local()


def _markdown() -> markdown.Markdown:
    # Markdown instances keep state between conversions, so one per thread, reset each time.
    md = getattr(_local, "md", None)
    if md is None:
        md = markdown.Markdown(extensions=["fenced_code", "sane_lists", "nl2br", "tables"], output_format="html")
        # Raw HTML in a post is text, never markup: drop the passes that would let it through.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        # Images would load from anywhere; a member's screenshot is a figure (see the figures app).
        md.inlinePatterns.deregister("image_link")
        md.inlinePatterns.deregister("image_reference")
        _local.md = md
    md.reset()
    return md


def _set_link_attributes(attrs, new=False):
    href = attrs.get((None, "href"), "")
    if not href:
        return attrs
    attrs[(None, "rel")] = LINK_REL
    attrs.pop((None, "target"), None)
    return attrs


_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=ALLOWED_ATTRIBUTES,
    protocols=ALLOWED_PROTOCOLS,
    strip=True,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_link_attributes], skip_tags={"pre", "code"})],
)


def render_markdown(source: str) -> str:
    """Markdown from a member → sanitised HTML (the allowlist is the last word, not Markdown)."""
    return _cleaner.clean(_markdown().convert(source))


def render_archive(source: str) -> str:
    """Text imported from the old forum: shown exactly as typed."""
    return f'<div class="archive-text">{html.escape(source)}</div>'


def render_post(source: str, format: str) -> str:
    if format == "archive":
        return render_archive(source)
    return render_markdown(source)
