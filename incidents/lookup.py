"""Reading what a reader pastes into the lookup: a URL, host, address or phone number.

Pure functions. Any text is accepted, fanged or defanged (`hxxps://…[.]baby`, `[@]`, `[at]`,
`。`, full width, `<…>` around it, `mailto:`/`tel:`), and read the way extraction normalises
what it stores (incidents.extract), so that the same thing gives the same key. The answer
says what the text was taken for and which keys, host and registrable domain to match.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

from incidents import extract
from incidents.extract import indicator_key
from incidents.defang import defang_email, defang_host, defang_url
from incidents.hosts import normalize_email, normalize_host, normalize_url, refang, registrable_domain, strip_invisible

MAX_QUERY_LENGTH = 2048
_PHONE_LIKE = re.compile(r"[+0-9()\s.\-‐−ー－]{6,40}")
_MAILBOX = re.compile(r"<([^<>@\s]+@[^<>\s]+)>")
_WRAPPERS = "<>\"'「」『』()[]（）［］＜＞ \t\u3000"


@dataclass(frozen=True)
class LookupQuery:
    text: str                    # what was pasted, trimmed
    kind: str | None             # extract.KIND_*, or None when it reads as nothing we store
    keys: tuple[str, ...] = ()   # Indicator.key values of exact matches
    host: str = ""
    registrable_domain: str = ""
    shown: str = ""              # what it was read as, defanged

    @property
    def understood(self) -> bool:
        return self.kind is not None


def parse_query(raw: str) -> LookupQuery:
    text = strip_invisible(raw if isinstance(raw, str) else "").replace("\x00", "").strip()[:MAX_QUERY_LENGTH]
    if not text:
        return LookupQuery("", None)
    candidate = text.strip(_WRAPPERS)
    folded = unicodedata.normalize("NFKC", candidate)
    lowered = folded.lower()
    if lowered.startswith("mailto:"):
        candidate = folded = folded[len("mailto:"):]
    elif lowered.startswith("tel:"):
        folded = folded[len("tel:"):]
        return _phone(text, folded) or LookupQuery(text, None)

    if _PHONE_LIKE.fullmatch(folded) and (phone := _phone(text, folded)):
        return phone

    refanged = refang(folded)
    # A URL only with its scheme: "www.example.com" alone is a host, and is looked up as one.
    url = (normalize_url(candidate) or normalize_url(folded)) if "://" in refanged else None
    if url is not None and len(url.url) <= extract.MAX_VALUE_LENGTH:
        values = {url.url}
        if url.rest == "":
            values.add(url.url + "/")  # https://example.com and https://example.com/ are one page
        keys = tuple(indicator_key(extract.KIND_URL, v) for v in sorted(values))
        return LookupQuery(text, extract.KIND_URL, keys, url.host.ascii,
                           "" if url.host.is_ip else registrable_domain(url.host.ascii) or "",
                           defang_url(url).text)

    if "@" in refanged:
        # "【楽天市場】 <myinfo@rakuten.co.jp>", as a From line shows it
        mailbox = _MAILBOX.search(refang(unicodedata.normalize("NFKC", text)))
        address = normalize_email(mailbox[1] if mailbox else refanged)
        if address is None:
            return LookupQuery(text, None)
        domain = address.rpartition("@")[2]
        return LookupQuery(text, extract.KIND_EMAIL, (indicator_key(extract.KIND_EMAIL, address),), domain,
                           registrable_domain(domain) or "", defang_email(address))

    # A host, maybe with a path and no scheme ("evil[.]example/login"): its host is looked up.
    host_part = re.split(r"[/?#\\]", refanged, maxsplit=1)[0]
    if ":" in host_part and not host_part.startswith("[") and host_part.count(":") == 1:
        host_part = host_part.split(":", 1)[0]  # a port
    host = normalize_host(host_part)
    if host is None or (not host.is_ip and "." not in host.ascii):
        return LookupQuery(text, None)
    if host.is_ip:
        return LookupQuery(text, extract.KIND_IP, (indicator_key(extract.KIND_IP, host.ascii),), host.ascii, "",
                           defang_host(host))
    domain = registrable_domain(host.ascii) or ""
    keys = (indicator_key(extract.KIND_DOMAIN, host.ascii), indicator_key(extract.KIND_HOST, host.ascii))
    kind = extract.KIND_DOMAIN if domain == host.ascii else extract.KIND_HOST
    return LookupQuery(text, kind, keys, host.ascii, domain, defang_host(host))


def _phone(text: str, folded: str) -> LookupQuery | None:
    digits = extract.phone_digits(folded)
    if not 6 <= len(digits.lstrip("+")) <= 15:
        return None
    keys = {indicator_key(extract.KIND_PHONE, digits)}
    shown = folded.strip()
    try:
        number = phonenumbers.parse(folded, "JP")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        keys.add(indicator_key(extract.KIND_PHONE, e164))
        shown = extract.phone_record(e164, folded, extract.ROLE_BODY, 0).defanged
    return LookupQuery(text, extract.KIND_PHONE, tuple(sorted(keys)), "", "", shown)
