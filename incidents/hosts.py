"""Normalisation of the indicators quoted in fraud reports: hosts, URLs, mail addresses.

Pure functions, no Django. Every input may be hostile: each function accepts any str,
never raises, runs in linear time, and answers None for what is not a plausible indicator.
The values returned are fanged (real) and are what gets stored and searched; display goes
through incidents.defang.
"""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import idna
import tldextract

# Zero-width and formatting characters that phishers put inside brand names.
INVISIBLE_CHARACTERS = "".join(
    map(chr, [0x00AD, 0xFEFF, *range(0x200B, 0x2010), *range(0x2060, 0x2065), *range(0xFE00, 0xFE10)])
)
_INVISIBLE = re.compile(f"[{INVISIBLE_CHARACTERS}]")  # re.sub is ten times faster than str.translate here

_DEFANG_TOKENS = {
    "[.]": ".", "(.)": ".", "{.}": ".", "[dot]": ".", "(dot)": ".",
    "[@]": "@", "(@)": "@", "[at]": "@",
    "[:]": ":", "[/]": "/",
}
# re.ASCII keeps case-insensitivity to ASCII: no U+017F matching "s".
_DEFANG_TOKEN = re.compile("|".join(map(re.escape, _DEFANG_TOKENS)), re.IGNORECASE | re.ASCII)
_DEFANGED_SCHEME = re.compile(r"hxxps?:|fxp:", re.IGNORECASE | re.ASCII)
_X_TO_T = str.maketrans("xX", "tT")

# Longer raw input cannot be a host (253 characters) even with generous padding.
_MAX_HOST_INPUT = 1024
_MAX_EMAIL_INPUT = 1024
# Browsers accept "_" and edge hyphens in ASCII labels (WHATWG URL, not IDNA2008), so do we.
_ASCII_LABEL = re.compile(r"[a-z0-9_-]{1,63}")
_IPV4_DIGITS = {16: re.compile(r"[0-9a-f]*"), 8: re.compile(r"[0-7]*"), 10: re.compile(r"[0-9]+")}

_URL_HEAD = re.compile(r"([A-Za-zＡ-Ｚａ-ｚ]{3,5})[:：][/／]{2}")
_SCHEMES = {"http": "http", "https": "https", "ftp": "ftp", "hxxp": "http", "hxxps": "https", "fxp": "ftp"}
_AUTHORITY_END = re.compile(r"[/?#\\／？＃＼]")
_FULLWIDTH_DELIMITERS = str.maketrans("／？＃＼", "/?#\\")
_NOT_IN_AUTHORITY = re.compile(r"[/?#\\\s\x00-\x1f\x7f]")
_PORT = re.compile(r":[0-9]{0,5}")

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")


@dataclass(frozen=True)
class Host:
    ascii: str  # punycode, lower case: what we store
    unicode: str  # display form
    is_ip: bool
    ip_version: int | None


@dataclass(frozen=True)
class Url:
    url: str  # canonical fanged form: what we store
    scheme: str
    userinfo: str | None
    host: Host
    port: int | None
    rest: str  # path, query and fragment as written (refanged, invisible characters removed)


def strip_invisible(s: str) -> str:
    """Remove zero-width and formatting characters that hide inside brand names."""
    return _INVISIBLE.sub("", s)


def refang(s: str) -> str:
    """Undo common defanging ("hxxps", "[.]", "[at]", ...) so pasted indicators work.

    Nested forms such as "[[.]]" are undone completely, so refang(refang(s)) == refang(s).
    Schemes keep their case ("HXXPS:" gives "HTTPS:"); normalize_url lower-cases them.
    """
    if _DEFANG_TOKEN.search(s):
        s = _fold_defang_tokens(s)
    return _DEFANGED_SCHEME.sub(lambda m: m[0].translate(_X_TO_T), s)


def _fold_defang_tokens(s: str) -> str:
    # One pass with a stack instead of repeated re.sub: "[" * n + "." + "]" * n would
    # otherwise need n passes. Tokens cannot overlap (their brackets are never inside
    # one), so this reaches the same result as any other order of replacement.
    out: list[str] = []
    for ch in s:
        out.append(ch)
        if ch in "])}":
            for length in (3, 4, 5):
                value = _DEFANG_TOKENS.get("".join(out[-length:]).lower())
                if value:
                    del out[-length:]
                    out.append(value)
                    break
    return "".join(out)


