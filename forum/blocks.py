"""A post body as an ordered list of blocks.

Recognised once, when a body is imported or saved, and stored as JSON (`blocks_to_json`);
pages render the stored blocks and never parse a body again. Every block keeps the lines it
was read from as written, so `serialize_body(parse_body(text)) == text` for every str, and
carries the parsed fields the renderer needs. The marks are described in
docs/archive-format.md ("Post bodies").
"""

from __future__ import annotations

import re
import types
from dataclasses import MISSING, dataclass, fields, is_dataclass, replace
from datetime import date
from functools import cache
from typing import ClassVar, Union, get_args, get_origin, get_type_hints

from forum.archive.shapes import NUMBER, SHORT_DATE, SPACE, SPACE_CHARS, short_date_of

# Stored counts of empty lines past this come from a damaged or forged row, not from a body.
MAX_STORED_COUNT = 10_000_000


class BlockError(ValueError):
    """Stored block data that is not what blocks_to_json writes, or a quote that cannot be built."""


@dataclass(frozen=True)
class Blank:
    """`count` empty lines between other blocks (lines of spaces are text, not blank)."""

    kind: ClassVar[str] = "blank"
    count: int

    def lines(self) -> list[str]:
        return [""] * self.count


@dataclass(frozen=True)
class Subtitle:
    """`副題=TEXT` as the first line of a body: the post's subtitle."""

    kind: ClassVar[str] = "subtitle"
    line: str
    text: str

    def lines(self) -> list[str]:
        return [self.line]


@dataclass(frozen=True)
class Text:
    """Ordinary lines, exactly as typed; first and last line are not empty (those are Blank)."""

    kind: ClassVar[str] = "text"
    text: str

    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass(frozen=True)
class News:
    """Quoted news text: paragraphs that start with `>`, markers kept as written.

    A paragraph runs on through lines without `>` (NO.917 has one) up to an empty line or a
    mark; empty lines stay inside when another `>` paragraph follows them.
    """

    kind: ClassVar[str] = "news"
    text: str

    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass(frozen=True)
class MailHeader:
    """One header line of a quoted mail: `name`/`value` for display, `line` as written."""

    name: str
    value: str
    line: str


@dataclass(frozen=True)
class Elision:
    """`<以下省略>`, `<以下同文につき省略>`, `<以下引用3と同文のため省略>`: the quoted text was cut.

    `text` is what stands between the brackets; `same_as_quote` the quote it repeats, if named.
    """

    kind: ClassVar[str] = "elision"
    line: str
    text: str
    same_as_quote: int | None

    def lines(self) -> list[str]:
        return [self.line]


@dataclass(frozen=True)
class Quote:
    """A quoted mail: from its mark line to the next mark or the end of the body.

    `mark` is the line as written (`********** 以下引用1 **********`), `number` the number in it.
    Then `blank_after_mark` empty lines, the header lines, `blank_after_headers` empty lines,
    the `body` (mail text or raw HTML source, as written; "" when there is none), and, when the
    quote ends with an elision, `blank_before_elision` empty lines and the `elision`. The
    elision is split off before anything reads the body, so an HTML quote that stops inside a
    tag never swallows it. Empty lines after the quote belong to the next Blank block.
    """

    kind: ClassVar[str] = "quote"
    mark: str
    number: int | None
    blank_after_mark: int
    headers: tuple[MailHeader, ...]
    blank_after_headers: int
    body: str
    blank_before_elision: int
    elision: Elision | None

    def lines(self) -> list[str]:
        out = [self.mark, *[""] * self.blank_after_mark, *(h.line for h in self.headers)]
        out += [""] * self.blank_after_headers
        if self.body:
            out += self.body.split("\n")
        out += [""] * self.blank_before_elision
        if self.elision is not None:
            out.append(self.elision.line)
        return out


@dataclass(frozen=True)
class Deadlink:
    """`<消滅・21/05/30>`: the cited article's link died on `date`.

    Right after a citation it is that citation's `deadlink`; anywhere else it stands alone.
    """

    kind: ClassVar[str] = "deadlink"
    line: str
    date: date

    def lines(self) -> list[str]:
        return [self.line]


@dataclass(frozen=True)
class Citation:
    """`<参考=「TITLE」(SOURCE)>` or `<参考=「TITLE」(SOURCE、DATE)>`; DATE as written (`9月11日`)."""

    kind: ClassVar[str] = "citation"
    line: str
    title: str
    source: str
    date: str | None
    deadlink: Deadlink | None

    def lines(self) -> list[str]:
        return [self.line] if self.deadlink is None else [self.line, self.deadlink.line]


