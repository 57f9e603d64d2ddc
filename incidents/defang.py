"""Display of quoted scam material: indicators found in text and shown defanged.

Quoted scam material is evidence, never a weapon: nothing here makes a link, every URL is
shown as hxxp(s)://host[.]name/..., and defang_text_html is the only escaping step between
a stored body and the page.

Decisions:
- find_indicators returns one flat list sorted by position; top-level spans never overlap.
  A mail address in the query string or fragment of a URL is reported too, as a span with
  nested=True inside that URL's span: it is an indicator of its own, but the display keeps
  the URL whole, so defang_text_html renders only spans with nested=False. An "@" in a
  URL's path ("logo@2x.png") is part of the URL, never an address.
- A URL ends at whitespace, at < > " ' `, at a non-ASCII character after the host, and
  at Japanese text glued to the host ("example.comこちら", "example.com。次"); trailing
  .,;:!? and unbalanced closing brackets are not part of it.
- An IDN is shown in Unicode, followed by the whole URL (or host) again with its xn-- form,
  so that a homograph ("rаkuten" with a Cyrillic а) cannot pass for the real name.
- Hosts written without a scheme are reported only if they end in a public suffix of the
  PSL's ICANN section with a label before it (or are a canonical dotted-quad IPv4); if
  their last label has a capital, the whole name must be in capitals ("Word.Document" and
  "Co.LTD" are not hosts, "Amazon.co.jp" and "G2A.COM" are); and they are written in
  ASCII, full width or a non-CJK script: Japanese text glues onto them too often for an IDN
  in kana or kanji to be told apart from prose ("ありがとう。みんな"). Such IDNs are found
  in URLs and in their xn-- form. IPv6 literals are found only inside URLs.
- The redaction placeholder (x-only local part at xxxx.name, and xxxx.name itself) is
  kind "redacted" and shown as written, never as an indicator.
"""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from incidents.hosts import (
    INVISIBLE_CHARACTERS,
    Host,
    Url,
    normalize_email,
    normalize_host,
    normalize_url,
    refang,
    registrable_domain,
    strip_invisible,
)

_CJK = "\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af"
_INVISIBLE = INVISIBLE_CHARACTERS
_ASCII_LIKE = "A-Za-z0-9_\\-０-９Ａ-Ｚａ-ｚ－"
_DOT = r"(?:[.。｡．]|(?i:\[(?:\.|dot)\]|\((?:\.|dot)\))|\{\.\})"

# A label written without a scheme: letters and digits of any script but the CJK ones.
_LABEL = rf"(?:(?![{_CJK}])[^\W_]|[\-－{_INVISIBLE}])++"
# The look-behind keeps matches from starting inside a word or a longer name, so every
# position is tried at most once: linear time.
_BARE_HOST = re.compile(
    rf"(?<!(?![{_CJK}])[^\W_]|[_\-－.。｡．@＠/\\%{_INVISIBLE}]){_LABEL}(?:{_DOT}{_LABEL})++"
)

# Case variants are spelt out rather than (?i:...): that, the look-behind placed after "www"
# and the look-ahead on the first letter let the regex engine skip ahead to candidates fast.
_SCHEME = r"[hHｈＨ](?:[tTｔＴ]{2}|[xXｘＸ]{2})[pPｐＰ][sSｓＳ]?|[fFｆＦ][tTｔＴxXｘＸ][pPｐＰ]"
_WWW = rf"[wWｗＷ]{{3}}(?<![A-Za-z0-9_\-.@/\\][wWｗＷ]{{3}}){_DOT}"
# The authority may hold IDN letters, defanging tokens and IPv6 brackets; the path only
# printable ASCII, so Japanese text glued after a path ends the URL.
_AUTHORITY_PART = (
    rf"(?:[\w\-－.。｡．:：@＠%~{_INVISIBLE}]++|(?i:\[(?:\.|dot|@|at|:)\]|\((?:\.|dot|@)\))|\{{\.\}}"
    rf"|\[[0-9A-Fa-f:.]+\])"
)
_PATH_CHAR = rf"[!#-&(-;=?-_a-~{_INVISIBLE}]"  # printable ASCII but space " ' < > `
_URL = re.compile(
    rf"(?=[hHｈＨfFｆＦwWｗＷ])(?:(?P<scheme>{_SCHEME})(?:[:：]|\[:\])(?:[/／]|\[/\]){{2}}|{_WWW})"
    rf"(?P<authority>{_AUTHORITY_PART}*){_PATH_CHAR}*"
)
# Japanese text glued to a host: an ASCII label running into kana/kanji ("example.comこちら")
# or a Japanese full stop after an ASCII label ("example.com。こちら").
_GLUED = re.compile(rf"[{_ASCII_LIKE}][{_INVISIBLE}]*(?:(?P<dot>[。｡．])[{_INVISIBLE}]*)?(?=[{_CJK}])")
_QUERY_OR_FRAGMENT = re.compile(r"[?#]")
_TRAILING_PUNCTUATION = ".,;:!?。｡．"
_OPENER = {")": "(", "]": "[", "}": "{"}