def normalize_host(raw: str) -> Host | None:
    """Canonical host (IDNA UTS-46, IPv4/IPv6 literal) or None if not a plausible host."""
    prepared = _prepare_host(raw)
    if not prepared or len(prepared) > _MAX_HOST_INPUT:
        return None
    return _normalize_prepared_host(prepared)


def _prepare_host(raw: str) -> str:
    # Invisible characters go first so that they cannot block NFKC composition. NFKC turns
    # the full-width and half-width full stops into "." and U+3002, which is left.
    text = unicodedata.normalize("NFKC", strip_invisible(raw))
    return text.replace("\u3002", ".").strip().lower()


@lru_cache(maxsize=4096)  # mail bodies repeat the same few hosts many times
def _normalize_prepared_host(s: str) -> Host | None:
    if s.startswith("[") and s.endswith("]"):
        return _ipv6_host(s[1:-1])
    if ":" in s:
        return _ipv6_host(s)
    pairs = [_idna_label(label) for label in s.removesuffix(".").split(".")]
    if None in pairs:
        return None
    ascii_labels, unicode_labels = zip(*pairs)
    # After the mapping, as in WHATWG URL: "0\u034f" is the number 0.
    if _ends_in_number(ascii_labels[-1]):
        return _ipv4_host(ascii_labels)
    ascii_host = ".".join(ascii_labels)
    if len(ascii_host) > 253:
        return None
    return Host(ascii_host, ".".join(unicode_labels), is_ip=False, ip_version=None)


def _ipv6_host(s: str) -> Host | None:
    if "%" in s:  # zone identifiers name an interface of the reader's machine, not a host
        return None
    try:
        address = ipaddress.IPv6Address(s)
    except ValueError:
        return None
    return Host(address.compressed, address.compressed, is_ip=True, ip_version=6)


def _ends_in_number(label: str) -> bool:
    # WHATWG URL: a host whose last label is numeric is an IPv4 address or invalid, which is
    # how browsers read "http://3232235777/" and "http://0x7f.1/".
    return bool(_IPV4_DIGITS[10].fullmatch(label)) or _ipv4_number(label) is not None


def _ipv4_number(part: str) -> int | None:
    if part.startswith("0x"):
        base, digits = 16, part[2:]
    elif len(part) > 1 and part.startswith("0"):
        base, digits = 8, part[1:]
    else:
        base, digits = 10, part
    if not _IPV4_DIGITS[base].fullmatch(digits):
        return None
    return int(digits, base) if digits else 0


def _ipv4_host(labels: tuple[str, ...]) -> Host | None:
    if len(labels) > 4:
        return None
    numbers = [_ipv4_number(label) for label in labels]
    if None in numbers or any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        return None
    value = numbers[-1] + sum(n << (8 * (3 - i)) for i, n in enumerate(numbers[:-1]))
    address = str(ipaddress.IPv4Address(value))
    return Host(address, address, is_ip=True, ip_version=4)


def _idna_label(label: str) -> tuple[str, str] | None:
    """(A-label, U-label) for one label, or None."""
    if label.isascii():
        if not _ASCII_LABEL.fullmatch(label):
            return None
        if label.startswith("xn--"):
            ulabel = _decode_alabel(label)
            return None if ulabel is None else (label, ulabel)
        return label, label
    try:
        alabel = idna.encode(label, uts46=True).decode("ascii")
    except UnicodeError:
        alabel = _lenient_alabel(label)
    if alabel is None or not _ASCII_LABEL.fullmatch(alabel):
        return None
    ulabel = _decode_alabel(alabel) if alabel.startswith("xn--") else alabel
    return None if ulabel is None else (alabel, ulabel)


def _lenient_alabel(label: str) -> str | None:
    # IDNA2008 refuses "_" and symbols such as emoji that browsers still resolve: they
    # apply UTS-46 without its IDNA2008 checks (WHATWG URL). Map and encode the same way.
    try:
        mapped = idna.uts46_remap(label, std3_rules=False)
    except UnicodeError:
        return None
    return mapped if mapped.isascii() else "xn--" + mapped.encode("punycode").decode("ascii")