@dataclass(frozen=True)
class FigureImage:
    """A member's screenshot (forum.figures): the stored file's SHA-256 and extension, its size in pixels."""

    sha256: str
    ext: str
    width: int
    height: int


# A stored figure's file name: its SHA-256 and extension (forum.figures).
FIGURE_NAME = re.compile(r"([0-9a-f]{64})\.(png|jpg|webp)")


@dataclass(frozen=True)
class Figure:
    """`<図>` or `<図1>` (`label` 図1, `number` 1) and the caption line under it, if any.

    `image` is the screenshot a member attached; the archive's figures (and a member's after
    export and import: the text format holds no image) are placeholders without one."""

    kind: ClassVar[str] = "figure"
    line: str
    label: str
    number: int | None
    caption: str | None
    image: FigureImage | None = None

    def lines(self) -> list[str]:
        return [self.line] if self.caption is None else [self.line, self.caption]


@dataclass(frozen=True)
class Supplement:
    """`<補足>`: what follows supplements the thread."""

    kind: ClassVar[str] = "supplement"
    line: str

    def lines(self) -> list[str]:
        return [self.line]


@dataclass(frozen=True)
class Note:
    """`<注=TEXT>`: an editor's note."""

    kind: ClassVar[str] = "note"
    line: str
    text: str

    def lines(self) -> list[str]:
        return [self.line]


@dataclass(frozen=True)
class Crossref:
    """`<参考=雑談NO.2093 TITLE>(20/09/14)`: a thread of another (or the same) board."""

    kind: ClassVar[str] = "crossref"
    line: str
    board: str
    number: int
    title: str
    date: date

    def lines(self) -> list[str]:
        return [self.line]


Block = Blank | Subtitle | Text | News | Quote | Elision | Citation | Deadlink | Figure | Supplement | Note | Crossref
BLOCK_KINDS: dict[str, type] = {cls.kind: cls for cls in get_args(Block)}


# ---- recognising lines -------------------------------------------------------------------

_QUOTE_MARK = re.compile(rf"(\*{{3,}}){SPACE}*以下引用({NUMBER})?{SPACE}*\*{{3,}}")
# The headers a quoted mail shows (Received lines never: they reveal the reporter's provider).
_MAIL_HEADER = re.compile(
    r"(?i)(from|sender|reply-to|return-path|to|cc|bcc|subject|date|message-id|x-mailer|authentication-results):(.*)"
)
_FIGURE = re.compile(rf"図({NUMBER})?")
_DEADLINK = re.compile(rf"消滅[・･]{SHORT_DATE}")
_SAME_AS_QUOTE = re.compile(rf"以下引用({NUMBER})と同文")
_CROSSREF_TAIL = re.compile(rf"[>＞][(（]{SHORT_DATE}[)）]\Z")
_BOARD_AND_NUMBER = re.compile(rf"([^「」<>＜＞]+)[NＮ][OＯ][.．]({NUMBER})")
_CITATION_DATE = re.compile(rf"(?:{NUMBER}年)?{NUMBER}月{NUMBER}日")
_SUBTITLE_PREFIXES = ("副題=", "副題＝")
_CITATION_PREFIXES = ("参考=「", "参考＝「")
_REFERENCE_PREFIXES = ("<参考=", "<参考＝", "＜参考=", "＜参考＝")


def quote_mark_number(line: str) -> tuple[bool, int | None]:
    """(is the line a quote mark, the quote's number if it has one)."""
    match = _QUOTE_MARK.fullmatch(line.strip(SPACE_CHARS))
    if match is None:
        return False, None
    return True, int(match[2]) if match[2] else None


def is_quote_mark(line: str) -> bool:
    return quote_mark_number(line)[0]


def read_subtitle(line: str) -> Subtitle | None:
    """The subtitle mark, recognised only as a body's first line."""
    if line.startswith(_SUBTITLE_PREFIXES):
        return Subtitle(line, line[len("副題="):])
    return None


def _elision(line: str) -> Elision | None:
    inner = _angle_inner(line.strip(SPACE_CHARS))
    if inner is None or not (inner.startswith("以下") and inner.endswith("省略")):
        return None
    same = _SAME_AS_QUOTE.match(inner)
    return Elision(line, inner, int(same[1]) if same else None)


