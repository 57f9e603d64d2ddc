"""A reported mail's raw source (uploaded .eml bytes or a pasted str) to a clean structured mail.

Every input is taken as hostile or broken: `parse_mail` raises nothing but `MailError`
subclasses, and its work is bounded by the caps below. The standard `email` package does the
MIME work, with the compat32 policy because it keeps headers raw (the default policy decodes
them eagerly and raises on charsets such as `_iso-2022-jp$ESC`); this module decides what is
shown and decodes what mail mislabels (`mail_charset`), and reads HTML as text (`mail_html`).
Attachments are hashed and measured, never kept.
"""
import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32
from email.utils import getaddresses

from incidents.mail_charset import decode_header, decode_text
from incidents.mail_html import MAX_HTML_TAGS, html_to_text

MAX_MAIL_BYTES = 10 * 1024 * 1024
MAX_MESSAGE_DEPTH = 5         # message/rfc822 inside message/rfc822 …
MAX_MIME_DEPTH = 20           # multipart inside multipart, per message
MAX_PARTS = 1_000             # leaf parts read per mail, attached messages included
MAX_ATTACHED_MESSAGES = 100   # per mail, at all depths
MAX_PART_TEXT_BYTES = 2 * 1024 * 1024   # of one text part, before charset decoding
MAX_TEXT_CHARS = 2_000_000    # of `text` and of `html`
MAX_HEADER_BYTES = 16 * 1024  # of one header value
MAX_SHOWN_HEADERS = 200
MAX_RECIPIENT_FIELDS = 1_000  # recipient headers and Received lines examined per message
MAX_RECIPIENTS = 5_000
MAX_PROBLEMS = 100
# Content-Type and Content-Disposition lines longer than this (or with more parameters) are cut
# before parsing: the email package's parameter parser is quadratic in both.
MAX_PARAMETER_HEADER_BYTES = 2048
MAX_PARAMETERS = 32
# The email package spends about 1 µs on a line, 3 µs on a header line and 30 µs on a MIME
# part: 10 MB of one-character lines or of empty parts would take it tens of seconds. No real
# mail comes near these counts; a source that does is refused before parsing.
MAX_LINES = 500_000
MAX_HEADER_LIKE_LINES = 50_000
MAX_BOUNDARY_LIKE_LINES = 10_000

# Headers shown to readers, spelled as shown.
SHOWN_HEADERS = {name.lower(): name for name in (
    "From", "Sender", "Reply-To", "Return-Path", "To", "Cc", "Subject", "Date", "Message-ID",
    "X-Mailer", "Authentication-Results")}
# Headers whose addresses are the recipients'. Beyond the usual ones, the Resent-* and
# envelope headers some servers add: redaction needs every recipient address.
RECIPIENT_HEADERS = {name.lower(): name for name in (
    "To", "Cc", "Bcc", "Delivered-To", "X-Original-To", "Envelope-To", "Resent-To", "Resent-Cc",
    "Resent-Bcc", "X-Envelope-To", "X-Apparently-To", "Apparently-To")}
# A text is a mail if at least one of these is a header of it, with a value.
MAIL_HEADERS = {"from", "to", "subject", "date", "message-id", "received", "return-path"}


@dataclass(frozen=True)
class Attachment:
    filename: str | None      # decoded (RFC 2231 / 2047), invisible chars kept as they are
    content_type: str         # as declared, lower-case
    size: int                 # decoded bytes
    sha256: str               # hex of decoded bytes


@dataclass(frozen=True)
class Recipient:
    address: str              # as found (not normalised)
    display_name: str         # '' if none
    source: str               # header it came from (see RECIPIENT_HEADERS), or Received


@dataclass(frozen=True)
class ParsedMail:
    headers: tuple[tuple[str, str], ...]  # shown headers (SHOWN_HEADERS), decoded, in the mail's order
    recipients: tuple[Recipient, ...]
    text: str                             # the preferred text body ('' if none)
    html: str                             # the HTML part's source, as text (never rendered)
    html_text: str                        # plain text of `html`, script/style dropped
    attachments: tuple[Attachment, ...]
    attached_messages: tuple["ParsedMail", ...]
    origin_ip: str | None                 # sender IP of the bottom-most Received hop naming a public one
    problems: tuple[str, ...]             # what was repaired, guessed, cut or skipped


class _RawHeaderPolicy(Compat32):
    """compat32 handing header values back as parsed, raw 8-bit bytes surrogate-escaped.

    Plain compat32 turns such values into Header objects whose str() has lost those bytes, and
    raw 8-bit filenames and charset labels are common in scam mail.
    """

    def header_fetch_parse(self, name, value):
        return value


