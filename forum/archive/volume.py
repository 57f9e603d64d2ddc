"""Read and write the old forum's volume pages: the import format and Daiou's portable backup.

`parse_volume` reads a page into dataclasses and says what it repaired and noticed;
`write_volume` writes one back. A page written from what `parse_volume` returned is the page
that was read, byte for byte, except the lines listed in `repairs`. Each structural line is
kept as written only when it differs from the form Daiou writes, so a volume built from
fields alone (a thread written on Daiou) is written in that form. See docs/archive-format.md.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from forum.archive.shapes import DIGIT, NUMBER, SHORT_DATE, SLASH, SPACE, SPACE_CHARS, short_date_of
from forum.blocks import MAX_STORED_COUNT, read_subtitle
from forum.headers import WEEKDAYS, author_label, post_stamp, short_date, thread_heading

SITE_NAME = "みんながパソコン大王"
NAVIGATION = "総 合 目 録 趣意書"
TITLE_LIST = "表題一覧表"
COLUMN_HEADS = "NO 表題 起稿 起稿日"
JAPANESE_WEEKDAYS = "月火水木金土日"


class ArchiveError(ValueError):
    """Not a volume page (with where and what was expected), or a volume that cannot be written."""


@dataclass
class Post:
    """One post. `name`, `handle`, `device`, `os` as this post spells them; "" when absent.

    `posted_at` is naive Japan time. `body` is exactly as written, without the empty lines
    that separate it from its header and from what follows; "" is a body without lines.
    Layout, for exactness: `header_line` is the header as written (after any repair), kept
    only when it differs from the form Daiou writes; `blank_after_header` (0 or 1) and
    `blank_after_body` (0–2) are the empty lines around the body. `line` is where the header
    stood in the page read (1-based; 0 for a post not read from a page), for reports only.
    """

    name: str
    posted_at: datetime
    body: str
    handle: str = ""
    device: str = ""
    os: str = ""
    header_line: str | None = None
    blank_after_header: int = 1
    blank_after_body: int = 2
    line: int = field(default=0, compare=False, repr=False)

    @property
    def body_line(self) -> int:
        """The page line of the body's first line (meaningful when `line` is)."""
        return self.line + 1 + self.blank_after_header

    @property
    def subtitle(self) -> str | None:
        subtitle = read_subtitle(self.body.split("\n", 1)[0])
        return subtitle.text if subtitle else None


@dataclass
class Thread:
    """One thread: `NO.number title<起稿 originator>(YY/MM/DD)`, then its posts, oldest first.

    `title_line` is the line as written, kept only when it differs from Daiou's form;
    `blank_after_title` the empty lines before the first post.
    """

    number: int
    title: str
    originator: str
    started: date
    posts: list[Post] = field(default_factory=list)
    title_line: str | None = None
    blank_after_title: int = 2


@dataclass
class TitleRow:
    """A row of the title list: `NUMBER TITLE ORIGINATOR YY/MM/DD` (two-digit years are 20YY)."""

    number: int
    title: str
    originator: str
    date: date


@dataclass
class VolumeLink:
    """The title list's link to the newer or older volume: `情報NO.71`."""

    board: str
    number: int


@dataclass
class Volume:
    """A volume page: board, number, title list, threads in page order (oldest first).

    `front_matter` is the page's text before the first thread line (board line, site lines,
    title list), kept only when it differs from Daiou's layout. `final_newline` False keeps a
    last line without its line break (it applies only while the page ends with a non-empty
    line); `line_break` is "\\n" or "\\r\\n".
    """

    board: str
    number: int
    threads: list[Thread] = field(default_factory=list)
    title_rows: list[TitleRow] = field(default_factory=list)
    newer: VolumeLink | None = None
    older: VolumeLink | None = None
    front_matter: str | None = None
    final_newline: bool = True
    line_break: str = "\n"


