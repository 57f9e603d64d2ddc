"""Bytes of a mail's headers and text parts to str, whatever charset they claim (or forget) to be in.

Scam mail mislabels its text all the time: GB2312 labels on Japanese, junk in the charset
parameter, raw 8-bit bytes in headers, UTF-8 and GB18030 mixed in one Subject. `decode_text`
honours a usable label (through the supersets mail clients really use) and otherwise guesses,
saying so in `Decoded.note` for the parsed mail's `problems`.
"""
import binascii
import codecs
import re
from dataclasses import dataclass

# ISO-2022-JP as Windows sends it (CP50220): JIS X 0208 plus NEC and IBM extensions such as ①
# and ㈱, which Python's iso2022_jp codecs reject. Handled by _decode_iso2022jp_as_cp932.
CP50220 = "cp50220"

_ISO2022JP = ("iso2022_jp", "iso2022_jp_ext", CP50220, "iso2022_jp_2", "iso2022_jp_2004")
_SHIFT_JIS = ("cp932", "shift_jis_2004")
_EUC_JP = ("euc_jp", "euc_jis_2004")
# GB2312-labelled mail is often GBK/GB18030, and Japanese spam written in it uses kana and kanji
# only GB18030 has.
_GB = ("gb2312", "gb18030")

# Labels (lower case, '_' read as '-') whose usual meaning differs from Python's codec of that
# name or that Python does not know. The first codec is what the label means; the rest are the
# supersets real senders use under it.
_LABELS = {
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp", "iso2022jp", "jis", "iso-2022-jp-1",
                     "iso-2022-jp-2", "iso-2022-jp-3", "iso-2022-jp-2004", "cp50220", "cp50221",
                     "cp50222"), _ISO2022JP),
    **dict.fromkeys(("shift-jis", "sjis", "x-sjis", "ms-kanji", "csshiftjis", "windows-31j",
                     "cp932", "ms932", "x-ms-cp932", "shift-jis-2004", "shiftjis"), _SHIFT_JIS),
    **dict.fromkeys(("euc-jp", "eucjp", "x-euc-jp", "ujis", "cseucpkdfmtjapanese", "cp51932",
                     "eucjp-ms", "euc-jis-2004"), _EUC_JP),
    **dict.fromkeys(("gb2312", "csgb2312", "gb-2312-80", "euc-cn", "x-euc-cn", "chinese", "gbk",
                     "x-gbk", "cp936", "ms936", "windows-936", "gb18030"), _GB),
    **dict.fromkeys(("big5", "csbig5", "cn-big5", "x-x-big5", "cp950", "big5-hkscs"),
                    ("cp950", "big5hkscs")),
    **dict.fromkeys(("euc-kr", "ks-c-5601-1987", "ks-c-5601", "csksc56011987", "korean",
                     "cp949", "windows-949"), ("cp949",)),
    # As in browsers: these ISO labels mean their Windows supersets.
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819",
                     "iso-ir-100", "csisolatin1"), ("cp1252", "latin-1")),
    **dict.fromkeys(("iso-8859-9", "iso8859-9", "latin5", "l5", "iso-ir-148", "csisolatin5"),
                    ("cp1254", "iso8859_9")),
    **dict.fromkeys(("iso-8859-11", "tis-620"), ("cp874",)),
    **dict.fromkeys(("utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8"), ("utf-8",)),
    **dict.fromkeys(("unicode-1-1-utf-7", "utf-7"), ("utf-7",)),
    # Labels that name no charset at all: the text is guessed like undeclared text.
    **dict.fromkeys(("unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default",
                     "charset"), ()),
}
# Python text codecs that are not charsets a mail may name (or are slow or odd on hostile data).
_NOT_CHARSETS = {"idna", "punycode", "unicode_escape", "raw_unicode_escape", "undefined",
                 "mbcs", "oem"}
_LABEL_TOKEN = re.compile(r"[a-z0-9][a-z0-9_.:+-]*")

# What undeclared or misdeclared text is tried as. ISO-2022-JP is unambiguous (escape sequences
# in 7-bit text), UTF-8 almost so; the legacy double-byte charsets all decode each other's bytes
# now and then, so among them the most plausible result wins.
_LEGACY = ("cp932", "euc_jp", "gb18030")