_POLICY = _RawHeaderPolicy()


class MailError(Exception):
    """Why a text cannot be read as a mail. `code` is stable (the UI translates by it)."""
    code = "mail_error"
    message = "The mail could not be read."

    def __init__(self):
        super().__init__(self.message)


class EmptyMail(MailError):
    code = "empty"
    message = "The mail is empty."


class MailTooLarge(MailError):
    code = "too_large"
    message = f"The mail is larger than {MAX_MAIL_BYTES // (1024 * 1024)} MB."


class NotAMail(MailError):
    code = "not_a_mail"
    message = ("This does not look like a mail's source: it has none of the headers From, To, "
               "Subject, Date, Message-ID, Received or Return-Path at its top.")


class MailTooComplex(MailError):
    code = "too_complex"
    message = "The mail has too many lines, headers or parts, or parts nested too deeply, to be read."


class UnreadableMail(MailError):
    code = "unreadable"
    message = "The mail is too broken to be read."


def parse_mail(data: bytes | str) -> ParsedMail:
    """Read a mail's raw source. Raises only MailError subclasses."""
    raw, pasted = _source_bytes(data)
    _refuse_absurd_structure(raw)
    raw, defused = _defuse_parameter_headers(raw)
    try:
        message = BytesParser(policy=_POLICY).parsebytes(raw)
        if not any(name.strip().lower() in MAIL_HEADERS and value.strip()
                   for name, value in message.raw_items()):
            raise NotAMail()
        reading = _Reading(pasted=pasted)
        if defused:
            reading.problems.append("over-long Content-Type or Content-Disposition lines were cut")
        return _read_message(message, reading, depth=0)
    except MailError:
        raise
    except RecursionError as error:
        raise MailTooComplex() from error
    except Exception as error:  # the contract: whatever the email package trips on, a MailError
        raise UnreadableMail() from error


def _source_bytes(data: bytes | str) -> tuple[bytes, bool]:
    """The mail's bytes, leading blank space removed, and whether it was pasted text."""
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if len(data) > MAX_MAIL_BYTES:  # a str this long encodes to at least as many bytes
        raise MailTooLarge()
    pasted = isinstance(data, str)
    if not pasted and data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Saved as "Unicode" (UTF-16) by a Windows editor: the source itself is text.
        data = data.decode("utf-16", "replace")
        pasted = True
    if pasted:
        if not data.strip():
            raise EmptyMail()
        data = data.encode("utf-8", "replace")
        if len(data) > MAX_MAIL_BYTES:
            raise MailTooLarge()
    data = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not data.strip():
        raise EmptyMail()
    return data, pasted


_HEADER_LIKE_LINE = re.compile(rb"[\r\n][!-9;-~]+:")  # a name the email package would take


def _refuse_absurd_structure(raw: bytes) -> None:
    lines = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    boundary_like = raw.count(b"\n--") + raw.count(b"\r--")
    if (lines > MAX_LINES or boundary_like > MAX_BOUNDARY_LIKE_LINES
            or len(_HEADER_LIKE_LINE.findall(raw)) > MAX_HEADER_LIKE_LINES):
        raise MailTooComplex()


# Matched in a lower-cased copy (a literal start is found fast), with its folded lines.
_PARAMETER_HEADER = re.compile(
    rb"content-(?:type|disposition)[ \t]*:[^\r\n]*(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*")
_LINE_BREAKS = re.compile(rb"\r\n|\r|\n")


def _defuse_parameter_headers(raw: bytes) -> tuple[bytes, bool]:
    """Cut absurd Content-Type/-Disposition lines (anywhere: MIME parts have them too)."""
    pieces = []
    position = 0
    for match in _PARAMETER_HEADER.finditer(raw.lower()):
        start, end = match.span()
        if start and raw[start - 1] not in b"\r\n":
            continue  # not at a line start (the email package also ends lines at a lone CR)
        if end - start <= MAX_PARAMETER_HEADER_BYTES and raw.count(b";", start, end) <= MAX_PARAMETERS:
            continue
        line = _LINE_BREAKS.sub(b"", raw[start:end])[:MAX_PARAMETER_HEADER_BYTES]
        pieces += [raw[position:start], b";".join(line.split(b";", MAX_PARAMETERS + 1)[:MAX_PARAMETERS + 1])]
        position = end
    if not pieces:
        return raw, False
    return b"".join(pieces) + raw[position:], True