@dataclass
class Repair:
    """A line the parser mended (or the importer redacted): written back in its `repaired`
    form. `original` is None where it must not be shown: a redacted line."""

    line: int
    what: str
    original: str | None
    repaired: str

    def describe(self) -> str:
        if self.original is None:
            return f"line {self.line}: {self.what} → {self.repaired!r}"
        return f"line {self.line}: {self.what}: {self.original!r} → {self.repaired!r}"


@dataclass
class ParseWarning:
    """Something unusual the parser accepted and kept as written."""

    line: int
    what: str


@dataclass
class ParsedVolume(Volume):
    repairs: list[Repair] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)


def title_rows_for(threads: list[Thread]) -> list[TitleRow]:
    """The title list Daiou writes for these threads: newest first."""
    return [TitleRow(t.number, t.title, t.originator, t.started) for t in reversed(threads)]


# The fields that only say how a page was laid out, not what it says.
_LAYOUT_FIELDS = {
    Post: {"header_line": str, "blank_after_header": int, "blank_after_body": int},
    Thread: {"title_line": str, "blank_after_title": int},
    Volume: {"front_matter": str, "final_newline": bool, "line_break": str},
}


def layout_of(item: Volume | Thread | Post) -> dict | None:
    """What a database keeps beside the fields to write `item` back exactly: its layout fields
    that differ from Daiou's form (JSON-safe), or None when it is laid out as Daiou writes."""
    kind = next(kind for kind in _LAYOUT_FIELDS if isinstance(item, kind))
    defaults = {f.name: f.default for f in dataclasses.fields(kind)}
    layout = {name: getattr(item, name) for name in _LAYOUT_FIELDS[kind] if getattr(item, name) != defaults[name]}
    return layout or None


def with_layout[Item: (Volume, Thread, Post)](item: Item, layout: object) -> Item:
    """`item` with a layout `layout_of` gave; ArchiveError for anything else."""
    if layout is None:
        return item
    kind = next(kind for kind in _LAYOUT_FIELDS if isinstance(item, kind))
    field_types = _LAYOUT_FIELDS[kind]
    if not isinstance(layout, dict) or not all(type(value) is field_types.get(name) for name, value in layout.items()):
        raise ArchiveError(f"not a {kind.__name__} layout: {layout!r:.200}")
    return dataclasses.replace(item, **layout)


# ---- line shapes ----------------------------------------------------------------------------

_OPEN = "(（"
_CLOSE = ")）"
# Everything after the author part of a header, bounded so it is matched on the line's tail.
_HEADER_TAIL = re.compile(
    rf"(】?)({SPACE}{{0,3}})({DIGIT}{{4}}){SLASH}({DIGIT}{{1,2}}){SLASH}({DIGIT}{{1,2}})"
    rf"{SPACE}{{0,3}}[(（]([A-Za-zＡ-Ｚａ-ｚ]{{3}}|[{JAPANESE_WEEKDAYS}])[)）]"
    rf"{SPACE}{{0,3}}({DIGIT}{{1,2}})[:：]({DIGIT}{{2}}){SPACE}{{0,3}}\Z"
)
_HEADER_TAIL_MAX = 48  # the tail above is at most 33 characters
_TITLE_HEAD = re.compile(rf"[NＮ][OＯ][.．]({NUMBER}){SPACE}?")
_TITLE_TAIL = re.compile(rf"[>＞][(（]{SHORT_DATE}[)）]{SPACE}{{0,3}}\Z")
_ROW_HEAD = re.compile(rf"({NUMBER}){SPACE}")
_ROW_TAIL = re.compile(rf"{SPACE}{SHORT_DATE}{SPACE}{{0,3}}\Z")
_BOARD_LINE = re.compile(rf"([^ \u3000<>＜＞]+)[<＜][NＮ][OＯ][.．]({NUMBER})[>＞]{SPACE}{{0,3}}")
_LINK = re.compile(rf"([^ \u3000<>＜＞]+)[NＮ][OＯ][.．]({NUMBER}){SPACE}{{0,3}}")
_COLUMN_HEADS = re.compile(rf"NO{SPACE}+表題{SPACE}+起稿{SPACE}+起稿日")