def _decode_alabel(alabel: str) -> str | None:
    # The punycode codec raises OverflowError on long runs of digits ("xn--9999...9a").
    try:
        return idna.decode(alabel)
    except (UnicodeError, OverflowError):
        pass
    try:
        ulabel = alabel[4:].encode("ascii").decode("punycode")
    except (UnicodeError, OverflowError):
        return None
    # Accept only what the lenient encoding would have produced, so both forms agree.
    return ulabel if _lenient_alabel(ulabel) == alabel else None


def _make_suffix_extractor() -> tldextract.TLDExtract:
    # suffix_list_urls=() and no cache: the Public Suffix List snapshot bundled with
    # tldextract is read from the package, never fetched or written at run time.
    # Private domains are included, so evil.web.app and other.web.app are different owners
    # (Firebase hands out each *.web.app name to a different customer).
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


_SUFFIX_EXTRACTOR = _make_suffix_extractor()


def registrable_domain(host_ascii: str, *, include_private: bool = True) -> str | None:
    """The registrable domain (public suffix plus one label) of a host, per the bundled PSL.

    None for IP literals and for hosts that are only a public suffix. With
    include_private=False only the ICANN section counts (evil.web.app -> web.app).
    """
    host = normalize_host(host_ascii)
    if host is None or host.is_ip:
        return None
    return _registrable_domain(host.ascii, include_private)


@lru_cache(maxsize=4096)
def _registrable_domain(host_ascii: str, include_private: bool) -> str | None:
    parts = _SUFFIX_EXTRACTOR.extract_str(host_ascii, include_psl_private_domains=include_private)
    return parts.top_domain_under_public_suffix or None


def normalize_url(raw: str) -> Url | None:
    """Canonical fanged URL (http, https, ftp or a bare "www." name) or None.

    Defanging is undone on the whole input, so a defanged path ("/login[.]php") comes back
    too. Only the scheme and the authority go through NFKC; the scheme and the host are
    lower-cased; userinfo, port and path/query/fragment stay as written (the port is kept
    even when it is the default, written as a decimal number).
    """
    s = refang(strip_invisible(raw)).strip()
    head = _URL_HEAD.match(s)
    if head:
        scheme = _SCHEMES.get(unicodedata.normalize("NFKC", head[1]).lower())
        after = s[head.end():]
    else:
        www = unicodedata.normalize("NFKC", s[:4]).lower().replace("\u3002", ".")
        scheme = "http" if www == "www." else None
        after = s
    if scheme is None:
        return None
    end = _AUTHORITY_END.search(after)
    split = end.start() if end else len(after)
    # NFKC can turn full-width brackets into defanging tokens, hence the second refang.
    authority = refang(unicodedata.normalize("NFKC", after[:split]))
    rest = after[split:split + 1].translate(_FULLWIDTH_DELIMITERS) + after[split + 1:]
    if _NOT_IN_AUTHORITY.search(authority):
        return None
    userinfo, _, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        close = hostport.find("]") + 1
        if not close:
            return None
        host_raw, port_raw = hostport[:close], hostport[close:]
    else:
        host_raw, colon, port_raw = hostport.partition(":")
        port_raw = colon + port_raw
    if port_raw and not _PORT.fullmatch(port_raw):
        return None
    port = int(port_raw[1:]) if len(port_raw) > 1 else None
    host = normalize_host(host_raw)
    if host is None or (port is not None and port > 65535):
        return None
    url_host = f"[{host.ascii}]" if host.ip_version == 6 else host.ascii
    url = "".join((
        f"{scheme}://",
        f"{userinfo}@" if userinfo else "",
        url_host,
        f":{port}" if port is not None else "",
        rest,
    ))
    return Url(url, scheme, userinfo or None, host, port, rest)


def normalize_email(raw: str) -> str | None:
    """Canonical address (lower-case, ASCII domain) or None if not a plausible address.

    Only dot-atom ASCII local parts count: quoted and internationalised local parts do not
    occur in the mails we quote and would widen what a search matches.
    """
    if len(raw) > _MAX_EMAIL_INPUT:
        return None
    s = refang(unicodedata.normalize("NFKC", strip_invisible(raw))).strip()
    local, at, domain = s.rpartition("@")
    if not at or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        return None
    host = normalize_host(domain)
    if host is None or host.is_ip or "." not in host.ascii:
        return None
    address = f"{local.lower()}@{host.ascii}"
    return address if len(address) <= 254 else None
