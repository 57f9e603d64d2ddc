"""Impersonated brands: which brand a quoted mail claims to be, and what a host is to a brand.

Pure functions over a `BrandCatalogue` built from the Brand rows (incidents.models) or from
plain data in tests. Three questions:

- `brands_in_text(text)`: the brands whose aliases a text names. Text and aliases are compared
  folded: invisible characters removed (they split brand names: "Ama\u200bzon"), NFKC (full
  width), case-folded. ASCII aliases match as words ("Apple" not in "Pineapple"); others
  anywhere ("楽天市場", "【樂天】").
- `owner_of_host(host)`: the brand whose legitimate domain the host is, or is under
  (img.card.jp.rakuten-static.com is 楽天's: legitimate, used by the scam).
- `lookalike_of_host(host)`: the brand whose name a host carries although it is none of the
  brand's (grp01.id.rakuten.co.jp.baby). Only the labels before the public suffix count
  (example.com.au does not carry "au"), private suffixes included (bucket.s3.amazonaws.com is
  judged on "bucket"). Keywords of four characters or more match anywhere in those labels;
  shorter ones ("jcb", "nta", "au") only as a whole label or a part of one between hyphens,
  dots and digits, so "santa" does not carry "nta". Confusable letters (Cyrillic "а", Greek
  "ο") and digits used as letters ("amaz0n", "rakut3n") are read as the letters they imitate.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from incidents.hosts import normalize_host, registrable_domain, strip_invisible

SHORT_KEYWORD = 4  # keywords shorter than this match whole label parts only

# Letters of other scripts that render like Latin ones, and digits that stand in for letters.
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ո": "n", "ս": "u", "ց": "g",
    "α": "a", "ο": "o", "ν": "v", "ι": "i", "κ": "k", "τ": "t", "ρ": "p", "ɡ": "g", "ı": "i",
    "ⅼ": "l", "ℓ": "l",
})
_DIGITS_AS_LETTERS = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})
_LABEL_PARTS = re.compile(r"[a-z]+")


def fold(text: str) -> str:
    """The form texts and aliases are compared in."""
    return unicodedata.normalize("NFKC", strip_invisible(text)).casefold()


def _without_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class BrandEntry:
    id: int
    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()        # ASCII hosts; a host is the brand's when it is one or under one
    host_keywords: tuple[str, ...] = ()  # lower-case ASCII


@dataclass(frozen=True)
class BrandMention:
    brand_id: int
    count: int
    first: int  # offset of the first mention in the folded text


class BrandCatalogue:
    def __init__(self, entries: Iterable[BrandEntry]):
        self.entries = {entry.id: entry for entry in entries}
        self._alias_owner: dict[str, int] = {}
        for entry in sorted(self.entries.values(), key=lambda e: e.id):
            for alias in (entry.name, *entry.aliases):
                folded = fold(alias).strip()
                if folded:
                    self._alias_owner.setdefault(folded, entry.id)
        self._domain_owner: dict[str, int] = {}
        for entry in sorted(self.entries.values(), key=lambda e: e.id):
            for domain in entry.domains:
                self._domain_owner.setdefault(domain, entry.id)
        self._keywords = sorted(
            {(keyword, entry.id) for entry in self.entries.values() for keyword in entry.host_keywords if keyword},
            key=lambda pair: (-len(pair[0]), pair[1]),
        )

    @cached_property
    def _alias_pattern(self) -> re.Pattern[str] | None:
        if not self._alias_owner:
            return None
        ascii_aliases = [a for a in self._alias_owner if a.isascii()]
        other_aliases = [a for a in self._alias_owner if not a.isascii()]
        branches = []
        if ascii_aliases:
            words = "|".join(map(re.escape, sorted(ascii_aliases, key=lambda a: (-len(a), a))))
            branches.append(rf"(?<![a-z0-9])(?:{words})(?![a-z0-9])")
        if other_aliases:
            branches.append("|".join(map(re.escape, sorted(other_aliases, key=lambda a: (-len(a), a)))))
        return re.compile("|".join(branches))

    def brands_in_text(self, text: str) -> list[BrandMention]:
        """Brands named in text, most named first (ties: named earlier first)."""
        pattern = self._alias_pattern
        if pattern is None or not text:
            return []
        counts: Counter[int] = Counter()
        first: dict[int, int] = {}
        for match in pattern.finditer(fold(text)):
            brand_id = self._alias_owner[match.group()]
            counts[brand_id] += 1
            first.setdefault(brand_id, match.start())
        mentions = [BrandMention(b, n, first[b]) for b, n in counts.items()]
        return sorted(mentions, key=lambda m: (-m.count, m.first))

    def brand_of_text(self, text: str) -> int | None:
        mentions = self.brands_in_text(text)
        return mentions[0].brand_id if mentions else None

    def owner_of_host(self, host_ascii: str) -> int | None:
        """The brand whose legitimate domain host is, or is a subdomain of."""
        labels = host_ascii.split(".")
        for i in range(len(labels)):
            owner = self._domain_owner.get(".".join(labels[i:]))
            if owner is not None:
                return owner
        return None

    def lookalike_of_host(self, host_ascii: str) -> int | None:
        """The brand whose keyword the host's own labels carry, when it is not the brand's host."""
        if not self._keywords:
            return None
        owned = _owned_part(host_ascii)
        if not owned:
            return None
        plain = _without_marks(owned.translate(_CONFUSABLES))
        for skeleton in dict.fromkeys((plain, plain.translate(_DIGITS_AS_LETTERS))):
            parts = set(_LABEL_PARTS.findall(skeleton))
            for keyword, brand_id in self._keywords:
                if (keyword in skeleton) if len(keyword) >= SHORT_KEYWORD else (keyword in parts):
                    if self.owner_of_host(host_ascii) != brand_id:
                        return brand_id
        return None

    def assess_host(self, host_ascii: str) -> tuple[str | None, int | None]:
        """("legitimate", brand) for a brand's own host, ("lookalike", brand) for one carrying
        a brand's name, (None, None) otherwise."""
        owner = self.owner_of_host(host_ascii)
        if owner is not None:
            return "legitimate", owner
        lookalike = self.lookalike_of_host(host_ascii)
        if lookalike is not None:
            return "lookalike", lookalike
        return None, None


def _owned_part(host_ascii: str) -> str:
    """The labels the host's owner chose: everything before the public suffix, in Unicode."""
    host = normalize_host(host_ascii)
    if host is None or host.is_ip:
        return ""
    domain = registrable_domain(host.ascii)
    if domain is None:
        return ""  # only a public suffix (s3.amazonaws.com): nobody's own name
    suffix_labels = domain.count(".")  # labels of the suffix: the domain has one more
    unicode_labels = host.unicode.split(".")
    return ".".join(unicode_labels[: len(unicode_labels) - suffix_labels])


def clean_domain(raw: str) -> str | None:
    """An admin's domain line as stored: ASCII host, or None when it is not one."""
    host = normalize_host(raw.strip().removeprefix("*.").strip("."))
    if host is None or host.is_ip or "." not in host.ascii:
        return None
    return host.ascii


_KEYWORD = re.compile(r"[a-z0-9][a-z0-9-]*")


def clean_keyword(raw: str) -> str | None:
    keyword = fold(raw).strip()
    return keyword if _KEYWORD.fullmatch(keyword) else None


def lines_of(text: str) -> list[str]:
    """Non-empty stripped lines, in order, without repeats."""
    return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))
