"""Text as the search index sees it: folding, character bigrams, queries, highlighted snippets.

Pure functions, no Django and no database (forum.search_index writes what they produce,
forum.search runs the queries). Documents and queries go through the same `fold`, so what a
reader types and what a post holds meet in one form:

- NFKC, case folding and NFKC again (`ﾌｨｯｼﾝｸﾞ` is `フィッシング`, `ＡＭＡＺＯＮ` is `amazon`);
- invisible and formatting characters removed (phishers hide them inside brand names);
- defanging undone (`hxxps://evil[.]example` is `https://evil.example`), so a defanged or
  fanged URL finds the posts that quote it however they wrote it;
- every run of white space and control characters is one space.

Japanese has no spaces between words, so the index holds overlapping character bigrams of
the folded text ("口座番号" → 口座 座番 番号) and the last character of each space-separated
segment on its own (番号 → … 号), so that every character starts at least one token. A query
of two characters or more is then the phrase of its bigrams, which matches exactly where the
folded query is a substring of the folded document; a one-character query is a prefix query
(SQLite) or a unigram (PostgreSQL).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from incidents.defang import find_indicators
from incidents.hosts import refang

# Bump when `fold` or the segmentation changes: stored documents made by another version
# must be rebuilt (`manage.py rebuild_search_index`), since deleting an old FTS5 row needs
# the very tokens it was indexed with.
TEXT_VERSION = 1

# Queries longer than this (after folding) are refused with a message; so are more terms.
MAX_QUERY_CHARS = 200
MAX_TERMS = 10

# How much of a post is indexed: a tsvector holds at most 1 MB of lexemes, and a 10 MB quoted
# HTML mail is not what anyone searches for past its first pages. Both databases index the
# same prefix so that they answer alike.
MAX_INDEXED_CHARS = 300_000
MAX_LEXEME_BYTES = 900_000  # PostgreSQL's limit is 1,048,575 bytes of lexemes per tsvector

# Characters that `fold` never outputs: they separate the parts of a folded document and
# mark the index's own tokens, so that no query can ever match them by accident.
FIELD_SEPARATOR = "\x1f"
BOUNDARY_TOKEN = "\uffff"  # between two parts of a post in FTS5: no phrase runs across it
HEAD_MARK = "\ufffe"  # before title/subtitle tokens repeated for relevance ("\ufffe楽天")
META_MARK = "\uffff"  # before filter tokens ("\uffff_b1"); never a bare BOUNDARY_TOKEN
CUT_TOKEN = META_MARK + "_cut"  # PostgreSQL: a document whose trigrams did not all fit


# Format characters (Unicode 15.1's category Cf: soft hyphen, zero-width spaces and joiners,
# bidi controls, tags…) and variation selectors go; noncharacters U+FFFE/U+FFFF become spaces
# with the controls. Written out: scanning the Unicode tables at import takes half a second.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\ufe00-\ufe0f\U000e0100-\U000e01ef]+"
)
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\ufffe\uffff]+")
_SCHEME = re.compile(r"hxxps?:|fxp:", re.IGNORECASE | re.ASCII)  # as incidents.hosts.refang
_X_TO_T = str.maketrans("xX", "tT")
_DEFANG_TOKENS = {  # as incidents.hosts.refang; `fold_with_offsets` checks that both agree
    "[.]": ".", "(.)": ".", "{.}": ".", "[dot]": ".", "(dot)": ".",
    "[@]": "@", "(@)": "@", "[at]": "@",
    "[:]": ":", "[/]": "/",
}


def _fold_chars(text: str) -> str:
    text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text))
    return unicodedata.normalize("NFKC", text.casefold())


def fold(text: str) -> str:
    """The one form documents and queries are compared in (see the module's docstring)."""
    return _SPACES.sub(" ", refang(_fold_chars(text)))


def fold_with_offsets(text: str) -> tuple[str, list[int], list[int]] | None:
    """`fold(text)` with, for each character of it, the span [start, end) of `text` it comes
    from; None in the rare texts where folding piece by piece differs from folding the whole
    (Hangul jamo composing across characters, say): callers then show the text unmarked."""
    folded = fold(text)
    if folded == text:  # most Japanese lines: nothing to fold, every character maps to itself
        return folded, list(range(len(text))), list(range(1, len(text) + 1))
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    n = len(text)
    while i < n:
        piece, _ = _char_fold(text[i])
        j = i + 1
        # A base character and the marks that compose with it (ﾌﾟ → プ) fold together.
        while j < n and _char_fold(text[j])[1]:
            j += 1
        if j > i + 1:
            piece = _fold_chars(text[i:j])
        for ch in piece:
            chars.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    chars, starts, ends = _refang_with_offsets(chars, starts, ends)
    out_chars: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    for ch, start, end in zip(chars, starts, ends):
        if _SPACES.fullmatch(ch):
            if out_chars and out_chars[-1] == " ":
                out_ends[-1] = end
                continue
            ch = " "
        out_chars.append(ch)
        out_starts.append(start)
        out_ends.append(end)
    return ("".join(out_chars), out_starts, out_ends) if "".join(out_chars) == folded else None


@lru_cache(maxsize=65536)
def _char_fold(ch: str) -> tuple[str, bool]:
    """(the character folded alone, whether it composes with the character before it)."""
    decomposed = unicodedata.normalize("NFKD", ch)
    return _fold_chars(ch), bool(decomposed) and unicodedata.combining(decomposed[0]) != 0


def _refang_with_offsets(chars, starts, ends):
    out_chars, out_starts, out_ends = [], [], []
    for ch, start, end in zip(chars, starts, ends):
        out_chars.append(ch)
        out_starts.append(start)
        out_ends.append(end)
        if ch in "])}":
            for length in (3, 4, 5):
                value = _DEFANG_TOKENS.get("".join(out_chars[-length:]).lower())
                if value:
                    first = out_starts[-length]
                    del out_chars[-length:], out_starts[-length:], out_ends[-length:]
                    out_chars.append(value)
                    out_starts.append(first)
                    out_ends.append(end)
                    break
    text = _SCHEME.sub(lambda m: m[0].translate(_X_TO_T), "".join(out_chars))
    return list(text), out_starts, out_ends


# ---- documents -----------------------------------------------------------------------------


def segments(folded: str) -> list[str]:
    return [segment for segment in folded.split(" ") if segment]


def bigrams(segment: str) -> list[str]:
    return [segment[i:i + 2] for i in range(len(segment) - 1)]


def fts_tokens(folded_parts: list[str], marker: str = "") -> str:
    """Space-separated tokens for SQLite's FTS5 (`ascii` tokenizer: only spaces separate).

    Each segment gives its bigrams and its last character, each after `marker`; parts are
    kept apart by a token no query can contain, so that a phrase never runs from one part
    into the next."""
    tokens: list[str] = []
    for part in folded_parts:
        if tokens:
            tokens.append(BOUNDARY_TOKEN)
        for segment in segments(part):
            tokens.extend(marker + bigram for bigram in bigrams(segment))
            tokens.append(marker + segment[-1])
    return " ".join(tokens)


def trigrams(segment: str) -> list[str]:
    return [segment[i:i + 3] for i in range(len(segment) - 2)]


def lexemes(folded_parts: list[str], marker: str = "") -> set[str]:
    """Distinct bigrams and characters for PostgreSQL's tsvector (no positions: a phrase is
    checked against the folded text instead, which has no 16,383-position limit)."""
    out: set[str] = set()
    for part in folded_parts:
        for segment in segments(part):
            out.update(bigrams(segment))
            out.update(segment)
    return {marker + lexeme for lexeme in out} if marker else out


def lexeme_bytes(lexemes: set[str]) -> int:
    """What a tsvector spends on these lexemes: their UTF-8 and an entry of 4 bytes each."""
    return sum(len(lexeme.encode()) + 4 for lexeme in lexemes)


def trigram_lexemes(folded_parts: list[str], marker: str = "", budget: int | None = None) -> tuple[set[str], bool]:
    """Distinct trigrams, in the order of the text, while their bytes fit in `budget`; and
    whether they all did.

    With trigrams a term of three characters or more is found by its own trigrams: exactly
    (three characters) or nearly (more), where its bigrams alone match every post that holds
    them apart, and a rare phrase made of common bigrams had to be checked in thousands of
    posts. A text whose trigrams would overflow its tsvector keeps those of its beginning and
    is marked CUT_TOKEN, and queries find it by its bigrams as before."""
    out: set[str] = set()
    spent = 0
    for part in folded_parts:
        for segment in segments(part):
            for trigram in trigrams(segment):
                lexeme = marker + trigram
                if lexeme in out:
                    continue
                if budget is not None:
                    spent += len(lexeme.encode()) + 4
                    if spent > budget:
                        return out, False
                out.add(lexeme)
    return out, True


def cap_indexed(folded: str) -> str:
    """The prefix of a folded text that is indexed (see MAX_INDEXED_CHARS and docs/search.md).

    Cut further when the distinct lexemes would overflow a tsvector; only text made to do
    that (hundreds of thousands of distinct characters) comes near."""
    folded = folded[:MAX_INDEXED_CHARS]
    if len(folded.encode()) * 3 < MAX_LEXEME_BYTES:  # each character is in at most 3 lexemes
        return folded
    seen: set[str] = set()
    size = 0
    for i in range(len(folded)):
        for lexeme in (folded[i], folded[i:i + 2]):
            if lexeme not in seen:
                seen.add(lexeme)
                size += len(lexeme.encode()) + 1
        if size > MAX_LEXEME_BYTES:
            return folded[:i]
    return folded


# ---- queries -------------------------------------------------------------------------------

# A term is a quoted phrase (an unclosed quote runs to the end) or a run of non-space
# characters; quotes inside a word are part of it.
_TERM = re.compile(r'"([^"]*)(?:"|$)|([^\s"]\S*)')


@dataclass(frozen=True)
class Term:
    """One folded term of a query: every result contains it as a substring."""

    text: str

    @property
    def single_character(self) -> bool:
        return len(self.text) == 1

    @property
    def needs_check(self) -> bool:
        """Whether bigrams alone can match where the term is not (PostgreSQL has no
        positions, so "abc" also matches a post holding "ab" and "bc" apart)."""
        return len(self.text) > 2 or " " in self.text

    def fts_phrase(self, marker: str = "") -> str:
        """The term as an FTS5 phrase of its tokens: bigrams in order, each inner segment's
        last character, and the last segment's bigrams (or that one character, as a prefix)."""
        parts = segments(self.text)
        tokens: list[str] = []
        for segment in parts[:-1]:
            tokens.extend(bigrams(segment))
            tokens.append(segment[-1])
        last = parts[-1]
        if len(last) == 1:
            tokens.append(last)
            return _fts_string([marker + t for t in tokens]) + " *"
        tokens.extend(bigrams(last))
        return _fts_string([marker + t for t in tokens])

    def query_lexemes(self, marker: str = "") -> set[str]:
        """The lexemes a PostgreSQL document must hold: the bigrams of each segment, or the
        character of a one-character segment."""
        out: set[str] = set()
        for segment in segments(self.text):
            out.update(bigrams(segment) if len(segment) > 1 else [segment])
        return {marker + lexeme for lexeme in out}

    def trigram_lexemes(self, marker: str = "") -> set[str] | None:
        """The same with the trigrams of segments of three characters or more (None when it
        has none): what a document whose trigrams were all indexed must hold."""
        parts = segments(self.text)
        if all(len(segment) < 3 for segment in parts):
            return None
        out: set[str] = set()
        for segment in parts:
            out.update(trigrams(segment) if len(segment) > 2 else bigrams(segment) if len(segment) > 1 else [segment])
        return {marker + lexeme for lexeme in out}


def _fts_string(tokens: list[str]) -> str:
    return '"' + " ".join(tokens).replace('"', '""') + '"'


@dataclass(frozen=True)
class ParsedQuery:
    terms: tuple[Term, ...] = ()
    error: str | None = None  # a message for the reader when the query is refused
    folded_length: int = 0

    @property
    def empty(self) -> bool:
        return not self.terms

    @property
    def single_character(self) -> bool:
        """Only one-character terms: no relevance order, counted approximately."""
        return bool(self.terms) and all(term.single_character for term in self.terms)


class QueryTooLong(ValueError):
    pass


def parse_query(raw: str) -> ParsedQuery:
    """Terms of a query: words and "quoted phrases", each folded; all must match.

    Any text is accepted (FTS syntax such as `NEAR`, `*`, `:` or quotes means nothing here:
    it is searched for as written); only length and the number of terms are limited."""
    folded = fold(raw).strip()
    if len(folded) > MAX_QUERY_CHARS:
        raise QueryTooLong(f"at most {MAX_QUERY_CHARS} characters")
    texts: list[str] = []
    for match in _TERM.finditer(folded):
        text = (match[1] if match[1] is not None else match[2]).strip()
        if text and text not in texts:
            texts.append(text)
    # A term inside another adds nothing ("楽天 楽天市場" is "楽天市場").
    texts = [t for t in texts if not any(t != other and t in other for other in texts)]
    if len(texts) > MAX_TERMS:
        raise QueryTooLong(f"at most {MAX_TERMS} words")
    return ParsedQuery(tuple(Term(t) for t in texts), folded_length=len(folded))


# ---- snippets ------------------------------------------------------------------------------

SNIPPET_BEFORE = 40
SNIPPET_AFTER = 110
_INDICATOR_CONTEXT = 400  # how far around a snippet indicators (URLs, addresses) are looked for


@dataclass
class Snippet:
    """Where the first match is in a text, as HTML: escaped, indicators defanged, matches
    in <mark>. Built only by `snippet_html`; never holds raw text."""

    html: str
    matched: bool = field(default=True)


def find_matches(folded: str, terms) -> list[tuple[int, int]]:
    """Non-overlapping [start, end) of every occurrence of any term in a folded text."""
    spans = []
    for term in terms:
        start = folded.find(term.text)
        while start >= 0:
            spans.append((start, start + len(term.text)))
            start = folded.find(term.text, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def highlight_html(text: str, terms) -> str:
    """A short text (a title) escaped, with every match of the terms in <mark>."""
    return _marked_html(text, _original_matches(text, terms), defang=False)


def snippet_html(texts: list[str], terms, length: int = SNIPPET_BEFORE + SNIPPET_AFTER) -> Snippet:
    """A snippet of the first text that contains a match (or the start of the first text)."""
    for text in texts:
        if not text or not any(term.text in fold(text) for term in terms):
            continue
        first = _first_match(text, terms)
        if first is None:
            continue
        start = max(0, first - SNIPPET_BEFORE)
        end = min(len(text), start + length)
        # Map only the stretch around the window: folding with offsets is slow on long quotes.
        region_start = max(0, start - 20)
        region = text[region_start:min(len(text), end + 20)]
        spans = [(s + region_start, e + region_start) for s, e in _original_matches(region, terms)]
        return Snippet(_window_html(text, start, end, spans), matched=True)
    first_text = next((t for t in texts if t.strip()), "")
    return Snippet(_window_html(first_text, 0, min(len(first_text), length), []), matched=False)


def _first_match(text: str, terms) -> int | None:
    """Where in `text` the first match starts: looked for line by line (a phrase that runs
    over a line break is looked for in the whole text)."""
    offset = 0
    for line in text.split("\n"):
        if any(term.text in fold(line) for term in terms):
            spans = _original_matches(line, terms)
            if spans:
                return offset + spans[0][0]
        offset += len(line) + 1
    spans = _original_matches(text, terms)
    return spans[0][0] if spans else None


def _original_matches(text: str, terms) -> list[tuple[int, int]]:
    """Matches of the terms in `text`, as spans of the original (unfolded) text."""
    mapped = fold_with_offsets(text)
    if mapped is None:
        return []
    folded, starts, ends = mapped
    return [(starts[s], ends[e - 1]) for s, e in find_matches(folded, terms)]


def _window_html(text: str, start: int, end: int, spans) -> str:
    # Indicators are found in a wider stretch, so that a URL cut by the window is still
    # recognised, and shown whole (defanged) when it reaches into the window.
    outer_start = max(0, start - _INDICATOR_CONTEXT)
    outer_end = min(len(text), end + _INDICATOR_CONTEXT)
    indicators = [
        (s.start + outer_start, s.end + outer_start, s)
        for s in find_indicators(text[outer_start:outer_end])
        if not s.nested and s.end + outer_start > start and s.start + outer_start < end
    ]
    for s_start, s_end, _span in indicators:
        start, end = min(start, s_start), max(end, s_end)
    body = _marked_html(text, [(s, e) for s, e in spans if e > start and s < end], defang=True,
                        window=(start, end), indicators=indicators)
    before = "…" if start > 0 else ""
    after = "…" if end < len(text) else ""
    return before + body + after


def _marked_html(text: str, spans, *, defang: bool, window=None, indicators=()) -> str:
    """Escaped text of the window with <mark> around spans; indicators replaced whole by
    their defanged form (marked when a match touches them). Line breaks become spaces."""
    start, end = window if window else (0, len(text))
    pieces: list[str] = []
    position = start
    boundaries = sorted(
        [(s, e, None) for s, e in spans] + [(s, e, span) for s, e, span in indicators],
        key=lambda item: (item[0], item[2] is None),
    )
    # Indicators win over plain matches that overlap them: the indicator is shown whole.
    for s, e, indicator in _without_overlaps(boundaries):
        s, e = max(s, start), min(e, end) if indicator is None else e
        if s > position:
            pieces.append(_plain(text[position:s]))
        if indicator is not None:
            touched = any(ms < e and me > s for ms, me in spans)
            shown = _plain(indicator.defanged if indicator.kind != "redacted" else indicator.raw)
            css = "ioc" if indicator.kind != "redacted" else "redacted"
            inner = f'<span class="{css}">{shown}</span>'
            pieces.append(f"<mark>{inner}</mark>" if touched else inner)
        else:
            pieces.append(f"<mark>{_plain(text[s:e])}</mark>")
        position = max(position, e)
    if position < end:
        pieces.append(_plain(text[position:end]))
    return "".join(pieces)


def _without_overlaps(items):
    kept = []
    for item in items:
        if kept and item[0] < kept[-1][1]:
            previous = kept[-1]
            if item[2] is not None and previous[2] is None:
                kept[-1] = item  # the indicator replaces the match that started inside it
            continue
        kept.append(item)
    return kept


def _plain(text: str) -> str:
    return html.escape(_SPACES.sub(" ", text))
