"""One renderer for every post: saving, the Markdown preview and `manage.py rerender` call it.

Pages serve the stored result and never parse or sanitise on a request.
"""

import html
import re
import threading
from collections.abc import Callable
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter
from django.urls import reverse

from incidents.defang import defang_text_html
from incidents.hosts import normalize_url

from . import blocks as b

# Bump when the output of render_post changes; `manage.py rerender` brings old posts up to it.
RENDER_VERSION = 3

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
# Besides bleach's output, the renderer itself adds spans around defanged addresses.
DEFANG_ELEMENTS = {"span": ["class"]}
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


_TAG = re.compile(r"(<[^>]*>)")


def host_is_allowed(host: str, allowed_hosts: frozenset[str]) -> bool:
    """An allowed host, or a subdomain of one (www.nikkei.com under nikkei.com)."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in allowed_hosts for i in range(len(labels)))


def _link_policy(allowed_hosts: frozenset[str]):
    """A link in a member's own text stays a link only to an allowed host; any other is shown
    as defanged text, so no bait link is ever one click away."""

    def callback(attrs, new=False):
        href = html.unescape(attrs.get((None, "href"), ""))  # attribute values arrive still escaped
        url = normalize_url(href) if href.lower().startswith(("http://", "https://")) else None
        if href.lower().startswith("mailto:") or (url and host_is_allowed(url.host.ascii, allowed_hosts)):
            attrs[(None, "rel")] = LINK_REL
            attrs.pop((None, "target"), None)
            return attrs
        text = attrs.get("_text", "")
        # Drop the href; the text stays, with the address beside it, and both are defanged
        # by _defang_text_segments.
        if href and text != href:
            text = f"{text} ({href})"
        return {"_text": text}

    return callback


def render_markdown(source: str, allowed_hosts: frozenset[str] = frozenset()) -> str:
    """Markdown from a member → sanitised HTML (the allowlist is the last word, not Markdown)."""
    cleaner = bleach.Cleaner(
        tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS, strip=True,
        strip_comments=True,
        filters=[partial(LinkifyFilter, callbacks=[_link_policy(allowed_hosts)], skip_tags={"pre", "code"})],
    )
    return _defang_text_segments(cleaner.clean(_markdown().convert(source)))


def _defang_text_segments(markup: str) -> str:
    """Every address in the text of sanitised markup defanged, except inside allowed links.

    Links the policy refused were left as bare `<a>` elements: they become spans."""
    out, in_link = [], False
    for part in _TAG.split(markup):
        if part.startswith("<"):
            if part == "<a>":
                part = '<span class="unlinked">'
            elif part == "</a>" and not in_link:
                part = "</span>"
            elif part.startswith("<a "):
                in_link = True
            elif part == "</a>":
                in_link = False
            out.append(part)
        elif part and not in_link:
            out.append(defang_text_html(html.unescape(part)))
        else:
            out.append(part)
    return "".join(out)

def _text(text: str) -> str:
    # Every URL, host and address in quoted or archived text is shown defanged, never linked.
    return defang_text_html(text)


def _size(size: int) -> str:
    return f"{size:,} B" if size < 1024 else f"{size / 1024:,.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MB"


def _quote_details(details: dict) -> str:
    """What a quoted mail carries beyond the archive format: HTML source and text, attachments."""
    parts = []
    if details.get("html"):
        parts.append('<details class="html-source"><summary>HTMLソース(文字として表示。実行も読み込みもしません)</summary>'
                     f'<pre class="mail-body">{_text(details["html"])}</pre></details>')
    if details.get("html_text"):
        parts.append('<details class="html-text"><summary>HTML部分のテキスト</summary>'
                     f'<pre class="mail-body">{_text(details["html_text"])}</pre></details>')
    attachments = details.get("attachments") or []
    if attachments:
        rows = "".join(
            f'<tr><td>{_text(a.get("name") or "—")}</td><td>{html.escape(a.get("type", ""))}</td>'
            f'<td>{_size(int(a.get("size", 0)))}</td><td><code>{html.escape(a.get("sha256", ""))}</code></td></tr>'
            for a in attachments)
        parts.append('<table class="attachments"><caption>添付ファイル(保存も配信もしません)</caption>'
                     "<tr><th>名前</th><th>種類</th><th>サイズ</th><th>SHA-256</th></tr>" + rows + "</table>")
    return "".join(parts)


def _quote(quote: b.Quote, details: dict | None = None) -> str:
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
    if details:
        parts.append(_quote_details(details))
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
    if figure.image is None:
        return f'<figure class="figure-placeholder"><p class="figure-label">{html.escape(figure.line)}</p>{caption}</figure>'
    image = figure.image
    if not (b.FIGURE_NAME.fullmatch(f"{image.sha256}.{image.ext}") and type(image.width) is type(image.height) is int):
        raise b.BlockError("not a stored figure")
    # The caption as the image's text alternative: defanged as in the figcaption, without markup.
    alt = _TAG.sub("", _text(figure.caption or ""))
    src = reverse("figure", args=[f"{image.sha256}.{image.ext}"])
    return (f'<figure class="figure"><p class="figure-label">{html.escape(figure.line)}</p>'
            f'<img src="{html.escape(src)}" width="{image.width}" height="{image.height}" alt="{alt}" '
            f'loading="lazy" decoding="async">{caption}</figure>')


def figure_html(caption: str, image: b.FigureImage, number: int | None = None) -> str:
    """One attached figure as its post will show it (the composer's list of figures)."""
    return _figure(b.build_figure(number, caption, image))


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


def render_post(source: str, format: str, resolve_crossref: CrossrefResolver | None = None, *,
                blocks: list | None = None, quote_details: list | tuple = (),
                allowed_hosts: frozenset[str] = frozenset(), source_html: str | None = None) -> str:
    """A post's HTML, made once when it is saved. Archive posts render their blocks; a member's
    post renders its own text as Markdown (unless given `source_html`, what render_markdown made
    of it already) and then its quoted mails as inert cards."""
    if format == "archive":
        return render_blocks(blocks if blocks is not None else b.parse_body(source), resolve_crossref)
    out = render_markdown(source, allowed_hosts) if source_html is None else source_html
    # A figure line typed in the text is text there; the attached screenshots follow the text.
    figures = [block for block in blocks or [] if isinstance(block, b.Figure) and block.image is not None]
    if figures:
        out += '<div class="figures">' + "".join(_figure(figure) for figure in figures) + "</div>"
    quotes = [block for block in blocks or [] if isinstance(block, b.Quote)]
    if quotes:
        details = list(quote_details) + [None] * len(quotes)
        out += '<div class="quotes">' + "".join(_quote(q, details[i]) for i, q in enumerate(quotes)) + "</div>"
    return out


def render_stored_post(post, *, allowed_hosts: frozenset[str] = frozenset(),
                       resolve_crossref: CrossrefResolver | None = None) -> str:
    """A stored post rendered again from what it keeps (`manage.py rerender`)."""
    blocks = b.blocks_from_json(post.blocks) if post.blocks else None
    return render_post(post.source, post.format, resolve_crossref, blocks=blocks,
                       quote_details=post.quote_details, allowed_hosts=allowed_hosts)