@dataclass
class _Header:
    name: str
    handle: str
    device: str
    os: str
    posted_at: datetime | None  # None: the date-time is not a real one
    weekday: str
    repaired: str | None  # the mended line, when the header lost a bracket

    def fields(self) -> tuple:
        return self.name, self.handle, self.device, self.os, self.posted_at


@dataclass
class _Title:
    number: int
    title: str
    originator: str
    started: date | None


def _read_header(line: str) -> _Header | None:
    """A post header, recognised by its whole shape: the date-time it ends with decides."""
    tail = _HEADER_TAIL.search(line, max(0, len(line) - _HEADER_TAIL_MAX))
    if tail is None:
        return None
    who = line[:tail.start()]
    closed, opened = bool(tail[1]), who.startswith("【")
    repaired = None
    if opened and closed:
        who = who[1:]
    elif closed:  # lost its opening bracket (NO.917 has one)
        if not who or "【" in who or who[0] in SPACE_CHARS:
            return None
        repaired = "【" + line
    elif opened and tail[2] and "】" not in who:  # lost its closing bracket
        who = who[1:]
        repaired = line[:tail.start()] + "】" + line[tail.start():]
    else:
        return None
    year, month, day, weekday, hour, minute = tail.group(3, 4, 5, 6, 7, 8)
    try:
        posted_at = datetime(int(year), int(month), int(day), int(hour), int(minute))
    except ValueError:
        posted_at = None
    name, handle, device, os = _split_author(who)
    return _Header(name, handle, device, os, posted_at, weekday, repaired)


def _split_author(who: str) -> tuple[str, str, str, str]:
    """NAME[(HANDLE)][@DEVICE[(OS)]]: the device starts at the first `@` outside parentheses."""
    depth = 0
    for at, char in enumerate(who):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif char in "@＠" and depth == 0:
            return *_split_last_parens(who[:at]), *_split_last_parens(who[at + 1:])
    return *_split_last_parens(who), "", ""


def _split_last_parens(text: str) -> tuple[str, str]:
    """`ThinkPad T520(Win10Pro64bit)` → (ThinkPad T520, Win10Pro64bit): the last parentheses."""
    if not text or text[-1] not in _CLOSE:
        return text, ""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] in _CLOSE:
            depth += 1
        elif text[i] in _OPEN:
            depth -= 1
            if depth == 0:
                return (text[:i], text[i + 1:-1]) if i > 0 else (text, "")
    return text, ""


def _read_title(line: str) -> _Title | None:
    """`NO.917 TITLE<起稿 ORIGINATOR>(20/09/11)`; the originator is in the last `<起稿 …>`."""
    head = _TITLE_HEAD.match(line)
    if head is None:
        return None
    tail = _TITLE_TAIL.search(line, max(head.end(), len(line) - 20))
    if tail is None:
        return None
    middle = line[head.end():tail.start()]
    mark = max(middle.rfind("<起稿"), middle.rfind("＜起稿"))
    if mark < 0:
        return None
    originator = middle[mark + 3:]
    if originator[:1] in (" ", "\u3000"):
        originator = originator[1:]
    return _Title(int(head[1]), middle[:mark], originator, short_date_of(*tail.groups()))


def _read_row(line: str) -> tuple[int, str, str, date | None] | None:
    """(number, title, originator, date) of a title-list row; the date is None when not real."""
    head = _ROW_HEAD.match(line)
    tail = _ROW_TAIL.search(line, max(0, len(line) - 16)) if head else None
    if tail is None or tail.start() < head.end():
        return None
    middle = line[head.end():tail.start()]
    cut = max(middle.rfind(" "), middle.rfind("\u3000"))
    if cut <= 0 or cut == len(middle) - 1:
        return None
    return int(head[1]), middle[:cut], middle[cut + 1:], short_date_of(*tail.groups())


def _read_link(line: str) -> VolumeLink | None:
    match = _LINK.fullmatch(line)
    return VolumeLink(match[1], int(match[2])) if match else None