_LOCAL_CHAR = rf"[A-Za-z0-9._+\-０-９Ａ-Ｚａ-ｚ{_INVISIBLE}]"
# The look-behind starts a local part only where a run of its characters starts and the
# possessive bound (64 characters, with room for invisible ones) scans each run once.
_EMAIL = re.compile(
    rf"(?<!{_LOCAL_CHAR}){_LOCAL_CHAR}{{1,256}}+(?:@|＠|%40|(?i:\[(?:@|at)\]|\(@\)))"
    rf"{_LABEL}(?:{_DOT}{_LABEL})++"
)
_REDACTED_LOCAL = re.compile(r"x+")
_REDACTED_DOMAIN = "xxxx.name"

_DEFANGED_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}
_FANGED_SCHEME = re.compile(r"https?:|ftp:", re.IGNORECASE | re.ASCII)
_T_TO_X = str.maketrans("tT", "xX")


@dataclass(frozen=True)
class Defanged:
    text: str  # display form, Unicode host
    punycode: str | None  # the whole URL again with the xn-- host, when the host is an IDN


@dataclass(frozen=True)
class Span:
    start: int  # offsets into the original text
    end: int
    kind: str  # "url", "email", "host" or "redacted"
    raw: str  # text[start:end]
    value: Url | Host | str  # normalised, fanged
    defanged: str  # display text
    punycode: str | None = None  # display text with the xn-- host, when it differs
    nested: bool = False  # an address in the query or fragment of the URL span around it


def defang_host(host: Host, *, punycode: bool = False) -> str:
    """Display form of a host with every dot as "[.]"; IPv6 in brackets."""
    if host.ip_version == 6:
        return f"[{host.ascii}]"
    return (host.ascii if punycode else host.unicode).replace(".", "[.]")


def defang_url(url: Url) -> Defanged:
    """hxxp/hxxps/fxp, host dots as "[.]", "@" and dots of userinfo as "[@]"/"[.]".

    The port and the path/query/fragment stay as written, except that URLs quoted inside
    them ("?u=https://...") get their scheme defanged too. refang() undoes all of it.
    """
    text = _assemble_defanged(url, defang_host(url.host))
    if url.host.unicode == url.host.ascii:
        return Defanged(text, None)
    return Defanged(text, _assemble_defanged(url, defang_host(url.host, punycode=True)))


def _assemble_defanged(url: Url, host: str) -> str:
    # Dots of the userinfo too: "https://www.rakuten.co.jp@evil.example/" must not leave a
    # name that other tools would turn into a link.
    userinfo = "" if url.userinfo is None else url.userinfo.replace(".", "[.]").replace("@", "[@]") + "[@]"
    port = "" if url.port is None else f":{url.port}"
    rest = _FANGED_SCHEME.sub(lambda m: m[0].translate(_T_TO_X), url.rest)
    return f"{_DEFANGED_SCHEMES[url.scheme]}://{userinfo}{host}{port}{rest}"


def defang_email(addr: str) -> str:
    """user[@]example[.]com (dots of the local part stay: they name no host)."""
    local, at, domain = addr.rpartition("@")
    return f"{local}[@]{domain.replace('.', '[.]')}" if at else addr.replace(".", "[.]")


def find_indicators(text: str) -> list[Span]:
    """URLs, mail addresses, bare hosts and redaction placeholders in text, by position."""
    urls = _find_urls(text)
    url_spans = [span for span, _ in urls]
    emails = _find_emails(text, urls)
    occupied = sorted((span.start, span.end) for span in url_spans + emails if not span.nested)
    hosts = _find_hosts(text, occupied)
    return sorted(url_spans + emails + hosts, key=lambda span: (span.start, span.nested))


def _find_urls(text: str) -> list[tuple[Span, int | None]]:
    """URL spans, each with where its query or fragment starts (None without either)."""
    found = []
    position = 0
    rescanned_until = 0
    while match := _URL.search(text, position):
        start = match.start()
        authority_start, authority_end = match.span("authority")
        glued = _GLUED.search(text, authority_start if match["scheme"] else start, authority_end)
        end = match.end() if glued is None else glued.start("dot") if glued["dot"] else glued.end()
        end = _trim_url_end(text, start, end)
        url = normalize_url(text[start:end])
        if url is None:
            # Look again inside a rejected candidate ("http://[bad/https://real.example/"),
            # but only once, so that nested failures cannot make the scan quadratic.
            if start < rescanned_until:
                position = match.end()
            else:
                position, rescanned_until = authority_start, match.end()
            continue
        defanged = defang_url(url)
        span = Span(start, end, "url", text[start:end], url, defanged.text, defanged.punycode)
        query = _QUERY_OR_FRAGMENT.search(text, authority_end, end)
        found.append((span, None if query is None else query.end()))
        position = end
    return found