class _Problems(list):
    """Notes for `ParsedMail.problems`: each once, and a bounded number of them."""

    def append(self, note: str) -> None:
        if note in self:
            return
        if len(self) < MAX_PROBLEMS:
            super().append(note)
        elif len(self) == MAX_PROBLEMS:
            super().append("more problems were found than are listed")


@dataclass
class _Reading:
    """What one parse shares across a mail and its attached messages."""
    pasted: bool
    parts_left: int = MAX_PARTS
    messages_left: int = MAX_ATTACHED_MESSAGES
    html_tags_left: int = MAX_HTML_TAGS
    problems: _Problems = field(default_factory=_Problems)


@dataclass
class _Body:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)


@dataclass
class _Contents:
    """One message's findings, gathered while its MIME tree is walked."""
    body: _Body = field(default_factory=_Body)
    attachments: list[Attachment] = field(default_factory=list)
    messages: list[ParsedMail] = field(default_factory=list)
    problems: _Problems = field(default_factory=_Problems)


def _read_message(message: Message, reading: _Reading, depth: int) -> ParsedMail:
    contents = _Contents()
    if depth == 0:
        contents.problems = reading.problems
    headers = _shown_headers(message, contents.problems)
    recipients = _recipients(message, contents.problems)
    origin_ip = _origin_ip(message)
    _walk(message, contents, reading, depth, mime_depth=0)
    text = _joined(contents.body.texts, "text", contents.problems)
    html = _joined(contents.body.htmls, "HTML", contents.problems)
    html_text = ""
    if html:
        extracted = html_to_text(html, reading.html_tags_left)
        reading.html_tags_left -= extracted.tags
        html_text = extracted.text
        if extracted.truncated:
            contents.problems.append(
                f"HTML has more than {MAX_HTML_TAGS} tags in all; its text stops there")
    return ParsedMail(
        headers=headers,
        recipients=recipients,
        text=_storable(text, contents.problems),
        html=_storable(html, contents.problems),
        html_text=_storable(html_text, contents.problems),
        attachments=tuple(contents.attachments),
        attached_messages=tuple(contents.messages),
        origin_ip=origin_ip,
        problems=tuple(contents.problems),
    )


def _joined(pieces: list[str], what: str, problems: _Problems) -> str:
    text = "\n".join(piece for piece in pieces if piece)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_CHARS:
        problems.append(f"the {what} was cut at {MAX_TEXT_CHARS:,} characters")
        text = text[:MAX_TEXT_CHARS]
    return text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(text: str, problems: _Problems) -> str:
    """Text PostgreSQL can store: no NUL, no lone surrogate (UTF-7 can decode to one)."""
    if "\x00" in text:
        problems.append("NUL characters were removed")
        text = text.replace("\x00", "")
    if _SURROGATE.search(text):
        problems.append("lone surrogate characters were replaced with U+FFFD")
        text = _SURROGATE.sub("\ufffd", text)
    return text


# --- headers ------------------------------------------------------------------------------------

def _raw_bytes(value: str) -> bytes:
    """A header value as parsed from bytes: its raw 8-bit bytes are surrogate-escaped."""
    return value.encode("utf-8", "surrogateescape")


def _header_text(name: str, value: str, problems: _Problems) -> str:
    raw = _raw_bytes(value)
    final = len(raw) <= MAX_HEADER_BYTES
    if not final:
        problems.append(f"{name}: cut at {MAX_HEADER_BYTES:,} bytes")
        raw = raw[:MAX_HEADER_BYTES]
    text, notes = decode_header(raw, final=final)
    for note in notes:
        problems.append(f"{name}: {note}")
    return _storable(text.strip(), problems)


def _shown_headers(message: Message, problems: _Problems) -> tuple[tuple[str, str], ...]:
    shown = []
    for name, value in message.raw_items():
        shown_name = SHOWN_HEADERS.get(name.strip().lower())
        if shown_name is None:
            continue
        if len(shown) == MAX_SHOWN_HEADERS:
            problems.append(f"only the first {MAX_SHOWN_HEADERS} shown headers are kept")
            break
        shown.append((shown_name, _header_text(shown_name, value, problems)))
    return tuple(shown)


# Anything address-shaped, for what a strict address parser gives up on.
_ADDRESS_LIKE = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")
_RECEIVED_FOR = re.compile(r"\bfor\s+<([^<>\s]+)>|\bfor\s+([^\s<>;()]+@[^\s<>;()]+)", re.IGNORECASE)


