"""Quotes of an imported page are redacted as the composer redacts a quoted mail.

The old board's members typed their quotes by hand, and not every quote hid whom the mail was
sent to: NO.916 has `To: chiyuki <xxxx@xxxx.name>`, and `chiyuki様` in a later quote of the
same member. `redact_quotes` runs every quoted mail of a page through incidents.redact, the
composer's redactor, before anything is stored: recipient addresses become `xxxx@xxxx.name`,
recipients' names and local parts `xxxx`, card numbers keep their last four digits. Recipients
are learned from the quotes' To/Cc/Bcc lines (`learn_from_quote_headers`), and what one of an
author's quotes teaches is redacted in all of that author's quotes on the page. Only quotes
are touched: post headers, titles and the members' own text stay as written.

Each changed line becomes a `Repair` without its original (it must not be shown anywhere),
so a page written back from the result differs from the page read exactly in the repaired
lines, like the parser's own repairs. Pure Python, no Django.
"""

import unicodedata
from collections import defaultdict

from forum.blocks import Quote, is_quote_mark, parse_body
from incidents.redact import CARD_NUMBER, RECIPIENT_ADDRESS, RECIPIENT_NAME, learn_from_quote_headers, redact_text

from .volume import ArchiveError, ParsedVolume, Post, Repair, reads_as_structure

QUOTE_WORD = "以下引用"  # every quote mark holds it: bodies without it have no quote to read
_WHAT = {RECIPIENT_ADDRESS: "recipient's address", RECIPIENT_NAME: "recipient's name",
         CARD_NUMBER: "card number (last four digits kept)"}


def author_key(name: str) -> str:
    """Posts of one author: the name as forum.models.name_key folds it."""
    return unicodedata.normalize("NFKC", name).casefold().strip()


def redact_quotes(volume: ParsedVolume, source: str = "<string>", bodies: dict[int, list] | None = None
                  ) -> ParsedVolume:
    """Redact the quoted mails of every post of `volume` in place and add a repair for each
    changed line to `volume.repairs` (kept in line order). Returns `volume`. `bodies` holds
    blocks already parsed, by `id(post)`: they are read instead of parsing a body again, and
    replaced for the posts redacted.

    ArchiveError (naming source and line) in the one case redaction cannot be written back:
    when a redacted line would read as page or body structure (a header, a quote mark)."""
    bodies = {} if bodies is None else bodies
    quoted: list[tuple[Post, list]] = []
    learned: dict[str, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for thread in volume.threads:
        for post in thread.posts:
            if QUOTE_WORD not in post.body:
                continue
            blocks = bodies.get(id(post)) or parse_body(post.body)
            if not any(isinstance(block, Quote) for block in blocks):
                continue
            quoted.append((post, blocks))
            addresses, names = learned[author_key(post.name)]
            for block in blocks:
                if isinstance(block, Quote):
                    more_addresses, more_names = learn_from_quote_headers((h.name, h.value) for h in block.headers)
                    addresses |= more_addresses
                    names |= more_names
    repairs = []
    for post, blocks in quoted:
        addresses, names = learned[author_key(post.name)]
        post_repairs, new_blocks = _redact_post(post, blocks, addresses, names, source)
        if post_repairs:
            repairs += post_repairs
            bodies[id(post)] = new_blocks
    if repairs:
        volume.repairs = sorted(volume.repairs + repairs, key=lambda repair: repair.line)
    return volume


def _redact_post(post: Post, blocks: list, addresses: set[str], names: set[str], source: str
                 ) -> tuple[list[Repair], list]:
    """The post's quotes redacted in `post.body`: (a repair per changed line, the new blocks)."""
    lines = post.body.split("\n")
    changed: dict[int, set[str]] = {}  # body line index -> kinds redacted there
    cursor = 0
    for block in blocks:
        block_lines = block.lines()
        if isinstance(block, Quote):
            for offset, (line, kinds) in _redact_quote(block, addresses, names).items():
                lines[cursor + offset] = line
                changed[cursor + offset] = kinds
        cursor += len(block_lines)
    if not changed:
        return [], blocks
    body = "\n".join(lines)
    for index in sorted(changed):
        kind = reads_as_structure(lines[index]) or ("a quote mark" if is_quote_mark(lines[index]) else None)
        if kind is not None:
            raise ArchiveError(f"{source}, line {post.body_line + index}: redacting this quoted mail's line would "
                               f"make it read as {kind}; edit the line in the page")
    new_blocks = parse_body(body)
    if _shape(new_blocks) != _shape(blocks):
        raise ArchiveError(f"{source}, line {post.body_line}: redacting this post's quoted mails would change how "
                           "its body reads; edit the quoted mail in the page")
    post.body = body
    return [Repair(post.body_line + index, f"quoted mail: {_describe(changed[index])} redacted", None, lines[index])
            for index in sorted(changed)], new_blocks


def _shape(blocks: list) -> list:
    return [(block.kind, len(block.lines()), len(block.headers) if isinstance(block, Quote) else 0)
            for block in blocks]


def _describe(kinds: set[str]) -> str:
    return " and ".join(what for kind, what in _WHAT.items() if kind in kinds)


def _redact_quote(quote: Quote, addresses: set[str], names: set[str]) -> dict[int, tuple[str, set[str]]]:
    """{line index within the quote's lines: (redacted line, kinds redacted)} for changed lines.

    The header values and the body are redacted as one text (one pass of the redactor), each
    header line keeping its name; the mark and the elision mark are not mail text."""
    values = [header.value for header in quote.headers]
    texts = values + ([quote.body] if quote.body else [])
    if not texts:
        return {}
    joined = "\n".join(texts)
    redacted, kinds = _redact_lines(joined, addresses, names)
    if redacted is None:
        return {}
    first_header = 1 + quote.blank_after_mark
    first_body = first_header + len(values) + quote.blank_after_headers
    changes = {}
    for index, (before, after) in enumerate(zip(joined.split("\n"), redacted)):
        if before == after:
            continue
        if index < len(values):
            header = quote.headers[index]
            name_part = header.line[:len(header.line) - len(header.value)]
            changes[first_header + index] = (name_part + after, kinds[index])
        else:
            changes[first_body + index - len(values)] = (after, kinds[index])
    return changes


def _redact_lines(text: str, addresses: set[str], names: set[str]) -> tuple[list[str] | None, dict[int, set[str]]]:
    """The text's lines redacted (None when nothing changed) and the kinds redacted per line."""
    result = redact_text(text, addresses=addresses, names=names, flags=False)
    if result.text == text:
        return None, {}
    lines = result.text.split("\n")
    if len(lines) != text.count("\n") + 1:
        # A name of several words matched across a line break: redact line by line instead,
        # so every line keeps its place (each word of a display name is a name of its own).
        per_line = [redact_text(line, addresses=addresses, names=names, flags=False) for line in text.split("\n")]
        return [r.text for r in per_line], {i: {m.kind for m in r.marks} for i, r in enumerate(per_line)}
    starts, position = [], 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    kinds: dict[int, set[str]] = defaultdict(set)
    line_index = 0
    for mark in result.marks:
        while line_index + 1 < len(starts) and starts[line_index + 1] <= mark.start:
            line_index += 1
        kinds[line_index].add(mark.kind)
    return lines, kinds
