"""Where things stand in quoted HTML source: link targets, image sources, namespaces, text.

A quoted HTML mail is kept as source text, often cut off mid-tag (`<以下省略>`). This module
never builds a DOM: a linear scan splits the source into pieces, each with the role its text
plays, and incidents.extract looks for indicators in each piece:

- `LINK`: href/action/formaction/cite/data/longdesc, src of frames and scripts, a meta
  refresh, any other attribute, comments and script content ("link in HTML source");
- `IMAGE`: src of img and input, background, poster, srcset, and CSS (style attributes and
  style elements): what the mail loads when it is opened ("image source");
- `NAMESPACE`: xmlns and xmlns:*, the `ns` of Word's `<?xml:namespace>`, DOCTYPE identifiers;
  they name a vocabulary and are never fetched;
- `TEXT`: text between tags, what the reader sees.

A quote left open runs to the end of the source, as a browser reads it (a source cut off
inside a tag keeps its last value). Values are entity-decoded; a protocol-relative value (`//host/x`) gets `https:` so that it
reads as a URL. Every quantifier is possessive or bounded by a delimiter: the scan is linear
whatever the source holds.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

LINK = "link"
IMAGE = "image"
NAMESPACE = "namespace"
TEXT = "text"

_LOOKS_LIKE_HTML = re.compile(
    r"<(?:!doctype\s++html|html|head|body|table|div|span|font|meta|center|tbody|td|tr|br|p|a|img)(?=[\s/>])",
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"<!--(?P<comment>.*?)(?:-->|\Z)"
    r"|<!(?P<declaration>[^>]*+)>?"
    r"|<\?(?P<instruction>[^>]*+)>?"
    r"|</(?P<end>[A-Za-z][^\s/>]*+)[^>]*+>?"
    r"|<(?P<name>[A-Za-z][^\s/>]*+)(?P<attributes>(?:[^>\"']++|\"[^\"]*+(?:\"|\Z)|'[^']*+(?:'|\Z))*+)>?",
    re.DOTALL,
)
_ATTRIBUTE = re.compile(
    r"(?P<name>[^\s\"'>/=]++)(?:\s*+=\s*+(?:\"(?P<double>[^\"]*+)(?:\"|\Z)|'(?P<single>[^']*+)(?:'|\Z)"
    r"|(?P<bare>[^\s>]++)))?"
)
_RAW_TEXT_ELEMENTS = {"script", "style"}
_IMAGE_TAGS = {"img", "input", "image"}
_IMAGE_ATTRIBUTES = {"background", "poster", "srcset", "lowsrc", "dynsrc", "style"}
_DOCTYPE = re.compile(r"doctype\b", re.IGNORECASE)


@dataclass(frozen=True)
class Piece:
    role: str
    text: str      # entity-decoded: what a browser follows or shows
    raw: str = ""  # as in the source, when it differs (the forum displays the source)


def looks_like_html(body: str) -> bool:
    """A quote body that holds HTML tags (rather than a text mail with a stray `<…>`)."""
    return _LOOKS_LIKE_HTML.search(body, 0, 200_000) is not None


def pieces(source: str) -> Iterator[Piece]:
    position = 0
    while True:
        token = _TOKEN.search(source, position)
        end = token.start() if token else len(source)
        if end > position:
            yield _piece(TEXT, source[position:end])
        if token is None:
            return
        position = token.end()
        if token["comment"] is not None:
            yield Piece(LINK, token["comment"])
        elif token["declaration"] is not None:
            declaration = token["declaration"]
            yield Piece(NAMESPACE if _DOCTYPE.match(declaration) else LINK, declaration)
        elif token["instruction"] is not None:
            yield from _instruction(token["instruction"])
        elif token["name"] is not None:
            name = token["name"].lower()
            yield from _attributes(name, token["attributes"])
            if name in _RAW_TEXT_ELEMENTS:
                close = re.compile(rf"</{name}\b", re.IGNORECASE).search(source, position)
                content_end = close.start() if close else len(source)
                yield Piece(IMAGE if name == "style" else LINK, source[position:content_end])
                position = content_end


def _instruction(text: str) -> Iterator[Piece]:
    # <?xml:namespace prefix = o ns = "urn:schemas-microsoft-com:office:office" />
    for attribute in _ATTRIBUTE.finditer(text):
        value = _value(attribute)
        if value and value.text:
            yield Piece(NAMESPACE if attribute["name"].lower() in {"ns", "xmlns"} else LINK, value.text, value.raw)


def _piece(role: str, raw: str) -> Piece:
    text = html.unescape(raw)
    return Piece(role, text, "" if text == raw else raw)


def _value(attribute: re.Match) -> Piece | None:
    for group in ("double", "single", "bare"):
        if attribute[group] is not None:
            raw = attribute[group].strip()
            piece = _piece(LINK, raw)
            if piece.text.startswith("//"):
                return Piece(LINK, "https:" + piece.text, piece.raw and "https:" + piece.raw)
            return piece
    return None


def _attributes(tag: str, text: str) -> Iterator[Piece]:
    for attribute in _ATTRIBUTE.finditer(text):
        value = _value(attribute)
        if not value or not value.text:
            continue
        name = attribute["name"].lower()
        if name == "xmlns" or name.startswith("xmlns:"):
            role = NAMESPACE
        elif name in _IMAGE_ATTRIBUTES or (name == "src" and tag in _IMAGE_TAGS):
            role = IMAGE
        else:
            role = LINK
        yield Piece(role, value.text, value.raw)