def reads_as_structure(line: str) -> str | None:
    """What a body line would be read as instead of text: "a post header", "a thread title
    line", or None. The parser, the writer and the member-body check share this one rule."""
    if _read_title(line) is not None:
        return "a thread title line"
    if _read_header(line) is not None:
        return "a post header"
    return None


# ---- reading ------------------------------------------------------------------------------


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.repairs: list[Repair] = []
        self.warnings: list[ParseWarning] = []

    def fail(self, index: int, expected: str, found: str | None = None) -> ArchiveError:
        found_text = "" if found is None else f"; found {_snippet(found)}"
        return ArchiveError(f"{self.source}, line {index + 1}: expected {expected}{found_text}")

    def warn(self, index: int, what: str) -> None:
        self.warnings.append(ParseWarning(index + 1, what))


def _snippet(line: str) -> str:
    return repr(line if len(line) <= 60 else line[:60] + "…")


def parse_volume(text: str, source: str = "<string>") -> ParsedVolume:
    """Read a volume page. ArchiveError (naming source, line and what was expected) when it
    is not one; nothing half-read is returned."""
    if not isinstance(text, str):
        raise ArchiveError(f"{source}: expected the page as text (str), got {type(text).__name__}")
    reader = _Reader(source)
    lines, final_newline, line_break = _split_lines(text, reader)

    titles: list[tuple[int, _Title]] = []
    headers: list[tuple[int, _Header]] = []
    for index, line in enumerate(lines):
        if (title := _read_title(line)) is not None:
            titles.append((index, title))
        elif (header := _read_header(line)) is not None:
            headers.append((index, header))

    front_end = titles[0][0] if titles else len(lines)
    volume = ParsedVolume(board="", number=0, final_newline=final_newline, line_break=line_break)
    row_lines = _read_front(lines[:front_end], volume, reader)

    header_iter = iter(headers)
    next_header = next(header_iter, None)
    for position, (index, title) in enumerate(titles):
        end = titles[position + 1][0] if position + 1 < len(titles) else len(lines)
        thread_headers = []
        while next_header is not None and next_header[0] < end:
            thread_headers.append(next_header)
            next_header = next(header_iter, None)
        volume.threads.append(_read_thread(lines, index, end, title, thread_headers, reader))

    _check_title_list(volume, row_lines, [index for index, _ in titles], reader)
    if not final_newline:
        reader.warn(len(lines) - 1, "the last line has no line break; written back without one")
    volume.repairs, volume.warnings = reader.repairs, reader.warnings
    return volume


def _split_lines(text: str, reader: _Reader) -> tuple[list[str], bool, str]:
    """Lines without their breaks. A page whose every break is CRLF is read as LF and written
    back as CRLF; in any other page a CR before a line break is stray and dropped (a repair)."""
    lines = text.split("\n")
    final_newline = lines[-1] == ""
    if final_newline:
        lines.pop()
    if not lines:
        raise reader.fail(0, "a volume page; the text is empty")
    broken = len(lines) if final_newline else len(lines) - 1
    if broken and all(lines[i].endswith("\r") for i in range(broken)):
        for i in range(broken):
            lines[i] = lines[i][:-1]
        reader.warn(0, "CRLF line breaks: read as LF, written back as CRLF")
        return lines, final_newline, "\r\n"
    for i in range(broken):
        if lines[i].endswith("\r"):
            reader.repairs.append(Repair(i + 1, "stray CR before the line break dropped", lines[i], lines[i][:-1]))
            lines[i] = lines[i][:-1]
    return lines, final_newline, "\n"