def _trim_url_end(text: str, start: int, end: int) -> int:
    """End of a URL without trailing punctuation and unbalanced closing brackets."""
    counts = {
        closer: [text.count(opener, start, end), text.count(closer, start, end)]
        for closer, opener in _OPENER.items()
    }
    while end > start:
        last = text[end - 1]
        if last in _TRAILING_PUNCTUATION:
            end -= 1
        elif last in counts and counts[last][1] > counts[last][0]:
            counts[last][1] -= 1
            end -= 1
        else:
            break
    return end


def _find_emails(text: str, urls: list[tuple[Span, int | None]]) -> list[Span]:
    spans = []
    for url, query_start in urls:
        if query_start is None:
            continue
        for match in _EMAIL.finditer(text, query_start, url.end):
            span = _email(match, nested=True)
            if span is not None:
                spans.append(span)
    index = 0  # the first URL that does not end before the candidate
    for match in _EMAIL.finditer(text):
        while index < len(urls) and urls[index][0].end <= match.start():
            index += 1
        if index < len(urls) and urls[index][0].start < match.end():
            continue  # inside a URL: userinfo, or an "@" in its path ("logo@2x.png")
        span = _email(match, nested=False)
        if span is not None:
            spans.append(span)
    return spans


def _email(match: re.Match, nested: bool) -> Span | None:
    raw = match.group().lstrip(".")  # a full stop before the address is punctuation
    address = normalize_email(raw.replace("%40", "@"))
    if address is None:
        return None
    start, end = match.end() - len(raw), match.end()
    local, _, domain = address.rpartition("@")
    if _REDACTED_LOCAL.fullmatch(local) and domain == _REDACTED_DOMAIN:
        return Span(start, end, "redacted", raw, address, raw, nested=nested)
    if registrable_domain(domain) is None:  # "part@01D6B5E7.4A0B1C20", "logo@2x.png"
        return None
    return Span(start, end, "email", raw, address, defang_email(address), nested=nested)


def _find_hosts(text: str, occupied: list[tuple[int, int]]) -> list[Span]:
    spans = []
    index = 0  # the first occupied range that does not end before the candidate
    for match in _BARE_HOST.finditer(text):
        start, end = match.span()
        while index < len(occupied) and occupied[index][1] <= start:
            index += 1
        if index < len(occupied) and occupied[index][0] < end:
            continue
        span = _bare_host(text, start, end)
        if span is not None:
            spans.append(span)
    return spans


def _bare_host(text: str, start: int, end: int) -> Span | None:
    raw = text[start:end]
    written = unicodedata.normalize("NFKC", strip_invisible(refang(raw))).replace("\u3002", ".")
    host = normalize_host(written)
    if host is None:
        return None
    if host.is_ip:
        if host.ascii != written:  # "1.2.3" and "2.0" are versions, not 1.2.0.3 and 2.0.0.0
            return None
    else:
        # A capital in the last label of a name not written all in capitals is prose or
        # code ("Word.Document", "Co.LTD"), not a host ("Amazon.co.jp", "G2A.COM").
        suffix = written.rsplit(".", 1)[-1]
        if suffix != suffix.lower() and written != written.upper():
            return None
        if registrable_domain(host.ascii, include_private=False) is None:
            return None
    if host.ascii == _REDACTED_DOMAIN:
        return Span(start, end, "redacted", raw, host, raw)
    punycode = defang_host(host, punycode=True) if host.unicode != host.ascii else None
    return Span(start, end, "host", raw, host, defang_host(host), punycode)


def defang_text_html(text: str) -> str:
    """The whole text HTML-escaped, each indicator replaced by its defanged form in a span.

    The result is stored and served as is inside a <pre>: the only tags in it are
    <span class="ioc ioc-url|ioc-email|ioc-host">, <span class="ioc-puny"> inside them,
    and <span class="redacted">.
    """
    parts = []
    position = 0
    for span in find_indicators(text):
        if span.nested:
            continue
        parts.append(_plain(text[position:span.start]))
        parts.append(_render(span))
        position = span.end
    parts.append(_plain(text[position:]))
    return "".join(parts)


# A scheme left in text that is not a whole URL (`https://***.monex.co.jp/`, a broken host, a
# template's `http://[placeholder]/`): not an indicator, but not left fanged either.
_LEFTOVER_SCHEME = re.compile(r"(?i)\b(h)tt(ps?)(?=[:：])|\b(f)t(p)(?=[:：][/／]{2})")


def defang_leftover_schemes(text: str) -> str:
    """`http:`, `https:`, `ftp://` that are not part of a whole URL, defanged all the same."""
    return _LEFTOVER_SCHEME.sub(_defang_scheme, text)


def _plain(text: str) -> str:
    return html.escape(defang_leftover_schemes(text))


def _defang_scheme(match: re.Match) -> str:
    if match.group(1):
        return "hxx" + match.group(2).lower()
    return "fxp"


def _render(span: Span) -> str:
    if span.kind == "redacted":
        return f'<span class="redacted">{html.escape(span.raw)}</span>'
    punycode = "" if span.punycode is None else f' <span class="ioc-puny">{html.escape(span.punycode)}</span>'
    return f'<span class="ioc ioc-{span.kind}">{html.escape(span.defanged)}{punycode}</span>'
