"""Plain text of a mail's HTML, read by a real HTML5 parser, for showing beside the source.

Lexbor (through selectolax) parses as browsers do, in C. The standard library's html.parser was
not used: on Python 3.13.0 it takes seconds on 100 KB of '<a<a<a…' and raises AssertionError on
'<![<![', and hostile HTML is what this module reads. Lexbor is linear except on deep nesting
(the tree builder's scope checks), so the parser sees at most MAX_HTML_TAGS tags.
"""
import re
from dataclasses import dataclass
from itertools import islice

from selectolax.lexbor import LexborHTMLParser

# Per mail, attached messages included: the corpus's largest HTML has 7,742 tags, and 20,000
# parse in about 1.5 s at worst (20,000 nested <div>).
MAX_HTML_TAGS = 20_000

# Not rendered by a mail client (or rendered as something else than their text).
_HIDDEN = {"head", "script", "style", "template", "iframe", "noembed", "noframes"}
_BLOCKS = {
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "html", "legend", "li",
    "listing", "main", "menu", "nav", "ol", "option", "p", "plaintext", "pre", "section",
    "summary", "table", "tbody", "tfoot", "thead", "tr", "ul", "xmp",
}
_PRESERVING = {"pre", "listing", "plaintext", "textarea", "xmp"}
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_BLANK_LINES = re.compile(r"\n{3,}")
_TAG_START = re.compile(r"<[!/?a-zA-Z]")
# Where a block starts or ends; adjacent ones (and the space between them) make one line break.
_BLOCK_BREAK = "\x00"
_BLOCK_BREAKS = re.compile(r"[ \t]*(?:\x00[ \t\n]*)+")


@dataclass(frozen=True)
class HtmlText:
    text: str
    tags: int        # tags given to the parser
    truncated: bool  # the HTML had more tags than allowed, and its text stops there


def html_to_text(html: str, max_tags: int = MAX_HTML_TAGS) -> HtmlText:
    """The text a reader would see, one line per block, from at most `max_tags` tags."""
    html = html.replace(_BLOCK_BREAK, "")
    tag_starts = [match.start() for match in islice(_TAG_START.finditer(html), max_tags + 1)]
    truncated = len(tag_starts) > max_tags
    if truncated:
        html = html[:tag_starts[max_tags]]
    root = LexborHTMLParser(html).root if html else None
    if root is None:
        return HtmlText("", min(len(tag_starts), max_tags), truncated)
    pieces: list[str] = []
    preserving = 0
    for event, node in _walk(root):
        tag = node.tag
        if event == "text":
            text = node.text_content or ""
            pieces.append(text if preserving else _HTML_SPACE.sub(" ", text))
        elif event == "enter":
            if tag in _BLOCKS:
                pieces.append(_BLOCK_BREAK)
            elif tag == "br":
                pieces.append("\n")
            elif tag in ("td", "th"):
                pieces.append(" ")
            if tag in _PRESERVING:
                preserving += 1
        else:
            if tag in _BLOCKS:
                pieces.append(_BLOCK_BREAK)
            if tag in _PRESERVING:
                preserving -= 1
    text = _BLOCK_BREAKS.sub("\n", "".join(pieces))
    lines = (line.strip(" \t") for line in text.split("\n"))
    text = _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")
    return HtmlText(text, len(tag_starts) if not truncated else max_tags, truncated)


def _walk(root):
    """('enter'|'leave'|'text', node) in document order, without recursion (HTML nests deep)."""
    root_id = root.mem_id
    node = root
    while node is not None:
        tag = node.tag or "-unknown"  # lexbor gives some malformed nodes no tag name
        descend = False
        if tag == "-text":
            yield "text", node
        elif not tag.startswith(("-", "_")) and tag not in _HIDDEN:  # '-comment', '_doctype'…
            yield "enter", node
            descend = True
        if descend and node.child is not None:
            node = node.child
            continue
        if descend:
            yield "leave", node
        while node is not None:
            if node.mem_id == root_id:
                node = None
            elif node.next is not None:
                node = node.next
                break
            else:
                node = node.parent
                yield "leave", node