def _read_front(lines: list[str], volume: ParsedVolume, reader: _Reader) -> list[int]:
    """Board line, site lines and title list into `volume`; returns the rows' line indexes."""
    plain = [line.strip(SPACE_CHARS) for line in lines]
    if plain and plain[0].startswith("\ufeff"):
        plain[0] = plain[0][1:].strip(SPACE_CHARS)
        reader.warn(0, "byte-order mark at the start of the page; kept")
    i = 0
    while i < len(lines) and plain[i] in ("", SITE_NAME):
        reader.warn(i, f"{'site name' if plain[i] else 'empty line'} before the board line; kept as written")
        i += 1
    if i == len(lines):
        raise reader.fail(i - 1, "the board line, a board name and volume number like 情報<NO.70>; the page ends")
    board_line = _BOARD_LINE.fullmatch(plain[i])
    if board_line is None:
        hint = " (this page's line breaks are lone CRs)" if "\r" in lines[i] else ""
        raise reader.fail(i, f"the board line, a board name and volume number like 情報<NO.70>{hint}", lines[i])
    volume.board, volume.number = board_line[1], int(board_line[2])

    heading = i + 1
    while heading < len(lines) and plain[heading] != TITLE_LIST:
        if (kind := reads_as_structure(lines[heading])) is not None:
            raise reader.fail(heading, f"the title list ({TITLE_LIST}) before {kind}", lines[heading])
        heading += 1
    if heading == len(lines):
        raise reader.fail(min(i + 1, len(lines) - 1),
                          f"the title list: a line {TITLE_LIST} after the board line on line {i + 1}")

    row_lines = []
    for k in range(heading + 1, len(lines)):
        if plain[k] == "" or (_COLUMN_HEADS.fullmatch(plain[k]) and not row_lines):
            continue
        link = _read_link(lines[k])
        row = None if link else _read_row(lines[k])
        if link is not None:
            # Before the rows links to the newer volume, after them to the older; a lone link
            # before any row whose number is below the volume's is the older one.
            slot = "newer" if not row_lines and link.number > volume.number else "older"
            if getattr(volume, slot) is not None:
                raise reader.fail(k, f"one link to the {slot} volume at most", lines[k])
            if link.board != volume.board:
                reader.warn(k, f"link to a volume of board {link.board}, not {volume.board}")
            setattr(volume, slot, link)
        elif row is not None:
            if row[3] is None:
                raise reader.fail(k, "a real date YY/MM/DD at the end of the title-list row", lines[k])
            if volume.older is not None:
                raise reader.fail(k, "no title-list rows after the link to the older volume", lines[k])
            volume.title_rows.append(TitleRow(*row))
            row_lines.append(k)
        else:
            kind = reads_as_structure(lines[k])
            expected = ("a title-list row 'NUMBER TITLE ORIGINATOR YY/MM/DD' or a volume link like "
                        f"{volume.board}NO.{volume.number + 1}")
            raise reader.fail(k, expected + (f", not {kind} before any thread line" if kind else ""), lines[k])

    canonical = _canonical_front(volume)
    if canonical != lines:
        volume.front_matter = "\n".join(lines)
        differs = next((k for k, (kept, daious) in enumerate(zip(lines, canonical)) if kept != daious),
                       min(len(lines), len(canonical)))
        reader.warn(min(differs, len(lines) - 1),
                    "the page head differs from Daiou's layout from here on; kept as written")
    return row_lines


def _read_thread(lines, index, end, title: _Title, headers, reader: _Reader) -> Thread:
    if title.started is None:
        raise reader.fail(index, "a real start date (YY/MM/DD) at the end of the thread line", lines[index])
    thread = Thread(title.number, title.title, title.originator, title.started)
    if lines[index] != _compose_title(thread):
        thread.title_line = lines[index]
        reader.warn(index, "thread line written differently from Daiou's form; kept as written")
    first = index + 1
    while first < end and lines[first] == "":
        first += 1
    thread.blank_after_title = first - index - 1
    if first < end and (not headers or headers[0][0] != first):
        raise reader.fail(first, f"a post header like 【NAME】 2020/09/11 (Fri) 09:58 after thread line {index + 1}",
                          lines[first])
    if not headers:
        reader.warn(index, f"thread NO.{thread.number} has no posts")
    for position, (at, header) in enumerate(headers):
        post_end = headers[position + 1][0] if position + 1 < len(headers) else end
        thread.posts.append(_read_post(lines, at, post_end, header, reader))
    return thread


