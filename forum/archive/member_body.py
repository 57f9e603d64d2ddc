"""What a member may write in a post, so that every post exports and imports back exactly.

The volume format has no escaping: a body line shaped like a post header or a thread line
would split the post when the page is read again, a quote mark in a member's own text would
turn the rest into a quoted mail, and a leading `副題=` would become the subtitle. Such lines
are refused with a message saying why (the member changes one character); line ends are
made LF. The composer checks with `check_member_body`, lays a post out with `compose_body`;
the exporter refuses the same lines through `reads_as_structure`, the rule the importer reads by.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from forum.archive.volume import ArchiveError, reads_as_structure
from forum.blocks import BlockError, build_figure, build_quote, is_quote_mark, read_subtitle


@dataclass(frozen=True)
class BodyProblem:
    """A line that cannot be kept as typed: 1-based in the text after `normalize_member_body`,
    0 for the subtitle or a quoted mail (the message names which)."""

    line: int
    message: str


class MemberBodyError(ArchiveError):
    def __init__(self, problems: list[BodyProblem]):
        self.problems = problems
        super().__init__("; ".join(problem.message for problem in problems))


def normalize_member_body(text: str) -> str:
    """CRLF and lone CR become LF; a text of line breaks only is empty (it would read back so)."""
    if not isinstance(text, str):
        raise MemberBodyError([BodyProblem(0, f"a body is text, not {type(text).__name__}")])
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "" if text.strip("\n") == "" else text


def check_member_body(text: str) -> list[BodyProblem]:
    """The lines of a member's own text (without subtitle and quoted mails) that would not
    read back as typed; [] when `normalize_member_body(text)` can be stored and exported."""
    lines = normalize_member_body(text).split("\n")
    problems = []
    for number, line in enumerate(lines, 1):
        if (kind := reads_as_structure(line)) is not None:
            problems.append(BodyProblem(number, f"line {number} would be read as {kind} and split the post; "
                                                "change a character of it"))
        elif is_quote_mark(line):
            problems.append(BodyProblem(number, f"line {number} is a quote mark; attach the mail as a quoted "
                                                "mail instead"))
    if read_subtitle(lines[0]) is not None:
        problems.insert(0, BodyProblem(1, "the first line starts with 副題=, the subtitle mark; put the subtitle "
                                          "in its own field"))
    return problems


def compose_body(text: str, *, subtitle: str = "",
                 mails: Sequence[tuple[Sequence[tuple[str, str]], str]] = (), figures: Sequence[str] = ()) -> str:
    """A post body as the old forum laid it out: `副題=SUBTITLE` and an empty line, the
    member's own text, then each figure (`<図N>` and its caption) and each quoted mail
    (headers, body) after two empty lines; figures and mails are numbered 1..n when there are
    several and unnumbered when there is one, as in the seed.
    MemberBodyError lists every problem found."""
    problems = check_member_body(text)
    own_text = normalize_member_body(text)
    lines = []
    if subtitle:
        subtitle_line = f"副題={subtitle}"
        if not isinstance(subtitle, str) or "\n" in subtitle or "\r" in subtitle or reads_as_structure(subtitle_line):
            problems.append(BodyProblem(0, "the subtitle must be one line that does not read as a post header"))
        lines.append(subtitle_line)
        if own_text or mails or figures:
            lines.append("")
    if own_text:
        lines += own_text.split("\n")
    for position, caption in enumerate(figures, 1):
        try:
            figure = build_figure(position if len(figures) > 1 else None, caption)
        except BlockError as error:
            problems.append(BodyProblem(0, f"figure {position}: {error}"))
            continue
        if (kind := reads_as_structure(caption)) is not None:
            problems.append(BodyProblem(0, f"figure {position}: the caption would be read as {kind}"))
        if lines:
            lines += ["", ""]
        lines += figure.lines()
    for position, (headers, body) in enumerate(mails, 1):
        try:
            quote = build_quote(position if len(mails) > 1 else None, list(headers), body)
        except BlockError as error:
            problems.append(BodyProblem(0, f"quoted mail {position}: {error}"))
            continue
        for number, line in enumerate(quote.lines(), 1):
            if (kind := reads_as_structure(line)) is not None:
                problems.append(BodyProblem(0, f"quoted mail {position}, line {number} would be read as {kind}"))
        if lines:
            lines += ["", ""]
        lines += quote.lines()
    if problems:
        raise MemberBodyError(problems)
    return "\n".join(lines)
