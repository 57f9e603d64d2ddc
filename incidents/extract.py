"""What a post quotes, as indicators: pure functions from a post's blocks to `Found` records.

Rules (docs/indicators.md says why):

- Quoted mails (`quote` blocks) are the evidence. Their From, Reply-To, Return-Path and Sender
  addresses are senders (claimed: From can be forged); To, Cc, Bcc and the other recipient
  headers are never indicators, and neither is any address they name, anywhere in the quote,
  nor the redaction placeholder, nor an address on a line that says whom the mail was sent to
  (`…宛に送信されました`). A body that starts with header lines (a member pasted the whole
  source) has them read as headers, not as text.
- A text body: URLs, hosts, IP literals and addresses are ROLE_BODY; phone numbers are
  ROLE_PHONE_CONTACT in a contact context (電話番号, 連絡先, までお電話…), else
  ROLE_PHONE_MENTIONED (possibly a third party's). An HTML body is split by
  incidents.html_source: link targets ROLE_HTML_LINK, image sources ROLE_IMAGE, namespaces and
  DTDs ROLE_NAMESPACE, text ROLE_BODY; phone numbers are read from its text.
- The member's own text (and news quotes, citations, notes) is commentary: what it names is
  ROLE_POST_TEXT, searchable but never exported.
- A URL also gives its host and the host's registrable domain (kind "domain" when the host is
  one, "host" otherwise; "ip" for IP literals). Values are stored fanged, after the
  normalisation the display uses (incidents.hosts); phones as E.164, or as digits when the
  number is not valid, with the text as written kept beside.
- Each quote is tagged with the brand it impersonates: named in the sender's display name,
  else in the subject, else most often in the body, else the brand of its senders' and
  links' hosts (a look-alike or a brand's own).
"""
from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

import phonenumbers

from forum import blocks as b
from incidents import html_source
from incidents.brands import BrandCatalogue
from incidents.defang import Span, defang_email, defang_host, defang_url, find_indicators
from incidents.hosts import Host, normalize_email, normalize_host, normalize_url, registrable_domain
from incidents.mail_html import html_to_text
from incidents.redact import PHONE_CONTACT, REDACTED_ADDRESS, find_phone_numbers

KIND_URL = "url"
KIND_DOMAIN = "domain"
KIND_HOST = "host"
KIND_IP = "ip"
KIND_EMAIL = "email"
KIND_PHONE = "phone"
KINDS = (KIND_URL, KIND_DOMAIN, KIND_HOST, KIND_IP, KIND_EMAIL, KIND_PHONE)

ROLE_BODY = "body"
ROLE_HTML_LINK = "html_link"
ROLE_IMAGE = "image"
ROLE_NAMESPACE = "namespace"
ROLE_FROM = "from"
ROLE_REPLY_TO = "reply_to"
ROLE_RETURN_PATH = "return_path"
ROLE_SENDER = "sender"
ROLE_PHONE_CONTACT = "phone_contact"
ROLE_PHONE_MENTIONED = "phone_mentioned"
ROLE_POST_TEXT = "post_text"
ROLES = (ROLE_BODY, ROLE_HTML_LINK, ROLE_IMAGE, ROLE_NAMESPACE, ROLE_FROM, ROLE_REPLY_TO, ROLE_RETURN_PATH,
         ROLE_SENDER, ROLE_PHONE_CONTACT, ROLE_PHONE_MENTIONED, ROLE_POST_TEXT)
# Senders a mail claims: the header can say anything.
CLAIMED_SENDER_ROLES = frozenset({ROLE_FROM, ROLE_RETURN_PATH, ROLE_SENDER})
# A sighting in one of these makes an indicator part of the exports (unless reviewed or a
# brand's own); namespaces, mentioned phones and the members' own text never do.
EXPORTED_ROLES = frozenset({ROLE_BODY, ROLE_HTML_LINK, ROLE_IMAGE, ROLE_FROM, ROLE_REPLY_TO, ROLE_RETURN_PATH,
                            ROLE_SENDER, ROLE_PHONE_CONTACT})

SENDER_HEADERS = {"from": ROLE_FROM, "reply-to": ROLE_REPLY_TO, "return-path": ROLE_RETURN_PATH,
                  "sender": ROLE_SENDER}