def _read_post(lines, at: int, end: int, header: _Header, reader: _Reader) -> Post:
    written = lines[at]
    if header.posted_at is None:
        raise reader.fail(at, "a real date and time YYYY/MM/DD (Ddd) HH:MM at the end of the post header", written)
    if header.repaired is not None:
        reader.repairs.append(Repair(at + 1, "post header lost a bracket; restored", written, header.repaired))
        written = header.repaired
    blank_after_header, body, blank_after_body = split_post_span(lines[at + 1:end])
    post = Post(header.name, header.posted_at, body, header.handle, header.device, header.os,
                blank_after_header=blank_after_header, blank_after_body=blank_after_body, line=at + 1)
    if written != _compose_header(post):
        post.header_line = written
        reader.warn(at, "post header written differently from Daiou's form; kept as written")
    if not _weekday_matches(header.weekday, header.posted_at):
        reader.warn(at, f"weekday ({header.weekday}) does not match {header.posted_at:%Y/%m/%d} "
                        f"({WEEKDAYS[header.posted_at.weekday()]}); kept as written")
    return post


def _weekday_matches(written: str, moment: datetime) -> bool:
    folded = written.translate(_FULL_WIDTH_LETTERS).capitalize()
    return folded in (WEEKDAYS[moment.weekday()], JAPANESE_WEEKDAYS[moment.weekday()])


_FULL_WIDTH_LETTERS = {code: code - 0xFEE0 for code in (*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))}


def split_post_span(span: list[str]) -> tuple[int, str, int]:
    """(empty lines after the header, body, empty lines after the body) of a post's lines.

    One empty line after the header and up to two at the end are layout; the body keeps the
    rest, so leading and trailing empty lines of a body survive. A span of empty lines only
    is an empty body ("").
    """
    blank_after_header = 1 if span and span[0] == "" else 0
    rest = span[blank_after_header:]
    last = len(rest) - 1
    while last >= 0 and rest[last] == "":
        last -= 1
    if last < 0:
        return blank_after_header, "", len(rest)
    blank_after_body = min(len(rest) - 1 - last, 2)
    return blank_after_header, "\n".join(rest[:len(rest) - blank_after_body]), blank_after_body


def _check_title_list(volume: Volume, row_lines: list[int], title_lines: list[int], reader: _Reader) -> None:
    rows = {row.number: (row, at) for row, at in zip(volume.title_rows, row_lines)}
    on_page = set()
    for thread, at in zip(volume.threads, title_lines):
        if thread.number in on_page:
            reader.warn(at, f"thread NO.{thread.number} appears twice on this page")
        on_page.add(thread.number)
        row, _ = rows.get(thread.number, (None, None))
        if row is None:
            reader.warn(at, f"thread NO.{thread.number} is not in the title list")
        elif (row.title, row.originator, row.date) != (thread.title, thread.originator, thread.started):
            reader.warn(at, f"thread NO.{thread.number}'s line differs from its title-list row")
    for number, (_, at) in rows.items():
        if number not in on_page:
            reader.warn(at, f"the title list names NO.{number}, which is not on this page")


# ---- writing ------------------------------------------------------------------------------


def write_volume(volume: Volume) -> str:
    """The page for `volume`. ArchiveError when a field cannot be written so that it reads
    back the same (a name holding @, a body line that reads as a header…)."""
    if volume.line_break not in ("\n", "\r\n"):
        raise ArchiveError(f"line_break must be LF or CRLF, not {volume.line_break!r}")
    lines = _front_lines(volume)
    for thread in volume.threads:
        lines.append(_title_line(thread))
        lines += [""] * _layout_count(thread.blank_after_title, f"thread NO.{thread.number}")
        for number, post in enumerate(thread.posts, 1):
            lines += _post_lines(post, f"thread NO.{thread.number}, post {number} ({post.name})")
    # Without its final break a page ending in an empty line would lose that line when read.
    final_newline = volume.final_newline or lines[-1] == ""
    terminated = len(lines) if final_newline else len(lines) - 1
    for i in range(terminated):
        if "\n" in lines[i] or (volume.line_break == "\n" and lines[i].endswith("\r")):
            raise ArchiveError(f"line {i + 1} of the page would hold a line break or a stray CR: {_snippet(lines[i])}")
    return volume.line_break.join(lines) + (volume.line_break if final_newline else "")


