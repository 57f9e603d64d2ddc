"""Redaction of quoted fraud mails: whom a mail was sent to must never be published.

Pure functions over ``str`` (no Django), safe on any input and linear in its length. Each one
returns the redacted text together with ``Mark``s whose offsets point into that redacted text, so
the preview can wrap exactly what will be published:

* recipient addresses become ``xxxx@xxxx.name`` wherever they appear, in any case, with ``@``
  written plainly, full-width, percent-encoded or as an HTML character reference (and ``xxxx``
  where they appear base64-encoded, as in tracking links);
* recipients' names and local parts become ``xxxx`` (see ``is_identifying_name`` for which count);
* card numbers keep their last four digits;
* postal addresses, personal phone numbers and the names in order blocks are only *flagged*
  (kinds starting with ``flag-``): the member decides, and ``apply_redactions`` does it.
"""
from __future__ import annotations

import base64
import bisect
import dataclasses
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import phonenumbers

REDACTED_ADDRESS = "xxxx@xxxx.name"
REDACTED_NAME = "xxxx"

RECIPIENT_ADDRESS = "recipient-address"
RECIPIENT_NAME = "recipient-name"
CARD_NUMBER = "card-number"
FLAG_POSTAL_ADDRESS = "flag-postal-address"
FLAG_PERSONAL_PHONE = "flag-personal-phone"
FLAG_PERSONAL_NAME = "flag-personal-name"

# Headers whose mailboxes are recipients (as incidents.mail reads them); Received lines name one
# in "for <...>".
RECIPIENT_HEADERS = frozenset({
    "to", "cc", "bcc", "delivered-to", "x-original-to", "envelope-to", "resent-to", "resent-cc",
    "resent-bcc", "x-envelope-to", "x-apparently-to", "apparently-to"})

# Words that name a role, a crowd or a placeholder rather than a person. A name made only of these
# (or of tokens too short to identify anyone) is never redacted: it would blank ordinary text.
GENERIC_NAMES = frozenset({
    "abuse", "account", "accounts", "admin", "administrator", "all", "billing", "client", "contact",
    "customer", "customers", "dear", "e-mail", "email", "everyone", "friend", "friends", "guest",
    "hello", "help", "info", "information", "list", "lists", "mail", "mailer-daemon", "member",
    "members", "name", "news", "newsletter", "no-reply", "noreply", "notification",
    "notifications", "office", "owner", "postmaster", "recipient", "recipients", "reply", "root",
    "sales", "security", "service", "staff", "support", "team", "test", "undisclosed", "user",
    "users", "valued", "webmaster", "xxxx", "you",
    "お客", "お客様", "お客さま", "客様", "顧客", "会員", "カード会員", "各位", "皆様", "皆さま",
    "みなさま", "ユーザー", "ユーザ", "利用者", "ご利用者", "担当者", "ご担当者", "お名前", "名前",
    "宛先", "受信者", "管理者", "事務局", "お得意様", "契約者",
})
MIN_NAME_LENGTH = 3        # ASCII and other alphabetic scripts: "ann" yes, "al" no
MIN_WIDE_NAME_LENGTH = 2   # kanji/kana: a two-character family name (山田) is how people are greeted
MIN_DIGIT_NAME_LENGTH = 7  # letterless local parts are identifying only when long (09012345678@…)
# Longer is no mailbox (RFC 5321: 254) and no one's name: a hostile header can hold a 16 kB
# "address", and its needle (a pattern per character) would take minutes to compile and run.
MAX_ADDRESS_LENGTH = 254
MAX_NAME_LENGTH = 200

HONORIFICS = ("様", "さま", "サマ", "殿", "さん")
_NAME_SEPARATORS = re.compile(r"[\s,、・]+")
_NAME_TOKEN_SEPARATORS = re.compile(r"[\W_]+")

# ASCII-side word boundary: a name or card number glued to a Latin letter or digit is another word.
_ALNUM = "0-9A-Za-z０-９Ａ-Ｚａ-ｚ"
_ALNUM_CHAR = re.compile(f"[{_ALNUM}]")
_NOT_BEFORE_ALNUM = f"(?![{_ALNUM}])"

_DIGIT = "0-9０-９"
_NOT_DIGIT = re.compile(f"[^{_DIGIT}]")
CARD_DIGITS = range(13, 20)
MAX_CARD_WORDS = 5  # 4111 1111 1111 1111 111 is the most space-separated groups a card is given in
# A card number is one word of digits and hyphens (hyphens bind groups into one identifier, as in
# order numbers) or up to MAX_CARD_WORDS such words separated by single spaces. It starts a word
# with at least four digits (4-4-4-4, Amex 4-6-5, Diners 4-6-4), the first being 2-6 as every
# issuer prefix is. That digit is matched before the look-behinds so the engine can skip ahead.
_CARD_WORD = f"[{_DIGIT}]+(?:[-－‐][{_DIGIT}]+)*"
_CARD_CANDIDATE = re.compile(
    f"[2-6２-６](?<![{_ALNUM}].)(?<![{_DIGIT}][-－‐].)[{_DIGIT}]{{3}}[{_DIGIT}]*(?:[-－‐][{_DIGIT}]+)*"
    f"(?:[ \u3000]{_CARD_WORD}){{0,{MAX_CARD_WORDS - 1}}}")