RECIPIENT_HEADERS = frozenset({
    "to", "cc", "bcc", "delivered-to", "x-original-to", "envelope-to", "resent-to", "resent-cc", "resent-bcc",
    "x-envelope-to", "x-apparently-to", "apparently-to"})

MAX_VALUE_LENGTH = 4096  # longer "URLs" are kept out: no tool imports them, no index holds them
MAX_WRITTEN_LENGTH = 300
_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z0-9-]{0,40}):[ \t]?(.*)")
_RECIPIENT_LINE = re.compile(r"宛(?:先|に|て)|(?i:^\s*(?:to|cc|bcc)\s*:)")
_NOT_DIGIT = re.compile(r"[^0-9+]")


@dataclass(frozen=True)
class Found:
    kind: str
    value: str               # fanged, normalised: what is stored and searched
    host: str                # ASCII host of url/host/domain/ip/email, "" for phones
    registrable_domain: str  # "" when there is none (IP literals, phones, bare suffixes)
    defanged: str            # display form
    punycode: str            # display form with the xn-- host, when it differs; else ""
    written: str             # as written in the post (cut to MAX_WRITTEN_LENGTH)
    role: str
    part: int                # 0: the member's own text; n: the n-th quoted mail of the post


@dataclass
class QuoteFound:
    part: int
    number: int | None
    subject: str
    sender_name: str
    sender: str
    brand_id: int | None = None


@dataclass
class PostFindings:
    indicators: list[Found] = field(default_factory=list)
    quotes: list[QuoteFound] = field(default_factory=list)


def indicator_key(kind: str, value: str) -> str:
    """What identifies an indicator (Indicator.key): values can be longer than an index entry may be."""
    return hashlib.sha256(f"{kind}\x00{value}".encode("utf-8", "surrogatepass")).hexdigest()


# --- values ------------------------------------------------------------------------------------

def _host_records(host: Host, written: str, role: str, part: int) -> list[Found]:
    if host.is_ip:
        return [Found(KIND_IP, host.ascii, host.ascii, "", defang_host(host), "", written, role, part)]
    domain = registrable_domain(host.ascii) or ""
    puny = defang_host(host, punycode=True) if host.unicode != host.ascii else ""
    if domain == host.ascii:
        return [Found(KIND_DOMAIN, host.ascii, host.ascii, domain, defang_host(host), puny, written, role, part)]
    records = [Found(KIND_HOST, host.ascii, host.ascii, domain, defang_host(host), puny, written, role, part)]
    if domain:
        registrable = normalize_host(domain)
        if registrable is not None:
            puny = defang_host(registrable, punycode=True) if registrable.unicode != registrable.ascii else ""
            records.append(Found(KIND_DOMAIN, domain, domain, domain, defang_host(registrable), puny, written,
                                 role, part))
    return records


def _email_record(address: str, written: str, role: str, part: int) -> Found:
    domain = address.rpartition("@")[2]
    return Found(KIND_EMAIL, address, domain, registrable_domain(domain) or "", defang_email(address), "",
                 written, role, part)


def records_for_span(span: Span, role: str, part: int, *, emails: bool = True) -> list[Found]:
    """The indicators a span of incidents.defang stands for (none for redaction placeholders)."""
    written = span.raw[:MAX_WRITTEN_LENGTH]
    if span.kind == "url":
        url = span.value
        if len(url.url) > MAX_VALUE_LENGTH:
            return _host_records(url.host, written, role, part)
        defanged = defang_url(url)
        record = Found(KIND_URL, url.url, url.host.ascii, "" if url.host.is_ip else registrable_domain(url.host.ascii) or "",
                       defanged.text, defanged.punycode or "", written, role, part)
        return [record, *_host_records(url.host, written, role, part)]
    if span.kind == "host":
        return _host_records(span.value, written, role, part)
    if span.kind == "email" and emails:
        return [_email_record(span.value, written, role, part)]
    return []


def phone_record(e164: str | None, written: str, role: str, part: int) -> Found:
    if e164 is not None:
        number = phonenumbers.parse(e164)
        display = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.NATIONAL if number.country_code == 81
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        value = e164
    else:
        # Not a valid number: kept as the digits it was written with (the lookup finds it
        # whatever the separators), shown as written.
        display = unicodedata.normalize("NFKC", written)
        value = phone_digits(written)
    return Found(KIND_PHONE, value, "", "", display, "", written[:MAX_WRITTEN_LENGTH], role, part)


