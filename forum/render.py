"""One renderer for every post: saving, the Markdown preview and `manage.py rerender` call it.

Pages serve the stored result and never parse or sanitise on a request.
"""

import html
import threading
from collections.abc import Callable
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter

from incidents.defang import defang_text_html

from . import blocks as b

# Bump when the output of render_post changes; `manage.py rerender` brings old posts up to it.
RENDER_VERSION = 2

# (board name, thread NO.) → the thread's URL when it is in the archive, else None.
CrossrefResolver = Callable[[str, int], str | None]

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


def _text(text: str) -> str:
    # Every URL, host and address in quoted or archived text is shown defanged, never linked.
    return defang_text_html(text)


def _quote(quote: b.Quote) -> str:
    label = f"以下引用{quote.number}" if quote.number is not None else "以下引用"
    rows = "".join(
        f'<tr><th scope="row">{html.escape(h.name)}</th><td>{_text(h.value)}</td></tr>' for h in quote.headers
    )
    parts = [f'<section class="mail-quote" aria-label="{html.escape(label)}">',
             f'<p class="quote-mark">{html.escape(quote.mark)}</p>']
    if rows:
        parts.append(f'<table class="mail-headers">{rows}</table>')
    if quote.body:
        parts.append(f'<pre class="mail-body">{_text(quote.body)}</pre>')
    if quote.elision is not None:
        parts.append(_elision(quote.elision))
    parts.append("</section>")
    return "".join(parts)


def _elision(elision: b.Elision) -> str:
    return f'<p class="elision">{html.escape(elision.line)}</p>'


def _deadlink(deadlink: b.Deadlink) -> str:
    return (f'<span class="deadlink" title="リンク切れ"><time datetime="{deadlink.date.isoformat()}">'
            f"{html.escape(deadlink.line)}</time></span>")


def _citation(citation: b.Citation) -> str:
    dead = f" {_deadlink(citation.deadlink)}" if citation.deadlink else ""
    return f'<p class="citation"><cite>{_text(citation.line)}</cite>{dead}</p>'


def _crossref(ref: b.Crossref, resolve: CrossrefResolver | None) -> str:
    url = resolve(ref.board, ref.number) if resolve else None
    line = html.escape(ref.line)
    if url:
        return f'<p class="crossref"><a href="{html.escape(url)}">{line}</a></p>'
    return f'<p class="crossref">{line} <span class="not-archived">(未収録)</span></p>'


def _figure(figure: b.Figure) -> str:
    caption = f"<figcaption>{_text(figure.caption)}</figcaption>" if figure.caption else ""
    return f'<figure class="figure-placeholder"><p class="figure-label">{html.escape(figure.line)}</p>{caption}</figure>'


def render_blocks(blocks: list, resolve_crossref: CrossrefResolver | None = None) -> str:
    """An imported post's blocks → inert HTML; text exactly as typed, structure made visible."""
    out = []
    for block in blocks:
        match block:
            case b.Blank():
                out.append('<div class="gap"></div>')
            case b.Subtitle():
                pass  # shown in the post's header
            case b.Text():
                out.append(f'<p class="archive-text">{_text(block.text)}</p>')
            case b.News():
                out.append(f'<blockquote class="news">{_text(block.text)}</blockquote>')
            case b.Quote():
                out.append(_quote(block))
            case b.Elision():
                out.append(_elision(block))
            case b.Citation():
                out.append(_citation(block))
            case b.Deadlink():
                out.append(f'<p class="deadlink-alone">{_deadlink(block)}</p>')
            case b.Figure():
                out.append(_figure(block))
            case b.Supplement():
                out.append(f'<p class="supplement">{html.escape(block.line)}</p>')
            case b.Note():
                out.append(f'<p class="note">{_text(block.line)}</p>')
            case b.Crossref():
                out.append(_crossref(block, resolve_crossref))
    return f'<div class="archive-body">{"".join(out)}</div>'


def render_post(source: str, format: str, resolve_crossref: CrossrefResolver | None = None) -> str:
    if format == "archive":
        return render_blocks(b.parse_body(source), resolve_crossref)
    return render_markdown(source)