_SPACE_SEPARATED = re.compile("[^ \u3000]+")
# (prefixes, allowed lengths) per card issuer; lengths keep order numbers from passing as cards.
_CARD_BRANDS = (
    (("4",), (13, 16, 19)),                                              # Visa
    (("51", "52", "53", "54", "55"), (16,)),                             # Mastercard
    (tuple(str(n) for n in range(2221, 2721)), (16,)),                   # Mastercard 2-series
    (("34", "37"), (15,)),                                               # Amex
    (tuple(str(n) for n in range(3528, 3590)), (16, 17, 18, 19)),        # JCB
    (("36", "38", "300", "301", "302", "303", "304", "305"), (14, 15, 16, 17, 18, 19)),  # Diners
    (("6011", "65", "644", "645", "646", "647", "648", "649"), (16, 17, 18, 19)),  # Discover
    (("62",), (16, 17, 18, 19)),                                         # UnionPay
)

# 〒 + postcode, then the address: the rest of the line, or the next line when the postcode stands
# alone; in HTML source it ends at the next tag.
_POSTAL_ADDRESS = re.compile(
    f"〒[ \t\u3000]*[{_DIGIT}]{{3}}[-－‐ー−][{_DIGIT}]{{4}}(?![{_DIGIT}])"
    r"(?:[ \t\u3000]*\r?\n)?(?P<address>[^\r\n<]{0,80})")
# Digits in groups as phone numbers are written (+81 90-1234-5678, (03)1234-5678, 0120-123-456),
# not glued to letters or inside a URL's path or query. The first character is matched before
# anything else, so the engine can skip ahead to it.
_PHONE_SEPARATOR = "[ \u3000\\-－]?"
_PHONE_CANDIDATE = re.compile(
    f"[+＋(（{_DIGIT}](?<![{_ALNUM}/=?&#%_.].)"
    f"(?:(?<=[+＋])[{_DIGIT}]{{1,3}}{_PHONE_SEPARATOR}"                # country code, then
    f"(?:[(（][{_DIGIT}]{{1,5}}[)）]{_PHONE_SEPARATOR})?[{_DIGIT}]"      # maybe an area code
    f"|(?<=[(（])[{_DIGIT}]{{1,5}}[)）]{_PHONE_SEPARATOR}[{_DIGIT}]"     # area code
    f"|(?<=[{_DIGIT}]))"
    f"[{_DIGIT}]{{0,10}}(?:[\\-－‐−ー.][{_DIGIT}]{{1,11}}){{0,3}}(?![{_ALNUM}])")
PHONE_DIGITS = range(9, 16)  # fewer or more digits are no phone number anywhere
# Numbers a business publishes, never a private person's.
_SERVICE_NUMBER_TYPES = frozenset({
    phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.VOICEMAIL,
})
# A phone near these words is the scammer's or the brand's contact number, which readers search.
_CONTACT_CONTEXT = re.compile(
    r"電話|ＴＥＬ|ＦＡＸ|連絡|問い?合わ?せ|窓口|センター|サポート|ダイヤル|受付|代表"
    r"|(?<![A-Za-z])(?:tel|telephone|phone|call|fax|hotline)(?![A-Za-z])", re.IGNORECASE)
# ... unless it sits under a label of an order's parties: then it is a customer's number.
_PARTY_LABELS = "ご?注文者|ご?購入者|お名前|氏名|お?受取人|ご?依頼主|宛名|名義人?"
_PARTY_CONTEXT = re.compile(f"{_PARTY_LABELS}|お届け先|配送先|送付先")
CONTACT_CONTEXT_LINES = 2   # lines above the phone's own line that count as "near"
PARTY_CONTEXT_LINES = 3
CONTACT_CONTEXT_AFTER = 12  # characters after the number ("…までお電話ください")
# Spaces are bounded so that a line of blanks costs no backtracking.
_PARTY_NAME = re.compile(
    f"^[ \t\u3000]{{0,8}}[【\\[［<＜(（]?(?:{_PARTY_LABELS})(?:様|さま)?"
    r"(?:[】\]］>＞)）][ \t\u3000:：]{0,8}|[ \t\u3000]{0,8}[:：][ \t\u3000]{0,8}|[ \t\u3000]{1,8})"
    r"(?P<name>[^\s<>:：][^\r\n<>]{0,39}?)(?:[ \t\u3000]{0,8}(?:様|さま|殿))?[ \t\u3000]{0,8}\r?$",
    re.MULTILINE)