def phone_digits(text: str) -> str:
    return _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", text))


# --- finding ---------------------------------------------------------------------------------

def _text_records(text: str, role: str, part: int, skip_addresses: frozenset[str]) -> Iterable[Found]:
    for span in find_indicators(text):
        if span.kind == "email" and (
            # An address inside a URL's query is most often the recipient's, in a tracking link.
            span.nested or span.value in skip_addresses or _on_recipient_line(text, span.start)
        ):
            continue
        for record in records_for_span(span, role, part):
            yield _without_recipients(record, skip_addresses) if skip_addresses else record


def _raw_only_urls(raw: str, role: str, part: int, recipients: frozenset[str]) -> list[Found]:
    """URLs of the source as written that decoding does not leave a URL ("https://=).=:;&gt;…@host/"):
    the forum shows the source, so what it shows as a URL is an indicator too."""
    records = []
    for span in find_indicators(raw):
        if span.kind == "url" and not any(s.kind == "url" for s in find_indicators(html.unescape(span.raw))):
            records += [_without_recipients(r, recipients) for r in records_for_span(span, role, part)]
    return records


def _without_recipients(record: Found, recipients: frozenset[str]) -> Found:
    """A URL that carries a recipient's address (unredacted, or %40-encoded) keeps its evidence
    with the placeholder in the address's place."""
    if record.kind != KIND_URL:
        return record
    lowered = record.value.lower().replace("%40", "@")
    present = [address for address in recipients if address in lowered]
    if not present:
        return record
    pattern = re.compile("|".join(re.escape(a).replace("@", "(?:@|%40)") for a in present), re.IGNORECASE)
    url = normalize_url(pattern.sub(REDACTED_ADDRESS, record.value))
    if url is None:
        return record
    defanged = defang_url(url)
    return Found(KIND_URL, url.url, record.host, record.registrable_domain, defanged.text, defanged.punycode or "",
                 pattern.sub(REDACTED_ADDRESS, record.written), record.role, record.part)


def _on_recipient_line(text: str, position: int) -> bool:
    line_start = text.rfind("\n", max(0, position - 200), position) + 1
    return _RECIPIENT_LINE.search(text, line_start, position) is not None


def _phone_records(text: str, part: int, *, quoted: bool) -> Iterable[Found]:
    for phone in find_phone_numbers(text):
        if not quoted:
            role = ROLE_POST_TEXT
        elif phone.context == PHONE_CONTACT:
            role = ROLE_PHONE_CONTACT
        else:
            role = ROLE_PHONE_MENTIONED
        yield phone_record(phone.e164, phone.raw, role, part)


def _addresses_in(value: str) -> list[str]:
    """Normalised addresses a header value names (redaction placeholders left out)."""
    found = []
    for span in find_indicators(value):
        if span.kind in ("email", "redacted") and isinstance(span.value, str) and span.value != REDACTED_ADDRESS:
            found.append(span.value)
    # "<user@host>" right after a display name can hide from the scanner ("名前<user@host>").
    for candidate in re.findall(r"<([^<>\s]{1,300})>", value):
        address = normalize_email(candidate)
        if address and address != REDACTED_ADDRESS and address not in found:
            found.append(address)
    return found


def _urls_and_hosts(value: str, part: int) -> list[Found]:
    return [record for span in find_indicators(value) if span.kind in ("url", "host")
            for record in records_for_span(span, ROLE_BODY, part)]


def _display_name(value: str) -> str:
    name = value.split("<", 1)[0] if "<" in value else ""
    return name.strip().strip('"').strip()


# A body starts with a mail's header block only if one of these is among its first lines.
_SOURCE_HEADERS = frozenset({
    "received", "return-path", "message-id", "mime-version", "delivered-to", "x-original-to", "dkim-signature",
    "authentication-results", "sender", "from", "to", "reply-to", "content-type"})
# Header lines that name the relays and the recipient's own provider, never the scammer's links.
_TRANSPORT_HEADERS = frozenset({
    "received", "x-received", "dkim-signature", "arc-seal", "arc-message-signature", "arc-authentication-results",
    "authentication-results", "received-spf", "message-id", "in-reply-to", "references", "x-google-dkim-signature",
    "x-gm-message-state", "x-ms-exchange-organization-authas", "list-id"})