def _angle_inner(stripped: str) -> str | None:
    if len(stripped) >= 2 and stripped[0] in "<＜" and stripped[-1] in ">＞":
        return stripped[1:-1]
    return None


def _reference(line: str, stripped: str) -> Citation | Crossref | None:
    """The two `<参考=…>` marks: a citation of an article or a cross-reference to a thread."""
    crossref_tail = _CROSSREF_TAIL.search(stripped, max(0, len(stripped) - 16))
    if crossref_tail is not None:
        day = short_date_of(*crossref_tail.groups())
        head, _, title = _split_first_space(stripped[len("<参考="):crossref_tail.start()])
        board = _BOARD_AND_NUMBER.fullmatch(head)
        if day is None or board is None:
            return None
        return Crossref(line, board[1], int(board[2]), title, day)
    inner = _angle_inner(stripped)
    if inner is None or not inner.startswith(_CITATION_PREFIXES) or inner[-1] not in ")）":
        return None
    # TITLE may itself hold 「」: it ends at the last 」 that opens the source's parentheses.
    close = max(inner.rfind("」("), inner.rfind("」（"))
    if close < len("参考=「"):
        return None
    title, in_parens = inner[len("参考=「"):close], inner[close + 2:-1]
    source, comma, when = in_parens.rpartition("、")
    if comma and _CITATION_DATE.fullmatch(when):
        return Citation(line, title, source, when, None)
    return Citation(line, title, in_parens, None, None)


def _split_first_space(text: str) -> tuple[str, str, str]:
    cut = min((i for i in (text.find(" "), text.find("\u3000")) if i >= 0), default=-1)
    return (text, "", "") if cut < 0 else (text[:cut], text[cut], text[cut + 1:])


def _single_line_mark(line: str) -> Elision | Citation | Crossref | Deadlink | Figure | Supplement | Note | None:
    """The block a one-line mark starts, or None for anything else (`<!>` included)."""
    stripped = line.strip(SPACE_CHARS)
    if not stripped or stripped[0] not in "<＜":
        return None
    if stripped.startswith(_REFERENCE_PREFIXES):
        return _reference(line, stripped)
    inner = _angle_inner(stripped)
    if inner is None:
        return None
    if inner == "補足":
        return Supplement(line)
    if inner.startswith(("注=", "注＝")):
        return Note(line, inner[2:])
    if figure := _FIGURE.fullmatch(inner):
        return Figure(line, inner, int(figure[1]) if figure[1] else None, None)
    if deadlink := _DEADLINK.fullmatch(inner):
        day = short_date_of(*deadlink.groups())
        return None if day is None else Deadlink(line, day)
    return _elision(line)


def _is_news_line(line: str) -> bool:
    return line[:1] in (">", "＞")


def _starts_block(line: str) -> bool:
    return _is_news_line(line) or is_quote_mark(line) or _single_line_mark(line) is not None


# ---- parse and serialise -----------------------------------------------------------------


def parse_body(text: str) -> list[Block]:
    """The blocks of a post body, in order; `serialize_body` gives `text` back exactly."""
    if not isinstance(text, str):
        raise BlockError(f"a body is text (str), not {type(text).__name__}")
    if text == "":
        return []
    lines = text.split("\n")
    subtitle = read_subtitle(lines[0])
    blocks: list[Block] = [subtitle] if subtitle else []
    i = len(blocks)
    while i < len(lines):
        line = lines[i]
        if line == "":
            end = _skip_blank(lines, i)
            blocks.append(Blank(end - i))
        elif is_quote_mark(line):
            end = i + 1
            while end < len(lines) and not is_quote_mark(lines[end]):
                end += 1
            end = _last_filled(lines, i, end) + 1
            blocks.append(_read_quote(lines[i:end]))
        elif _is_news_line(line):
            end = _news_end(lines, i)
            blocks.append(News("\n".join(lines[i:end])))
        elif (mark := _single_line_mark(line)) is not None:
            block, end = _complete_mark(mark, lines, i)
            blocks.append(block)
        else:
            end = _text_end(lines, i)
            blocks.append(Text("\n".join(lines[i:end])))
        i = end
    return blocks


def serialize_body(blocks: list[Block]) -> str:
    return "\n".join(line for block in blocks for line in block.lines())


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and lines[i] == "":
        i += 1
    return i