@dataclass(frozen=True)
class Mark:
    """One redaction (or flag) in a field's redacted text.

    For redactions ``text[start:end] == replacement``. Flags change nothing: ``text[start:end]``
    is the flagged original and ``replacement`` what one-click redaction would put there.
    """

    field: str
    start: int
    end: int
    kind: str
    replacement: str

    @property
    def is_flag(self) -> bool:
        return self.kind.startswith("flag-")


@dataclass(frozen=True)
class RedactionResult:
    text: str
    marks: tuple[Mark, ...]


class RecipientLike(Protocol):
    address: str
    display_name: str
    source: str


class MailLike(Protocol):
    headers: Sequence[tuple[str, str]]
    recipients: Sequence[RecipientLike]
    text: str
    html: str
    html_text: str
    attachments: Sequence[object]
    attached_messages: Sequence[MailLike]
    origin_ip: str | None
    problems: Sequence[str]


@dataclass(frozen=True)
class RedactedMail:
    """A parsed mail as it may be published: recipients gone, every text field redacted.

    ``marks`` cover this message's own fields, named ``"headers[i]"`` (the value of the i-th
    header), ``"text"``, ``"html"``, ``"html_text"``, ``"attachments[i].<field>"`` and
    ``"problems[i]"``; each attached message carries its own. ``learned_*`` are the recipients
    found in this message and the ones attached to it, for the caller to keep as known ones.
    """

    headers: tuple[tuple[str, str], ...]
    text: str
    html: str
    html_text: str
    attachments: tuple[object, ...]
    attached_messages: tuple[RedactedMail, ...]
    origin_ip: str | None
    problems: tuple[str, ...]
    marks: tuple[Mark, ...]
    learned_addresses: frozenset[str]
    learned_names: frozenset[str]


# --- which names and addresses are redacted --------------------------------------------------

def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) == "W"


def _clean_name(name: str) -> str:
    """Without quotes, brackets and a trailing honorific ("山田太郎 様" is 山田太郎)."""
    name = name.strip().strip("\"'<>()[]「」『』【】").strip()
    for honorific in HONORIFICS:
        name = name.removesuffix(honorific)
    return " ".join(name.split())


def _is_identifying_token(token: str) -> bool:
    if token in GENERIC_NAMES:
        return False
    if any(_is_wide(ch) for ch in token):
        return len(token) >= MIN_WIDE_NAME_LENGTH
    if not any(ch.isalpha() for ch in token):
        return len(token) >= MIN_DIGIT_NAME_LENGTH
    return len(token) >= MIN_NAME_LENGTH


def is_identifying_name(name: str) -> bool:
    """Whether redacting ``name`` wherever it appears hides a person rather than ordinary words.

    Compared NFKC-folded and case-insensitively. Not identifying: anything holding ``@`` (that is
    an address), the words in ``GENERIC_NAMES``, and names whose every word is generic or shorter
    than ``MIN_NAME_LENGTH`` (``MIN_WIDE_NAME_LENGTH`` for kanji/kana, ``MIN_DIGIT_NAME_LENGTH``
    for words without a letter): ``"no-reply"``, ``"Valued Customer"``, ``"お客様"``, ``"林"``.
    """
    folded = unicodedata.normalize("NFKC", _clean_name(name)).casefold()
    if not folded or "@" in folded or folded in GENERIC_NAMES or len(folded) > MAX_NAME_LENGTH:
        return False
    return any(_is_identifying_token(token)
               for token in _NAME_TOKEN_SEPARATORS.split(folded) if token)


def _names_from_display_name(display_name: str) -> set[str]:
    """The whole display name and each of its words: greetings use one ("Dear Taro", "山田様")."""
    whole = _clean_name(display_name)
    return {name for name in (whole, *_NAME_SEPARATORS.split(whole)) if is_identifying_name(name)}


def _clean_address(address: str) -> str | None:
    """The address lower-cased, or None when it is not one we could (or need to) redact.

    An address spelled only with the placeholder's own letters (``xxxx@xxxx.name`` itself, or
    ``ann@name.xx``) cannot be told apart from a redaction already made, so it is skipped.
    """
    address = address.strip().strip("<>").strip()
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:"):]
    local, at, domain = address.partition("@")
    if not (local and at and domain) or any(ch.isspace() for ch in address) or len(address) > MAX_ADDRESS_LENGTH:
        return None
    if set(address.lower()) <= set(REDACTED_ADDRESS):
        return None
    return address.lower()


def _local_part(address: str) -> str:
    return address.partition("@")[0]


# --- patterns ------------------------------------------------------------------------------

# A needle (address or name) becomes a list of elements, each a list of spellings: (a character
# class for the first character, a regex for the rest). Classes spell out case and width instead
# of re.IGNORECASE so that the combined pattern can start with one plain character class, which
# lets the regex engine skip ahead in C to the next possible first character (over 10x faster).
_Spelling = tuple[str, str]
_AT_SPELLINGS: list[_Spelling] = [
    ("@＠", ""), ("%", "(?:25)?40"), ("&", "#0*64;"), ("&", "#[xX]0*40;"), ("&", "commat;")]