# A well-formed UTF-8 sequence of three or four bytes: Japanese text in UTF-8 is made of these,
# legacy double-byte text seldom contains one at a character boundary.
_UTF8_LONG_SEQUENCE = re.compile(rb"[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
# A run of well-formed UTF-8 (the byte ranges of RFC 3629).
_UTF8_RUN = re.compile(
    rb"(?:[\x00-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]"
    rb"|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2})+")

# Plausibility of decoded text, for choosing among guesses. Kana and full-width forms are what
# Japanese text is made of; C1 controls, private-use characters and U+FFFD are what a wrong
# codec makes. Half-width katakana and rare ideographs are typical of Shift_JIS/EUC mixups.
_SCORE_CLASSES = (
    (re.compile("[\u3000-\u30ff\uff01-\uff5e]"), 2.0),
    (re.compile("[\u4e00-\u9fff]"), 1.0),
    (re.compile("[\u00c0-\u017f]"), 1.5),
    (re.compile("[\uff61-\uff9f]"), -1.0),
    (re.compile("[\u3400-\u4dbf\U00020000-\U0010ffff]"), -2.0),
    (re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ufffd]"), -5.0),
)
_SCORED_CHARS = 200_000  # a sample this long decides; scoring all of a huge body buys nothing


@dataclass(frozen=True)
class Decoded:
    text: str
    note: str | None  # set when the text was not simply read in the charset it declared


def decode_text(raw: bytes, label: str | None, *, final: bool = True, prefer_utf8: bool = False,
                mixed: bool = False) -> Decoded:
    """Decode `raw`, declared (or not) as charset `label`; never raises.

    final=False: `raw` was cut short, so an incomplete character at its end is dropped.
    prefer_utf8: the bytes are known to be UTF-8 whatever the label says (a pasted source).
    mixed: also try UTF-8 with runs of a legacy charset inside (seen in raw 8-bit Subjects).
    """
    shown_label = _shown(label)
    candidates, label_read_as = _codecs_for_label(label)
    if prefer_utf8 and not raw.isascii():
        text = _strict(raw, "utf-8", final)
        if text is not None:
            return Decoded(text, None)
    for index, codec in enumerate(candidates):
        text = _strict(raw, codec, final)
        if text is not None:
            if index:
                return Decoded(text, f"charset {shown_label} needed its superset {codec}")
            if label_read_as and label_read_as != label.strip().strip("\"'").lower():
                return Decoded(text, f"charset label {shown_label} read as {label_read_as}")
            return Decoded(text, None)
    text, guess = _guess(raw, final=final, mixed=mixed)
    if candidates:
        return Decoded(text, f"text is not valid {shown_label}; read as {guess}")
    if guess == "ascii":
        return Decoded(text, None)  # nothing needed guessing
    if label and label.strip():
        return Decoded(text, f"unknown charset {shown_label}; read as {guess}")
    return Decoded(text, f"undeclared 8-bit text read as {guess}")


_ENCODED_WORD = re.compile(rb"=\?([^?]*)\?([bBqQ])\?([^?]*)\?=")
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def decode_header(raw: bytes, *, final: bool = True) -> tuple[str, list[str]]:
    """A raw header value (or parameter) as text: unfolded, RFC 2047 encoded words decoded, raw
    8-bit bytes guessed. Returns the text and notes for `problems`; never raises."""
    raw = _LINE_BREAK.sub(b"", raw)
    pieces: list[list] = []  # [is_word, bytes, charset]
    notes: list[str] = []
    position = 0
    for match in _ENCODED_WORD.finditer(raw):
        between = raw[position:match.start()]
        position = match.end()
        # RFC 2047: white space between two encoded words is not part of the text.
        if between and not (between.isspace() and pieces and pieces[-1][0]):
            pieces.append([False, between, None])
        charset = match.group(1).split(b"*", 1)[0].decode("ascii", "replace")  # '*lang' suffix
        data = _decode_word(match.group(2), match.group(3))
        if data is None:
            notes.append("a broken encoded word was kept as it is")
            pieces.append([False, match.group(0), None])
        elif pieces and pieces[-1][0] and pieces[-1][2].lower() == charset.lower():
            # Words of one charset are joined first: senders split multibyte characters across them.
            pieces[-1][1] += data
        else:
            pieces.append([True, data, charset])
    if position < len(raw):
        pieces.append([False, raw[position:], None])
    texts = []
    for is_word, data, charset in pieces:
        if is_word:
            decoded = decode_text(data, charset, mixed=True)
        elif (utf8 := _strict(data, "utf-8", final)) is not None:
            decoded = Decoded(utf8, None)  # raw UTF-8 is allowed in headers (RFC 6532)
        else:
            decoded = decode_text(data, None, final=final, mixed=True)
        texts.append(decoded.text)
        if decoded.note:
            notes.append(decoded.note)
    return "".join(texts), notes


def _decode_word(encoding: bytes, text: bytes) -> bytes | None:
    if encoding in b"qQ":
        return binascii.a2b_qp(text, header=True)
    try:
        return binascii.a2b_base64(text + b"=" * (-len(text) % 4))
    except binascii.Error:
        return None


def _shown(label: str | None) -> str:
    return repr((label or "").strip()[:40])


def _codecs_for_label(label: str | None) -> tuple[tuple[str, ...], str]:
    """The codecs to try for a charset label, and the label as read ('' if none usable)."""
    if not label:
        return (), ""
    match = _LABEL_TOKEN.search(label.strip().lower())
    if not match:
        return (), ""
    token = match.group(0)
    key = token.replace("_", "-")
    if key in _LABELS:
        return _LABELS[key], token
    try:
        info = codecs.lookup(token)
    except LookupError:
        return (), ""
    if info.name.replace("-", "_") in _NOT_CHARSETS or not getattr(info, "_is_text_encoding", True):
        return (), ""
    return (info.name,), token


def _strict(raw: bytes, codec: str, final: bool) -> str | None:
    try:
        if codec == CP50220:
            return _decode_iso2022jp_as_cp932(raw, final)
        return codecs.getincrementaldecoder(codec)("strict").decode(raw, final)
    except (UnicodeError, LookupError):
        return None


def _guess(raw: bytes, *, final: bool, mixed: bool) -> tuple[str, str]:
    """Text and the charset it was read as."""
    if raw.isascii() and b"\x1b" not in raw:
        return raw.decode("ascii"), "ascii"
    if b"\x1b" in raw:
        for codec in _ISO2022JP:
            text = _strict(raw, codec, final)
            if text is not None:
                return text, "iso-2022-jp"
    text = _strict(raw, "utf-8", final)
    if text is not None:
        return text, "utf-8"
    candidates = []
    for codec in _LEGACY:
        text = _strict(raw, codec, final)
        if text is not None:
            candidates.append((text, codec))
    if mixed:
        for codec in _LEGACY:
            text = _decode_utf8_with_legacy_runs(raw, codec)
            if text is not None:
                candidates.append((text, f"utf-8 mixed with {codec}"))
    candidates.append((raw.decode("utf-8", "replace"), "utf-8 with replacement characters"))
    candidates.append((raw.decode("latin-1"), "latin-1"))
    # max() keeps the first of equals, so ties go to the order above.
    return max(candidates, key=lambda candidate: _plausibility(candidate[0]))


def _plausibility(text: str) -> float:
    sample = text[:_SCORED_CHARS]
    return sum(weight * len(pattern.findall(sample)) for pattern, weight in _SCORE_CLASSES)


def _decode_utf8_with_legacy_runs(raw: bytes, codec: str) -> str | None:
    """UTF-8 text with stretches in a double-byte legacy charset, or None if it is not that."""
    texts = []
    position = 0
    while position < len(raw):
        utf8 = _UTF8_RUN.match(raw, position)
        if utf8:
            texts.append(utf8.group().decode("utf-8"))
            position = utf8.end()
            continue
        # The legacy run goes pair by pair until ASCII, or UTF-8 again at a pair boundary.
        end = position
        while end < len(raw) and raw[end] >= 0x80 and not (
                end > position and _UTF8_LONG_SEQUENCE.match(raw, end)):
            end += 2
        try:
            texts.append(raw[position:end].decode(codec))
        except UnicodeDecodeError:
            return None
        position = end
    return "".join(texts)


def _jis_to_shift_jis_table() -> dict[bytes, bytes]:
    table = {}
    for first in range(0x21, 0x7F):
        lead = ((first - 0x21) >> 1) + 0x81
        if lead > 0x9F:
            lead += 0x40
        for second in range(0x21, 0x7F):
            if first & 1:
                trail = second + (0x1F if second < 0x60 else 0x20)
            else:
                trail = second + 0x7E
            table[bytes((first, second))] = bytes((lead, trail))
    return table


_JIS_TO_SJIS = _jis_to_shift_jis_table()
_ISO2022JP_SHIFT = re.compile(rb"(\x1b\([BJI]|\x1b\$[@B]|\x1b&@|[\x0e\x0f])")
_LINE_BREAK_KEPT = re.compile(rb"(\r?\n)")
_HALF_WIDTH_KANA = bytes.maketrans(bytes(range(0x21, 0x60)), bytes(range(0xA1, 0xE0)))


def _decode_iso2022jp_as_cp932(raw: bytes, final: bool) -> str:
    """ISO-2022-JP turned into Shift_JIS bytes and read as CP932, as Windows' CP50220 does."""
    out = bytearray()
    mode = b"\x1b(B"
    for index, piece in enumerate(_ISO2022JP_SHIFT.split(raw)):
        if index % 2:
            if piece != b"\x1b&@":  # '&@' only announces the 1990 revision of JIS X 0208
                mode = piece
            continue
        if mode in (b"\x1b$@", b"\x1b$B"):
            # Lenient: a line break inside double-byte mode counts as ASCII, as clients read it.
            lines = _LINE_BREAK_KEPT.split(piece)
            for line_index, line in enumerate(lines):
                if line_index % 2:
                    out += line
                    continue
                if len(line) % 2:
                    if final or line_index < len(lines) - 1:
                        raise UnicodeDecodeError("iso2022_jp", raw, 0, len(raw), "odd byte count")
                    line = line[:-1]
                try:
                    out += b"".join(_JIS_TO_SJIS[line[i:i + 2]] for i in range(0, len(line), 2))
                except KeyError:
                    raise UnicodeDecodeError("iso2022_jp", raw, 0, len(raw), "not JIS X 0208")
        elif not piece.isascii() or b"\x1b" in piece:
            raise UnicodeDecodeError("iso2022_jp", raw, 0, len(raw), "8-bit or unknown escape")
        elif mode in (b"\x1b(I", b"\x0e"):
            out += piece.translate(_HALF_WIDTH_KANA)
        else:
            out += piece
    return out.decode("cp932")