def _last_filled(lines: list[str], first: int, end: int) -> int:
    """Index of the last non-empty line in lines[first:end] (first itself is never empty)."""
    last = end - 1
    while last > first and lines[last] == "":
        last -= 1
    return last


def _text_end(lines: list[str], i: int) -> int:
    last = i
    for j in range(i + 1, len(lines)):
        if lines[j] == "":
            continue
        if _starts_block(lines[j]):
            break
        last = j
    return last + 1


def _news_end(lines: list[str], i: int) -> int:
    last = i
    j = i + 1
    while j < len(lines):
        if lines[j] == "":
            after = _skip_blank(lines, j)
            if after == len(lines) or not _is_news_line(lines[after]):
                break
            j = after
        elif not _is_news_line(lines[j]) and _starts_block(lines[j]):
            break
        last = j
        j += 1
    return last + 1


def _complete_mark(mark: Block, lines: list[str], i: int) -> tuple[Block, int]:
    """A figure takes its caption line, a citation the deadlink right under it."""
    following = lines[i + 1] if i + 1 < len(lines) else ""
    if isinstance(mark, Figure) and following and not _starts_block(following):
        return Figure(mark.line, mark.label, mark.number, following), i + 2
    if isinstance(mark, Citation) and isinstance(deadlink := _single_line_mark(following), Deadlink):
        return Citation(mark.line, mark.title, mark.source, mark.date, deadlink), i + 2
    return mark, i + 1


def _read_quote(lines: list[str]) -> Quote:
    """A quote from its mark line to its last non-empty line."""
    _, number = quote_mark_number(lines[0])
    i = _skip_blank(lines, 1)
    blank_after_mark = i - 1
    headers = []
    while i < len(lines) and (header := _MAIL_HEADER.fullmatch(lines[i])):
        value = header[2][1:] if header[2].startswith(" ") else header[2]
        headers.append(MailHeader(header[1], value, lines[i]))
        i += 1
    blank_after_headers = 0
    if headers:
        after = _skip_blank(lines, i)
        blank_after_headers, i = after - i, after
    rest = lines[i:]
    elision = _elision(rest[-1]) if rest else None
    blank_before_elision = 0
    if elision is not None:
        rest.pop()
        while rest and rest[-1] == "":
            rest.pop()
            blank_before_elision += 1
    return Quote(lines[0], number, blank_after_mark, tuple(headers), blank_after_headers,
                 "\n".join(rest), blank_before_elision, elision)


def build_quote(number: int | None, headers: list[tuple[str, str]], body: str) -> Quote:
    """A mail quoted in the browser, laid out as the old forum did, as the importer will read it.

    Mark line, an empty line, the header lines (`Name: value`), an empty line, the body (line
    ends made LF, empty lines around it dropped). A body that ends with an elision line comes
    back with it as the quote's elision. Raises BlockError for a quote that would not read back
    as given: an unknown header name, a value with a line break, a body line that is itself a
    quote mark (it would start another quote), or, with no headers, a body whose first line
    reads as a mail header.
    """
    if number is not None and (type(number) is not int or not 0 <= number < 10**9):
        raise BlockError(f"a quote number is a whole number from 0 to 999999999, not {number!r}")
    pairs = [tuple(pair) for pair in headers]
    if not isinstance(body, str) or not all(len(p) == 2 and all(isinstance(s, str) for s in p) for p in pairs):
        raise BlockError("a quoted mail is (name, value) pairs of text and a body of text")
    body_lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    while body_lines and body_lines[-1] == "":
        body_lines.pop()
    first = _skip_blank(body_lines, 0)
    body_lines = body_lines[first:]
    for line_number, line in enumerate(body_lines, 1):
        if is_quote_mark(line):
            raise BlockError(f"line {line_number} of the quoted mail reads as a quote mark: {line!r}")
    header_lines = []
    for name, value in pairs:
        if "\n" in value or "\r" in value:
            raise BlockError(f"the mail header {name} holds a line break")
        header_lines.append(f"{name}: {value}" if value else f"{name}:")
    lines = [f"********** 以下引用{'' if number is None else number} **********"]
    content = header_lines + ([""] if header_lines and body_lines else []) + body_lines
    if content:
        lines += ["", *content]
    quote = _read_quote(lines)
    if [(h.name, h.value) for h in quote.headers] != pairs:
        raise BlockError(
            "the mail headers would not read back as given: names must be From, Sender, Reply-To, Return-Path, "
            "To, Cc, Bcc, Subject, Date, Message-ID, X-Mailer or Authentication-Results, "
            "and without headers the body must not start with one"
        )
    return quote