def _recipients(message: Message, problems: _Problems) -> tuple[Recipient, ...]:
    found: dict[Recipient, None] = {}  # insertion-ordered set
    fields = [(name.strip().lower(), value) for name, value in message.raw_items()]
    fields = [(key, value) for key, value in fields if key == "received" or key in RECIPIENT_HEADERS]
    if len(fields) > MAX_RECIPIENT_FIELDS:
        problems.append(f"only the first {MAX_RECIPIENT_FIELDS} recipient and Received headers were read")
    for key, value in fields[:MAX_RECIPIENT_FIELDS]:
        if key == "received":
            text = _undecoded_header_text(value)
            for match in _RECEIVED_FOR.finditer(text):
                found[Recipient(match.group(1) or match.group(2), "", "Received")] = None
        else:
            source = RECIPIENT_HEADERS[key]
            for address, display_name in _addresses(_undecoded_header_text(value), problems, source):
                found[Recipient(address, display_name, source)] = None
        if len(found) >= MAX_RECIPIENTS:
            problems.append(f"only the first {MAX_RECIPIENTS} recipients are listed")
            break
    return tuple(found)[:MAX_RECIPIENTS]


def _undecoded_header_text(value: str) -> str:
    """A header value as str for parsing its structure: 8-bit bytes guessed, encoded words left."""
    raw = _LINE_BREAKS.sub(b"", _raw_bytes(value)[:MAX_HEADER_BYTES])
    return _storable(decode_text(raw, None, final=False, mixed=True).text, _Problems())


def _addresses(text: str, problems: _Problems, source: str) -> list[tuple[str, str]]:
    pairs = []
    for display_name, address in getaddresses([text]):
        if address:
            name, notes = decode_header(display_name.encode("utf-8", "surrogateescape"))
            for note in notes:
                problems.append(f"{source}: {note}")
            pairs.append((address, name.strip()))
    seen = {address for address, _ in pairs}
    pairs += [(address, "") for address in _ADDRESS_LIKE.findall(text) if address not in seen]
    return pairs


_RECEIVED_FROM = re.compile(r"^\s*from\s(.*?)(?:\sby\s|;|$)", re.IGNORECASE | re.DOTALL)
_BRACKETED_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
_BARE_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")


def _origin_ip(message: Message) -> str | None:
    """The connecting IP of the earliest hop (bottom-most Received) that names a public one.

    Private, loopback and reserved addresses are passed over: they name the sender's own
    network, not where the mail entered the Internet.
    """
    received = [value for name, value in message.raw_items() if name.strip().lower() == "received"]
    for value in reversed(received[-MAX_RECIPIENT_FIELDS:]):
        clause = _RECEIVED_FROM.match(_undecoded_header_text(value))
        if clause is None:
            continue
        # The bracketed address is the one the receiving server saw; a bare one may be a HELO name.
        for pattern in (_BRACKETED_IP, _BARE_IPV4):
            for candidate in pattern.findall(clause.group(1)):
                try:
                    address = ipaddress.ip_address(candidate)
                except ValueError:
                    continue
                if address.is_global:
                    return str(address)
    return None


# --- body ---------------------------------------------------------------------------------------

def _walk(part: Message, contents: _Contents, reading: _Reading, depth: int, mime_depth: int) -> None:
    for defect in part.defects:
        contents.problems.append(f"MIME defect: {_defect_name(defect)}")
    content_type = part.get_content_type()
    if part.get_content_maintype() == "message" and isinstance(part.get_payload(), list):
        _read_attached_message(part, content_type, contents, reading, depth)
        return
    if part.is_multipart():
        if mime_depth >= MAX_MIME_DEPTH:
            contents.problems.append(f"parts nested deeper than {MAX_MIME_DEPTH} were skipped")
            return
        if content_type == "multipart/alternative":
            _walk_alternative(part, contents, reading, depth, mime_depth)
        else:
            for child in part.get_payload():
                _walk(child, contents, reading, depth, mime_depth + 1)
        return
    if reading.parts_left == 0:
        contents.problems.append(f"only the first {MAX_PARTS} parts were read")
        return
    reading.parts_left -= 1
    _read_leaf(part, content_type, contents, reading)