def _layout_count(count: int, where: str) -> int:
    if type(count) is not int or not 0 <= count <= MAX_STORED_COUNT:
        raise ArchiveError(f"{where}: a count of empty lines must be a whole number up to {MAX_STORED_COUNT}, "
                           f"not {count!r}")
    return count


def _canonical_front(volume: Volume) -> list[str]:
    lines = [f"{volume.board}<NO.{volume.number}>", "", SITE_NAME, NAVIGATION, "", TITLE_LIST, "", COLUMN_HEADS]
    if volume.newer is not None:
        lines.append(f"{volume.newer.board}NO.{volume.newer.number}")
    lines += [f"{row.number} {row.title} {row.originator} {short_date(row.date)}" for row in volume.title_rows]
    if volume.older is not None:
        lines.append(f"{volume.older.board}NO.{volume.older.number}")
    return lines + [""]


def _front_lines(volume: Volume) -> list[str]:
    """The kept front matter while it still says what the fields say, else Daiou's layout."""
    fields = _front_fields(volume)
    if volume.front_matter is not None:
        kept = volume.front_matter.split("\n")
        try:
            reread = ParsedVolume(board="", number=0)
            _read_front(kept, reread, _Reader("front_matter"))
            if _front_fields(reread) == fields:
                return kept
        except ArchiveError:
            pass  # damaged or stale: the fields decide
    lines = _canonical_front(volume)
    reread = ParsedVolume(board="", number=0)
    try:
        _read_front(lines, reread, _Reader("the written page"))
        reads_back = _front_fields(reread) == fields and not any("\n" in line for line in lines)
    except ArchiveError:
        reads_back = False
    if not reads_back:
        raise ArchiveError("the page head cannot be written so that it reads back: board names hold no spaces or "
                           "brackets, originators no spaces, titles and originators no line breaks, years 2000–2099")
    return lines


def _front_fields(volume: Volume) -> tuple:
    return volume.board, volume.number, volume.newer, volume.older, volume.title_rows


def _compose_title(thread: Thread) -> str:
    return thread_heading(thread.number, thread.title, thread.originator, thread.started)


def _title_line(thread: Thread) -> str:
    wanted = (thread.number, thread.title, thread.originator, thread.started)
    for line in (thread.title_line, _compose_title(thread)):
        read = _read_title(line) if line is not None and "\n" not in line else None
        if read is not None and (read.number, read.title, read.originator, read.started) == wanted:
            return line
    raise ArchiveError(f"thread NO.{thread.number}: its line would not read back "
                       "(a title or originator holding a line break, or a year outside 2000–2099)")


def _compose_header(post: Post) -> str:
    return f"{author_label(post.name, post.handle, post.device, post.os)} {post_stamp(post.posted_at)}"


def _post_lines(post: Post, where: str) -> list[str]:
    header = None
    wanted = (post.name, post.handle, post.device, post.os, post.posted_at)
    for line in (post.header_line, _compose_header(post)):
        read = _read_header(line) if line is not None and "\n" not in line else None
        if read is not None and read.repaired is None and read.fields() == wanted:
            header = line
            break
    if header is None:
        raise ArchiveError(f"{where}: the header would not read back; names and handles hold no @, line breaks "
                           "or trailing parentheses, and an OS needs a device")
    body_lines = post.body.split("\n") if post.body else []
    for number, line in enumerate(body_lines, 1):
        if (kind := reads_as_structure(line)) is not None:
            raise ArchiveError(f"{where}: body line {number} would be read as {kind}: {_snippet(line)}")
    span = [""] * _layout_count(post.blank_after_header, where) + body_lines
    span += [""] * _layout_count(post.blank_after_body, where)
    if split_post_span(span)[1] != post.body:
        raise ArchiveError(f"{where}: with {post.blank_after_header} and {post.blank_after_body} empty lines "
                           "around it, the body's own leading or trailing empty lines would not read back")
    return [header, *span]