def build_figure(number: int | None, caption: str, image: FigureImage | None = None) -> Figure:
    """A member's figure laid out as the archive's: `<図N>` (`<図>` when the post has one) and
    the caption line under it, exactly as the importer will read it back. BlockError for a
    caption that would not read back as the caption: empty, a line break, or a line that
    starts another block (`>`, a quote mark, a mark such as `<図>`)."""
    if number is not None and (type(number) is not int or not 0 < number < 10**9):
        raise BlockError(f"a figure number is a whole number from 1 to 999999999, not {number!r}")
    if not isinstance(caption, str) or "\n" in caption or "\r" in caption:
        raise BlockError("a figure caption is one line of text")
    label = "図" if number is None else f"図{number}"
    figure = Figure(f"<{label}>", label, number, caption, image)
    if [replace(block, image=image) if isinstance(block, Figure) else block
            for block in parse_body("\n".join(figure.lines()))] != [figure]:
        raise BlockError("the caption would not read back as the figure's caption: it must not be empty or "
                         "start with >, a quote mark or a mark in angle brackets")
    return figure


# ---- JSON ----------------------------------------------------------------------------------


def blocks_to_json(blocks: list[Block]) -> list[dict]:
    """JSON-safe (str, int, None, list, dict only); `blocks_from_json` reads it back equal."""
    return [{"kind": block.kind, **_encode(block)} for block in blocks]


def blocks_from_json(data: object) -> list[Block]:
    """Blocks from what `blocks_to_json` wrote; BlockError for anything else (wrong shapes or
    types, negative counts, or counts of empty lines no body has)."""
    if not isinstance(data, list):
        raise BlockError(f"stored blocks are a list, not {type(data).__name__}")
    blocks = []
    for index, item in enumerate(data):
        if not isinstance(item, dict) or item.get("kind") not in BLOCK_KINDS:
            raise BlockError(f"block {index}: not an object with a known kind")
        fields_only = {key: value for key, value in item.items() if key != "kind"}
        blocks.append(_decode(BLOCK_KINDS[item["kind"]], fields_only, f"block {index}"))
    return blocks


def _encode(value):
    if is_dataclass(value):
        # A field left at its default is not written: the archive's figures keep their shape.
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)
                if f.default is MISSING or getattr(value, f.name) != f.default}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


@cache
def _field_types(cls: type) -> dict[str, object]:
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


@cache
def _required_fields(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls) if f.default is MISSING)


def _decode(kind, data, where: str):
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if data is None and type(None) in get_args(kind):
            return None
        (inner,) = [arg for arg in get_args(kind) if arg is not type(None)]
        return _decode(inner, data, where)
    if origin is tuple:
        if not isinstance(data, list):
            raise BlockError(f"{where}: expected a list")
        return tuple(_decode(get_args(kind)[0], item, f"{where}[{i}]") for i, item in enumerate(data))
    if kind is date:
        try:
            return date.fromisoformat(data)
        except (TypeError, ValueError):
            raise BlockError(f"{where}: expected a date YYYY-MM-DD, got {data!r}") from None
    if kind in (str, int):
        if type(data) is not kind:  # `type`, not isinstance: True is not a count
            raise BlockError(f"{where}: expected {kind.__name__}, got {type(data).__name__}")
        return data
    if not isinstance(data, dict) or not _required_fields(kind) <= data.keys() <= _field_types(kind).keys():
        raise BlockError(f"{where}: expected an object with exactly {sorted(_field_types(kind))}")
    values = {name: _decode(tp, data[name], f"{where}.{name}") for name, tp in _field_types(kind).items()
              if name in data}
    for name, value in values.items():
        if (name == "count" or name.startswith("blank_")) and not 0 <= value <= MAX_STORED_COUNT:
            raise BlockError(f"{where}.{name}: {value} empty lines")
    if kind is FigureImage and not (FIGURE_NAME.fullmatch(f'{values["sha256"]}.{values["ext"]}')
                                    and values["width"] > 0 and values["height"] > 0):
        # These make the image's address and size attributes: nothing else may come through.
        raise BlockError(f"{where}: not a stored figure's SHA-256, extension and size")
    return kind(**values)