def _walk_alternative(part: Message, contents: _Contents, reading: _Reading, depth: int,
                      mime_depth: int) -> None:
    """One text and one HTML of the alternatives: the first plain text, the last (richest) HTML."""
    alternatives = []
    for child in part.get_payload():
        child_contents = _Contents(attachments=contents.attachments, messages=contents.messages,
                                   problems=contents.problems)
        _walk(child, child_contents, reading, depth, mime_depth + 1)
        alternatives.append(child_contents.body)
    contents.body.texts += next((body.texts for body in alternatives if body.texts), [])
    contents.body.htmls += next((body.htmls for body in reversed(alternatives) if body.htmls), [])


def _read_attached_message(part: Message, content_type: str, contents: _Contents,
                           reading: _Reading, depth: int) -> None:
    if content_type not in ("message/rfc822", "message/global"):
        # Delivery reports and the like: kept as what they are, a file.
        data = b"".join(sub.as_bytes() for sub in part.get_payload())
        contents.attachments.append(_attachment(part, content_type, data, contents.problems))
        return
    if depth >= MAX_MESSAGE_DEPTH:
        contents.problems.append(f"messages attached deeper than {MAX_MESSAGE_DEPTH} levels were skipped")
        return
    for attached in part.get_payload():
        if reading.messages_left == 0:
            contents.problems.append(f"only the first {MAX_ATTACHED_MESSAGES} attached messages were read")
            return
        reading.messages_left -= 1
        contents.messages.append(_read_message(attached, reading, depth + 1))


def _read_leaf(part: Message, content_type: str, contents: _Contents, reading: _Reading) -> None:
    disposition = part.get_content_disposition()
    filename = _filename(part, contents.problems)
    data = part.get_payload(decode=True) or b""
    is_text = content_type.startswith("text/") or content_type.startswith("multipart/")
    if not is_text or disposition == "attachment" or filename:
        contents.attachments.append(_attachment(part, content_type, data, contents.problems, filename))
    elif content_type.startswith("multipart/"):
        contents.problems.append(f"a {content_type} part without a usable boundary is shown as text")
        contents.body.texts.append(_part_text(part, data, reading, contents.problems))
    elif content_type == "text/plain":
        contents.body.texts.append(_part_text(part, data, reading, contents.problems))
    elif content_type == "text/html":
        contents.body.htmls.append(_part_text(part, data, reading, contents.problems))
    else:
        contents.problems.append(f"a {content_type} part is not shown")


def _part_text(part: Message, data: bytes, reading: _Reading, problems: _Problems) -> str:
    content_type = part.get_content_type()
    final = len(data) <= MAX_PART_TEXT_BYTES
    if not final:
        problems.append(f"a {content_type} part was cut at {MAX_PART_TEXT_BYTES:,} bytes")
        data = data[:MAX_PART_TEXT_BYTES]
    encoding = part.get("content-transfer-encoding", "").strip().lower()
    # A pasted source reached us as Unicode: its unencoded bytes are our UTF-8, whatever the label.
    prefer_utf8 = reading.pasted and encoding not in ("base64", "quoted-printable")
    decoded = decode_text(data, _charset_label(part), final=final, prefer_utf8=prefer_utf8)
    if decoded.note:
        problems.append(f"{content_type}: {decoded.note}")
    return decoded.text


def _charset_label(part: Message) -> str | None:
    label = part.get_param("charset")
    if isinstance(label, tuple):  # RFC 2231 form: (charset, language, value)
        label = label[2]
    return None if label is None else str(label)


def _filename(part: Message, problems: _Problems) -> str | None:
    for header, parameter in (("content-disposition", "filename"), ("content-type", "name")):
        value = part.get_param(parameter, header=header)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded latin-1)
            charset, _language, text = value
            decoded = decode_text(text.encode("latin-1", "surrogateescape"), charset or None, mixed=True)
            name, notes = decoded.text, [decoded.note] if decoded.note else []
        else:
            name, notes = decode_header(_raw_bytes(value))
        for note in notes:
            problems.append(f"attachment name: {note}")
        name = _storable(name.strip(), problems)
        if name:
            return name
    return None


def _declared_type(part: Message, content_type: str) -> str:
    declared = part.get("content-type")
    if declared is None:
        return content_type
    text = decode_text(_LINE_BREAKS.sub(b"", _raw_bytes(declared)).split(b";", 1)[0][:255], None).text
    return text.strip().lower() or content_type


def _attachment(part: Message, content_type: str, data: bytes, problems: _Problems,
                filename: str | None = None) -> Attachment:
    return Attachment(
        filename=filename,
        content_type=_storable(_declared_type(part, content_type), problems),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _defect_name(defect: Exception) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(defect).__name__).lower()
    return words.removesuffix(" defect")