def _spellings(ch: str, *, in_address: bool) -> list[_Spelling]:
    """``ch`` in either case and width and, in an address, percent-encoded (``%2B``, ``%252B``)."""
    if in_address and ch == "@":
        return _AT_SPELLINGS
    chars = {c for c in (ch, ch.lower(), ch.upper()) if len(c) == 1}
    chars |= {chr(ord(c) + 0xFEE0) for c in chars if "!" <= c <= "~"}
    spellings = [("".join(sorted(chars)), "")]
    if in_address and "!" <= ch <= "~" and not ch.isalnum():
        code = "".join(f"[{d}{d.lower()}]" if d.isalpha() else d for d in f"{ord(ch):02X}")
        spellings.append(("%", f"(?:25)?{code}"))
    return spellings


def _class(chars: str) -> str:
    return "[" + "".join(re.escape(c) for c in chars) + "]"


def _element(spellings: list[_Spelling]) -> str:
    return "(?:" + "|".join(_class(first) + rest for first, rest in spellings) + ")"


@dataclass(frozen=True)
class _Needle:
    first: list[_Spelling]
    rest: str                # regex for everything after the first element
    word_start: bool = False  # must not follow a Latin letter or digit

    def branch(self) -> str:
        """The needle as a branch of the combined pattern, which has consumed its first
        character already: look back at it instead of matching it."""
        first = "|".join(
            f"(?<={_class(chars)})" + (f"(?<![{_ALNUM}]{_class(chars)})" if self.word_start else "")
            + rest for chars, rest in self.first)
        return f"(?:{first}){self.rest}"


def _address_needle(address: str) -> _Needle:
    return _Needle(_spellings(address[0], in_address=True),
                   "".join(_element(_spellings(ch, in_address=True)) for ch in address[1:]))


def _name_needle(name: str) -> _Needle:
    words = name.split()
    rest = "".join(_element(_spellings(ch, in_address=False)) for ch in words[0][1:])
    for previous, word in zip(words, words[1:]):
        # Japanese writes 山田 太郎 as often as 山田太郎; Latin words need their space.
        rest += r"\s*" if _is_wide(previous[-1]) and _is_wide(word[0]) else r"\s+"
        rest += "".join(_element(_spellings(ch, in_address=False)) for ch in word)
    # Word boundaries only where the name has a Latin letter or digit at its edge: Japanese
    # names are written without spaces, so they match as substrings (chiyuki様, 山田様).
    if _ALNUM_CHAR.match(words[-1][-1]):
        rest += _NOT_BEFORE_ALNUM
    return _Needle(_spellings(words[0][0], in_address=False), rest,
                   word_start=bool(_ALNUM_CHAR.match(words[0][0])))