def _leading_headers(body: str) -> tuple[list[tuple[str, str]], str]:
    """Header lines a body starts with (a pasted source), and the rest of the body."""
    lines = body.split("\n")
    headers: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if headers and line[:1] in (" ", "\t") and line.strip():
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        elif match := _HEADER_LINE.fullmatch(line):
            headers.append((match[1], match[2]))
        else:
            break
        i += 1
    if not any(name.lower() in _SOURCE_HEADERS for name, _ in headers):
        return [], body  # "HP: https://…" or "Note: …" lines are text, not a header block
    return headers, "\n".join(lines[i:])


def extract_quote(quote: b.Quote, part: int, catalogue: BrandCatalogue) -> tuple[list[Found], QuoteFound]:
    headers = [(h.name, h.value) for h in quote.headers]
    pasted, body = _leading_headers(quote.body)
    headers += pasted
    recipients = frozenset(
        address for name, value in headers if name.lower() in RECIPIENT_HEADERS for address in _addresses_in(value))
    found: list[Found] = []
    sender_name = subject = sender = ""
    for name, value in headers:
        lowered = name.lower()
        role = SENDER_HEADERS.get(lowered)
        if role is not None:
            for address in _addresses_in(value):
                if address not in recipients:
                    found.append(_email_record(address, value[:MAX_WRITTEN_LENGTH], role, part))
                    if role == ROLE_FROM and not sender:
                        sender = address
            if role == ROLE_FROM and not sender_name:
                sender_name = _display_name(value)
        elif lowered == "subject":
            subject = subject or value
            found += _urls_and_hosts(value, part)
        elif lowered not in RECIPIENT_HEADERS and lowered not in _TRANSPORT_HEADERS and lowered != "date":
            found += _urls_and_hosts(value, part)  # List-Unsubscribe: <https://…>
    if html_source.looks_like_html(body):
        roles = {html_source.LINK: ROLE_HTML_LINK, html_source.IMAGE: ROLE_IMAGE,
                 html_source.NAMESPACE: ROLE_NAMESPACE, html_source.TEXT: ROLE_BODY}
        for piece in html_source.pieces(body):
            found += _text_records(piece.text, roles[piece.role], part, recipients)
            if piece.raw:
                found += _raw_only_urls(piece.raw, roles[piece.role], part, recipients)
        visible = html_to_text(body).text
    else:
        found += _text_records(body, ROLE_BODY, part, recipients)
        visible = body
    found += _phone_records(visible, part, quoted=True)
    brand = _quote_brand(catalogue, sender_name, subject, visible, found)
    return found, QuoteFound(part, quote.number, subject[:300], sender_name[:200], sender, brand)


def _quote_brand(catalogue: BrandCatalogue, sender_name: str, subject: str, body: str,
                 found: list[Found]) -> int | None:
    for text in (sender_name, subject, body):
        brand = catalogue.brand_of_text(text)
        if brand is not None:
            return brand
    for record in found:
        if record.host and record.kind != KIND_IP:
            _, brand = catalogue.assess_host(record.host)
            if brand is not None:
                return brand
    return None


def _own_text(block) -> str | None:
    if isinstance(block, (b.Text, b.News)):
        return block.text
    if isinstance(block, b.Subtitle):
        return block.text
    if isinstance(block, (b.Citation, b.Note, b.Supplement, b.Deadlink, b.Elision)):
        return block.line
    if isinstance(block, b.Figure):
        return "\n".join(filter(None, (block.line, block.caption)))
    return None


def extract_post(blocks: Iterable, catalogue: BrandCatalogue) -> PostFindings:
    """Everything a post's blocks (forum.blocks objects) name, in order."""
    findings = PostFindings()
    own_texts = []
    part = 0
    for block in blocks:
        if isinstance(block, b.Quote):
            part += 1
            found, quote = extract_quote(block, part, catalogue)
            findings.indicators += found
            findings.quotes.append(quote)
        elif (text := _own_text(block)) is not None:
            own_texts.append(text)
    if own_texts:
        text = "\n".join(own_texts)
        findings.indicators[:0] = [*_text_records(text, ROLE_POST_TEXT, 0, frozenset()),
                                   *_phone_records(text, 0, quoted=False)]
    return findings