def _literals(needles: set[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(map(re.escape, _longest_first(needles)))) if needles else None


def _combined(needles: list[_Needle]) -> re.Pattern[str] | None:
    """One pattern finding any needle; where several match at one place, the first listed."""
    if not needles:
        return None
    lead = "".join(sorted({c for needle in needles for chars, _ in needle.first for c in chars}))
    return re.compile(_class(lead) + "(?:" + "|".join(n.branch() for n in needles) + ")")


MIN_BASE64_NEEDLE = 8  # shorter stretches could turn up in any base64 by chance
_BASE64_URLSAFE = str.maketrans("+/", "-_")


def _base64_needles(address: str) -> set[str]:
    """The base64 text that spells ``address`` whatever bytes precede it, in both alphabets:
    tracking links carry the recipient base64-encoded (world/sample-6518)."""
    data = address.encode("utf-8", "surrogatepass")
    needles = set()
    for offset in range(3):  # where the address falls in a 3-byte group
        encoded = base64.b64encode(bytes(offset) + data).decode()
        # Only characters whose 6 bits all come from the address.
        core = encoded[-(-8 * offset // 6):8 * (offset + len(data)) // 6]
        if len(core) >= MIN_BASE64_NEEDLE:
            needles |= {core, core.translate(_BASE64_URLSAFE)}
    return needles


@dataclass(frozen=True)
class _Plan:
    addresses: re.Pattern[str] | None
    base64_addresses: re.Pattern[str] | None
    names: re.Pattern[str] | None


def _longest_first(items: Iterable[str]) -> list[str]:
    """At one position an alternation takes the first branch that matches: "Yamada Taro" must
    come before "Yamada"."""
    return sorted(items, key=lambda item: (-len(item), item))


@functools.lru_cache(maxsize=64)
def _plan(addresses: frozenset[str], names: frozenset[str]) -> _Plan:
    clean_addresses = {a for a in map(_clean_address, addresses) if a}
    clean_names = {_clean_name(n) for n in names if is_identifying_name(n)}
    clean_names |= {_local_part(a) for a in clean_addresses if is_identifying_name(_local_part(a))}
    # Also the NFKC form, whose Latin letters the pattern accepts in either width (ｃｈｉｙｕｋｉ).
    clean_names |= {unicodedata.normalize("NFKC", n) for n in clean_names}
    return _Plan(
        addresses=_combined([_address_needle(a) for a in _longest_first(clean_addresses)]),
        base64_addresses=_literals({n for a in clean_addresses for n in _base64_needles(a)}),
        names=_combined([_name_needle(n) for n in _longest_first(clean_names)]),
    )


# --- finding what to redact --------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class _Span:
    """A stretch of the original text and what replaces it."""

    start: int
    end: int
    kind: str
    replacement: str


def _gaps(spans: list[_Span], length: int) -> Iterable[tuple[int, int]]:
    cursor = 0
    for span in spans:
        if span.start > cursor:
            yield cursor, span.start
        cursor = span.end
    if cursor < length:
        yield cursor, length


def _pattern_spans(text: str, pattern: re.Pattern[str] | None, kind: str, replacement: str,
                   start: int, end: int) -> Iterable[_Span]:
    if pattern is not None:
        for match in pattern.finditer(text, start, end):
            yield _Span(match.start(), match.end(), kind, replacement)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    """ASCII digits with an issuer's prefix, a length that issuer uses, and the Luhn check."""
    return (digits.isascii() and digits.isdigit()
            and any(len(digits) in lengths and digits.startswith(prefixes)
                    for prefixes, lengths in _CARD_BRANDS)
            and _luhn_valid(digits))


def _mask_card(number: str) -> str:
    """Every digit but the last four becomes a star of the same width; separators stay."""
    digits_seen = 0
    digit_count = sum(ch.isdigit() for ch in number)
    masked = []
    for ch in number:
        if ch.isdigit():
            digits_seen += 1
            if digits_seen <= digit_count - 4:
                ch = "＊" if ch > "9" else "*"
        masked.append(ch)
    return "".join(masked)


def _longest_card(text: str, candidate: re.Match[str]) -> int | None:
    """End of the longest card number made of the candidate's first words, if any."""
    card_end = None
    digits = ""
    for word in _SPACE_SEPARATED.finditer(candidate.group()):
        digits += unicodedata.normalize("NFKC", _NOT_DIGIT.sub("", word.group()))
        if len(digits) >= CARD_DIGITS.stop:
            break
        word_end = candidate.start() + word.end()
        if (len(digits) in CARD_DIGITS and is_card_number(digits)
                and not _ALNUM_CHAR.match(text, word_end)):  # glued to a letter: a URL token
            card_end = word_end
    return card_end


def _card_spans(text: str, start: int, end: int) -> Iterable[_Span]:
    position = start
    while candidate := _CARD_CANDIDATE.search(text, position, end):
        card_end = _longest_card(text, candidate)
        if card_end is None:
            position = candidate.start() + 1
            continue
        yield _Span(candidate.start(), card_end, CARD_NUMBER,
                    _mask_card(text[candidate.start():card_end]))
        position = card_end


def _redaction_spans(text: str, plan: _Plan) -> list[_Span]:
    """Addresses first, then cards and names in what is left, so nothing overlaps."""
    spans = list(_pattern_spans(text, plan.addresses, RECIPIENT_ADDRESS, REDACTED_ADDRESS,
                                0, len(text)))
    # Inside base64 an address cannot be replaced by a readable one: the stretch becomes xxxx.
    spans += [encoded for start, end in _gaps(spans, len(text))
              for encoded in _pattern_spans(text, plan.base64_addresses, RECIPIENT_ADDRESS,
                                            REDACTED_NAME, start, end)]
    spans.sort()
    spans += [card for start, end in _gaps(spans, len(text))
              for card in _card_spans(text, start, end)]
    spans.sort()
    spans += [name for start, end in _gaps(spans, len(text))
              for name in _pattern_spans(text, plan.names, RECIPIENT_NAME, REDACTED_NAME,
                                         start, end)]
    spans.sort()
    return spans


def _splice(text: str, spans: list[_Span]) -> tuple[str, list[tuple[int, _Span]]]:
    """The text with each span replaced, and where each replacement starts in it."""
    parts: list[str] = []
    placed: list[tuple[int, _Span]] = []
    cursor = length = 0
    for span in spans:
        parts.append(text[cursor:span.start])
        length += span.start - cursor
        placed.append((length, span))
        parts.append(span.replacement)
        length += len(span.replacement)
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts), placed


def _original_range(placed: list[tuple[int, _Span]], start: int, end: int) -> tuple[int, int]:
    """The stretch of original text behind output[start:end], widened to whole replacements."""
    starts = [out_start for out_start, _ in placed]

    def to_original(position: int, *, is_end: bool) -> int:
        # The replacement holding this position: for an end, one that starts before it.
        index = (bisect.bisect_left if is_end else bisect.bisect_right)(starts, position) - 1
        if index < 0:
            return position
        out_start, span = placed[index]
        out_end = out_start + len(span.replacement)
        if position < out_end or (is_end and position == out_end):
            return span.end if is_end else span.start
        return span.end + position - out_end
    return to_original(start, is_end=False), to_original(end, is_end=True)


def redact_text(text: str, *, addresses: Iterable[str] = (), names: Iterable[str] = (),
                field: str = "text", flags: bool = True) -> RedactionResult:
    """Redact recipient addresses (also base64-encoded), recipient names and card numbers; flag
    personal data (unless ``flags`` is False: the archive importer has no member to ask).

    ``names`` are kept only when ``is_identifying_name``; the local part of every address counts
    as a name too. Marks are ordered by position; flags may overlap redactions.
    """
    plan = _plan(frozenset(addresses), frozenset(names))
    spans = _redaction_spans(text, plan)
    redacted, placed = _splice(text, spans)
    # A placeholder beside untouched text can spell a given address anew: "me@x.io" followed by
    # "@x.io" reads "xxxx@xxxx.name@x.io". Widen the redaction over it until none is left; each
    # round swallows untouched text or merges replacements, so this ends.
    while plan.addresses is not None and (leak := plan.addresses.search(redacted)):
        start, end = _original_range(placed, leak.start(), leak.end())
        spans = sorted([s for s in spans if s.end <= start or s.start >= end]
                       + [_Span(start, end, RECIPIENT_ADDRESS, REDACTED_ADDRESS)])
        redacted, placed = _splice(text, spans)
    marks = [Mark(field, out_start, out_start + len(span.replacement), span.kind, span.replacement)
             for out_start, span in placed]
    if flags:
        marks += find_flags(redacted, field=field)
    marks.sort(key=lambda mark: (mark.start, mark.end))
    return RedactionResult(redacted, tuple(marks))


# --- flags -----------------------------------------------------------------------------------

def _context_start(text: str, position: int, lines_above: int, max_chars: int) -> int:
    """Where the line ``lines_above`` lines above ``position`` starts, at most ``max_chars`` back
    (the cap keeps a huge single-line HTML source linear)."""
    floor = max(0, position - max_chars)
    start = position
    for _ in range(lines_above + 1):
        newline = text.rfind("\n", floor, start)
        if newline < 0:
            return floor
        start = newline
    return start + 1


PHONE_CONTACT = "contact"  # near 電話番号, 連絡先, までお電話…: the number readers are told to call
PHONE_PARTY = "party"      # under an order's party label (注文者…): a customer's number
PHONE_OTHER = "other"      # anywhere else: mentioned, possibly a third party's


def phone_context(text: str, start: int, end: int) -> str:
    """Where the number at text[start:end] stands: PHONE_PARTY, PHONE_CONTACT or PHONE_OTHER.

    Redaction flags every number but a contact one; incidents.extract records only contact
    numbers as a scam's contact. A party label wins over contact words around it."""
    if _PARTY_CONTEXT.search(text, _context_start(text, start, PARTY_CONTEXT_LINES, 300), start):
        return PHONE_PARTY
    line_end = text.find("\n", end, end + CONTACT_CONTEXT_AFTER)
    after = line_end if line_end >= 0 else min(len(text), end + CONTACT_CONTEXT_AFTER)
    before = _context_start(text, start, CONTACT_CONTEXT_LINES, 200)
    if _CONTACT_CONTEXT.search(text, before, start) or _CONTACT_CONTEXT.search(text, end, after):
        return PHONE_CONTACT
    return PHONE_OTHER


def _in_personal_context(text: str, start: int, end: int) -> bool:
    return phone_context(text, start, end) != PHONE_CONTACT


def _mask_digits(number: str) -> str:
    return "".join("x" if ch.isdigit() else ch for ch in number)


# phonenumbers' matcher costs about a millisecond a candidate, and a hostile text holds a
# hundred thousand candidates (one IP address repeated fills a mail with them): each distinct
# candidate is matched once per text, and at most this many; later ones are not looked at.
MAX_PHONE_CANDIDATES = 500


class _PhoneMatcher:
    """The matcher over one text's candidates, each distinct candidate once (see above)."""

    def __init__(self, region: str):
        self.region = region
        self.seen: dict[str, list] = {}

    def __call__(self, raw: str) -> list | None:
        """The matches in `raw`, or None once MAX_PHONE_CANDIDATES candidates were matched."""
        if raw not in self.seen:
            if len(self.seen) >= MAX_PHONE_CANDIDATES:
                return None
            self.seen[raw] = list(phonenumbers.PhoneNumberMatcher(raw, self.region,
                                                                  leniency=phonenumbers.Leniency.VALID))
        return self.seen[raw]


def _phone_flags(text: str, field: str) -> Iterable[Mark]:
    # The matcher runs on short candidates: over a whole large text it is slow and silently stops
    # after a fixed number of tries. VALID (not POSSIBLE) leniency: POSSIBLE takes dates, order and
    # card numbers for phones.
    matcher = _PhoneMatcher("JP")
    for candidate in _PHONE_CANDIDATE.finditer(text):
        if (candidate.end() - candidate.start() < PHONE_DIGITS.start
                or len(_NOT_DIGIT.sub("", candidate.group())) not in PHONE_DIGITS
                or not _in_personal_context(text, candidate.start(), candidate.end())):
            continue
        matches = matcher(candidate.group())
        if matches is None:
            return
        for match in matches:
            if phonenumbers.number_type(match.number) not in _SERVICE_NUMBER_TYPES:
                start = candidate.start() + match.start
                yield Mark(field, start, start + len(match.raw_string), FLAG_PERSONAL_PHONE,
                           _mask_digits(match.raw_string))


@dataclass(frozen=True)
class PhoneNumber:
    """A phone number found in text, for incidents' indicators."""

    start: int
    end: int
    raw: str           # as written
    e164: str | None   # None: written like a phone number in a contact context, but not a valid one
    context: str       # PHONE_CONTACT, PHONE_PARTY or PHONE_OTHER


_INVALID_PHONE_START = re.compile(f"[0０+＋(（]")


def find_phone_numbers(text: str, region: str = "JP") -> list[PhoneNumber]:
    """Valid phone numbers (phonenumbers, VALID leniency, as the flags use) with their context,
    and numbers that are not valid but written as phone numbers right where a contact number
    stands ("至急(01)-50-5830-6860までお電話ください"): scammers get digits wrong, and readers
    search what the mail says. Elsewhere an invalid run of digits is an order or version number."""
    found = []
    matcher = _PhoneMatcher(region)
    for candidate in _PHONE_CANDIDATE.finditer(text):
        raw = candidate.group()
        digits = _NOT_DIGIT.sub("", raw)
        if len(raw) < PHONE_DIGITS.start or len(digits) not in PHONE_DIGITS:
            continue
        context = phone_context(text, candidate.start(), candidate.end())
        matches = matcher(raw)
        if matches is None:
            break
        for match in matches:
            start = candidate.start() + match.start
            found.append(PhoneNumber(
                start, start + len(match.raw_string), match.raw_string,
                phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164), context))
        if (not matches and context == PHONE_CONTACT and "." not in raw
                and _INVALID_PHONE_START.match(raw) and _NOT_DIGIT.search(raw)):
            found.append(PhoneNumber(candidate.start(), candidate.end(), raw, None, context))
    return found


def _postal_flags(text: str, field: str) -> Iterable[Mark]:
    for match in _POSTAL_ADDRESS.finditer(text):
        has_address = bool(match.group("address").strip())
        end = match.start() + len(match.group().rstrip())
        replacement = "〒xxx-xxxx" + (f" {REDACTED_NAME}" if has_address else "")
        yield Mark(field, match.start(), end, FLAG_POSTAL_ADDRESS, replacement)


def _party_name_flags(text: str, field: str) -> Iterable[Mark]:
    for line in _PARTY_NAME.finditer(text):
        name = line.group("name")
        if name.casefold() != REDACTED_NAME and any(ch.isalpha() for ch in name):
            yield Mark(field, line.start("name"), line.end("name"), FLAG_PERSONAL_NAME,
                       REDACTED_NAME)


def find_flags(text: str, *, field: str = "text") -> list[Mark]:
    """Possible third-party personal data, for the member to redact with one click.

    Postal addresses (〒 + postcode and the rest of its line), phone numbers that are not a
    contact number, and the names on an order's party lines (注文者 …様).
    """
    flags = [*_postal_flags(text, field), *_phone_flags(text, field),
             *_party_name_flags(text, field)]
    return sorted(flags, key=lambda mark: (mark.start, mark.end))


def apply_redactions(text: str, spans: Iterable[Mark]) -> str:
    """Replace each span of ``text`` by its replacement (the one-click action on flags).

    Offsets are into ``text``; spans are clamped to it, and overlapping ones merge into one
    replaced by the first's replacement, so nothing a span covered survives.
    """
    ordered = sorted(((max(0, min(s.start, len(text))), max(0, min(s.end, len(text))),
                       s.replacement) for s in spans), key=lambda s: (s[0], -s[1]))
    parts = []
    cursor = 0
    for start, end, replacement in ordered:
        if start < cursor:  # overlaps the previous span: widen that one
            cursor = max(cursor, end)
            continue
        if end <= start:
            continue
        parts.append(text[cursor:start])
        parts.append(replacement)
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)


# --- learning recipients ---------------------------------------------------------------------

def _split_mailbox_list(value: str) -> list[str]:
    """Split an address-list value at commas and semicolons outside quotes and angle brackets,
    dropping group labels ("Undisclosed recipients:;")."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    depth = 0
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and ch in ",;:":
            if ch != ":":
                items.append("".join(current))
            current = []
            continue
        current.append(ch)
    items.append("".join(current))
    return [item for item in items if item.strip()]


_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>[^<>]*$")
_RECEIVED_FOR = re.compile(r"\bfor\s+<?([^\s<>;]+@[^\s<>;]+)", re.IGNORECASE)


def _parse_mailboxes(value: str) -> list[tuple[str, str]]:
    """(display name, address) pairs from a header value, leniently: scam mail headers are often
    malformed, and a mailbox we fail to read is a recipient we fail to redact. Without angle
    brackets ("taro@x.jp (Taro)") everything is returned as display name, whose words holding
    an ``@`` ``_learn`` takes for addresses."""
    mailboxes = []
    for item in _split_mailbox_list(value):
        angle = _ANGLE_ADDRESS.search(item)
        mailboxes.append((item[:angle.start()], angle.group(1)) if angle else (item, ""))
    return mailboxes


def _learn(mailboxes: Iterable[tuple[str, str]]) -> tuple[set[str], set[str]]:
    addresses: set[str] = set()
    names: set[str] = set()
    for display_name, address in mailboxes:
        # A display name can hold an address too ('"victim@x.jp" <…>', 'Taro (taro@x.jp)'), and
        # a lenient parser's address some words ("mailing list list@x.org").
        words = display_name.split()
        for candidate in (address, *(word.strip("()[]<>\"',;:")
                                     for word in (*words, *address.split()) if "@" in word)):
            if clean := _clean_address(candidate):
                addresses.add(clean)
                if is_identifying_name(_local_part(clean)):
                    names.add(_local_part(clean))
        names |= _names_from_display_name(" ".join(word for word in words if "@" not in word))
    return addresses, names


def _header_mailboxes(header_lines: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    mailboxes = []
    for name, value in header_lines:
        name = name.strip().lower()
        if name in RECIPIENT_HEADERS:
            mailboxes += _parse_mailboxes(value)
        elif name == "received":
            mailboxes += [("", found) for found in _RECEIVED_FOR.findall(value)]
    return mailboxes


def learn_from_quote_headers(header_lines: Iterable[tuple[str, str]]) -> tuple[set[str], set[str]]:
    """Recipients named in a quote's typed headers: ``To: chiyuki <xxxx@xxxx.name>`` teaches the
    name ``chiyuki``; an address already ``xxxx@xxxx.name`` is known-redacted and not learned."""
    return _learn(_header_mailboxes(header_lines))


def learn_recipients(mail: MailLike) -> tuple[set[str], set[str]]:
    """(addresses, names) of the mail's recipients and of those of its attached messages.

    Besides ``mail.recipients`` the shown To/Cc headers are read too, so a mailbox the parser
    could not make sense of is still redacted.
    """
    addresses, names = _learn([(r.display_name, r.address) for r in mail.recipients]
                              + _header_mailboxes(mail.headers))
    for attached in mail.attached_messages:
        more_addresses, more_names = learn_recipients(attached)
        addresses |= more_addresses
        names |= more_names
    return addresses, names


# --- whole mails -----------------------------------------------------------------------------

def _redact_attachment(attachment: object, field: str, addresses: frozenset[str],
                       names: frozenset[str], marks: list[Mark]) -> object:
    """A copy with every text field redacted (file names can carry the recipient)."""
    changes = {}
    for attribute in dataclasses.fields(attachment):
        value = getattr(attachment, attribute.name)
        if isinstance(value, str):
            result = redact_text(value, addresses=addresses, names=names,
                                 field=f"{field}.{attribute.name}")
            changes[attribute.name] = result.text
            marks += result.marks
    return dataclasses.replace(attachment, **changes)


def _redact_tree(mail: MailLike, addresses: frozenset[str], names: frozenset[str]) -> RedactedMail:
    marks: list[Mark] = []

    def redact(value: str, field: str) -> str:
        result = redact_text(value, addresses=addresses, names=names, field=field)
        marks.extend(result.marks)
        return result.text

    learned_addresses, learned_names = learn_recipients(mail)
    return RedactedMail(
        headers=tuple((name, redact(value, f"headers[{i}]"))
                      for i, (name, value) in enumerate(mail.headers)),
        text=redact(mail.text, "text"),
        html=redact(mail.html, "html"),
        html_text=redact(mail.html_text, "html_text"),
        attachments=tuple(_redact_attachment(attachment, f"attachments[{i}]", addresses, names,
                                             marks)
                          for i, attachment in enumerate(mail.attachments)),
        attached_messages=tuple(_redact_tree(attached, addresses, names)
                                for attached in mail.attached_messages),
        origin_ip=mail.origin_ip,
        problems=tuple(redact(problem, f"problems[{i}]")
                       for i, problem in enumerate(mail.problems)),
        marks=tuple(marks),
        learned_addresses=frozenset(learned_addresses),
        learned_names=frozenset(learned_names),
    )


def redact_mail(mail: MailLike, *, known_addresses: Iterable[str] = (),
                known_names: Iterable[str] = ()) -> RedactedMail:
    """A copy of ``mail`` fit to publish: every field redacted (attached messages too, with the
    recipients of the whole tree), recipients dropped, marks per field, learned recipients."""
    addresses, names = learn_recipients(mail)
    return _redact_tree(mail, frozenset(addresses | set(known_addresses)),
                        frozenset(names | set(known_names)))
