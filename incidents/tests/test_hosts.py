"""Normalisation of hosts, URLs and mail addresses (pure functions, no Django)."""
import socket

import pytest
import requests
from hypothesis import assume, example, given
from hypothesis import strategies as st

from incidents import hosts
from incidents.hosts import (
    Host,
    normalize_email,
    normalize_host,
    normalize_url,
    refang,
    registrable_domain,
    strip_invisible,
)

# Any str, lone surrogates included: the functions must never raise.
any_text = st.text(st.characters(codec=None, exclude_categories=()))
# Text dense in what the parsers look at, so that examples reach deep branches.
TRICKY_PIECES = [
    *"hxtpsfw:/.[](){}@%0123456789abcdefXY-_?#\\ \n",
    "。", "．", "｡", "＠", "ｈ", "：", "／", "例", "え", "テ", "ß", "❤", "а", "\u200b", "\ufeff", "\u00ad",
    "[.]", "(dot)", "[at]", "[:]", "[/]", "hxxps", "http", "xn--", "0x", "www.", "\ufe56", "\u034f", "9" * 30,
]
tricky_text = st.lists(st.sampled_from(TRICKY_PIECES), max_size=40).map("".join)
hostile_labels = st.lists(
    st.sampled_from([*"abcxyz09-_", "ß", "ü", "例", "え", "テ", "а", "❤", "Ａ", "\u200b", "\u034f", "。", "xn--"]),
    min_size=1,
    max_size=12,
).map("".join)
hostile_hosts = st.lists(hostile_labels, min_size=1, max_size=5).map(".".join)
url_like_text = st.tuples(
    st.sampled_from(["http://", "HTTPS://", "hxxps[:]//", "ｈｔｔｐ：／／", "www.", "ftp://", "https://u:p@", "http://["]),
    hostile_hosts | st.sampled_from(["2001:db8::1]", "192.0.2.1", "0x7f.1"]),
    st.sampled_from(["", ":8080", ":", ":0443"]),
    st.sampled_from(["", "/", "?", "#", "\\", "／"]),
    tricky_text,
).map("".join)


# --- strip_invisible ---------------------------------------------------------------

@pytest.mark.parametrize(
    "invisible", ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2064", "\ufe00", "\ufe0f", "\u00ad", "\ufeff"]
)
def test_strip_invisible_removes_each_listed_character(invisible):
    assert strip_invisible(f"rak{invisible}uten") == "rakuten"


def test_strip_invisible_keeps_other_characters():
    text = "楽天 rakuten\u202e\u3000\n"
    assert strip_invisible(text) == text


# --- refang ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("defanged", "fanged"),
    [
        ("hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/", "https://grp01.id.rakuten.co.jp.baby/"),
        ("hxxp://a(.)b{.}c[dot]d(dot)e", "http://a.b.c.d.e"),
        ("HXXPS://A[DOT]B", "HTTPS://A.B"),  # case is kept; normalize_url lower-cases the scheme
        ("hXXps://a[.]b", "hTTps://a.b"),
        ("fxp://files[.]example", "ftp://files.example"),
        ("user[@]example[.]com (@) [AT]", "user@example.com @ @"),
        ("hxxps[:]//a[.]b[/]c", "https://a.b/c"),
        ("[[.]]", "."),  # nested forms are undone completely
        ("hxxpx and hxxp without colon", "hxxpx and hxxp without colon"),
        ("[2001:db8::1] [::]", "[2001:db8::1] [::]"),
    ],
)
def test_refang(defanged, fanged):
    assert refang(defanged) == fanged


@given(any_text | tricky_text)
def test_refang_is_idempotent(text):
    once = refang(text)
    assert refang(once) == once


# --- normalize_host ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "ascii_form", "unicode_form"),
    [
        ("EXAMPLE.com.", "example.com", "example.com"),
        ("例え。テスト", "xn--r8jz45g.xn--zckzah", "例え.テスト"),
        ("xn--r8jz45g.xn--zckzah", "xn--r8jz45g.xn--zckzah", "例え.テスト"),
        ("ｒａｋｕｔｅｎ．ｃｏ．ｊｐ", "rakuten.co.jp", "rakuten.co.jp"),
        ("rakuten｡co｡jp", "rakuten.co.jp", "rakuten.co.jp"),
        ("rak\u200buten.co\u00ad.jp", "rakuten.co.jp", "rakuten.co.jp"),
        ("BÜCHER.de", "xn--bcher-kva.de", "bücher.de"),
        ("faß.de", "xn--fa-hia.de", "faß.de"),  # IDNA2008, not transitional
        ("\u0430pple.com", "xn--pple-43d.com", "\u0430pple.com"),  # Cyrillic homograph
        ("a_b.example.com", "a_b.example.com", "a_b.example.com"),  # browsers accept "_"
        ("i❤.ws", "xn--i-7iq.ws", "i❤.ws"),  # refused by IDNA2008, resolved by browsers
        ("xn--i-7iq.ws", "xn--i-7iq.ws", "i❤.ws"),
        ("ß_.example", "xn--_-pfa.example", "ß_.example"),  # "_" and IDN together: still UTS-46
        ("a\u034f_b.example", "a_b.example", "a_b.example"),  # a code point UTS-46 ignores
        ("localhost", "localhost", "localhost"),
    ],
)
def test_normalize_host_names(raw, ascii_form, unicode_form):
    assert normalize_host(raw) == Host(ascii_form, unicode_form, is_ip=False, ip_version=None)


@pytest.mark.parametrize(
    ("raw", "address", "version"),
    [
        ("192.0.2.1", "192.0.2.1", 4),
        ("１９２．０．２．１", "192.0.2.1", 4),
        ("3232235777", "192.168.1.1", 4),  # how browsers read a numeric host (WHATWG URL)
        ("0x7f.1", "127.0.0.1", 4),
        ("0300.0250.01.01", "192.168.1.1", 4),
        ("1.2.3", "1.2.0.3", 4),
        ("0\u034f", "0.0.0.0", 4),  # numeric once UTS-46 has dropped the ignored code point
        ("[2001:DB8:0:0::1]", "2001:db8::1", 6),
        ("2001:db8::1", "2001:db8::1", 6),
        ("[::ffff:192.0.2.1]", "::ffff:192.0.2.1", 6),
    ],
)
def test_normalize_host_ip_literals(raw, address, version):
    assert normalize_host(raw) == Host(address, address, is_ip=True, ip_version=version)


@pytest.mark.parametrize(
    "raw",
    [
        "", " ", ".", "..", "a..b", "a" * 64 + ".com", ".".join(["a" * 60] * 5),
        "exa mple.com", "a<b.com", "a/b.com", "ex@mple.com", "[::1", "[192.0.2.1]", "fe80::1%eth0",
        "256.1.1.1", "1.2.3.4.5", "example.123", "08.1.1.1",
        "xn--bogus.com", "xn--.com", "xn--a-.com", "a\x00b.com", "\u034f.com",
        "xn--" + "9" * 40 + "a.com",  # the punycode codec overflows on it
        "a" * 5000,
    ],
)
def test_normalize_host_rejects_implausible_hosts(raw):
    assert normalize_host(raw) is None


def test_normalize_host_accepts_the_longest_host():
    longest = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(longest) == 253
    assert normalize_host(longest).ascii == longest
    assert normalize_host(longest + "b") is None


@given(hostile_hosts)
def test_normalize_host_is_stable_on_both_forms(raw):
    host = normalize_host(raw)
    assume(host is not None)
    assert normalize_host(host.ascii) == host
    assert normalize_host(host.unicode) == host
    assert host.ascii.isascii() and host.ascii == host.ascii.lower()


@given(any_text | tricky_text)
def test_normalize_host_never_raises(text):
    host = normalize_host(text)
    assert host is None or len(host.ascii) <= 253


# --- registrable_domain ------------------------------------------------------------

@pytest.mark.parametrize(
    ("host", "domain"),
    [
        # .baby is the TLD, so the phisher registered jp.baby and put "rakuten.co" in front.
        ("grp01.id.rakuten.co.jp.baby", "jp.baby"),
        ("www.fuzhishop.com", "fuzhishop.com"),
        ("img.card.jp.rakuten-static.com", "rakuten-static.com"),
        ("WWW.Rakuten.CO.JP.", "rakuten.co.jp"),
        ("evil.web.app", "evil.web.app"),  # private PSL section: each name has its own owner
        ("other.web.app", "other.web.app"),
        ("例え.みんな", "xn--r8jz45g.xn--q9jyb4c"),
        ("co.jp", None),  # only a public suffix
        ("baby", None),
        ("192.0.2.1", None),
        ("[2001:db8::1]", None),
        ("example.invalid", None),  # not in the PSL
        ("", None),
        ("a..b", None),
    ],
)
def test_registrable_domain(host, domain):
    assert registrable_domain(host) == domain


def test_registrable_domain_icann_section_only():
    assert registrable_domain("evil.web.app", include_private=False) == "web.app"
    assert registrable_domain("rakuten.co.jp", include_private=False) == "rakuten.co.jp"


def test_suffix_list_is_the_bundled_snapshot_without_network(monkeypatch):
    attempts = []

    def record(*args, **kwargs):
        attempts.append(args)
        raise requests.ConnectionError("no network in this test")

    monkeypatch.setattr(requests.Session, "send", record)
    monkeypatch.setattr(socket, "getaddrinfo", record)
    monkeypatch.setattr(socket.socket, "connect", record)
    extractor = hosts._make_suffix_extractor()
    assert extractor.extract_str("grp01.id.rakuten.co.jp.baby").top_domain_under_public_suffix == "jp.baby"
    assert extractor.extract_str("evil.web.app").top_domain_under_public_suffix == "evil.web.app"  # private section
    assert attempts == []


@given(any_text | tricky_text)
def test_registrable_domain_never_raises(text):
    domain = registrable_domain(text)
    assert domain is None or domain.isascii()


# --- normalize_url -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("HTTPS://Grp01.ID.rakuten.co.jp.baby/Login?A=B#F", "https://grp01.id.rakuten.co.jp.baby/Login?A=B#F"),
        ("hxxps[:]//grp01[.]id[.]rakuten[.]co[.]jp[.]baby/", "https://grp01.id.rakuten.co.jp.baby/"),
        ("hXXps://evil[.]example/login[.]php", "https://evil.example/login.php"),
        ("ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ／path", "https://example.com/path"),
        ("ｈｘｘｐ：／／ｅｘａｍｐｌｅ。ｃｏｍ", "http://example.com"),
        ("www.example.com/path", "http://www.example.com/path"),
        ("WWW.Example.COM", "http://www.example.com"),
        ("ftp://Files.Example.org/a.zip", "ftp://files.example.org/a.zip"),
        ("http://user:Pass@Example.com:8080/x", "http://user:Pass@example.com:8080/x"),
        ("https://example.com:443/", "https://example.com:443/"),  # default port kept
        ("https://example.com:/", "https://example.com/"),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://192.0.2.1/", "http://192.0.2.1/"),
        ("http://3232235777/", "http://192.168.1.1/"),
        ("https://例え.テスト/", "https://xn--r8jz45g.xn--zckzah/"),
        ("http://rak\u200buten.co.jp/a\u200bb", "http://rakuten.co.jp/ab"),
        ("https://example.com/%E3%81%82?q=Ａ&x=1#Frag", "https://example.com/%E3%81%82?q=Ａ&x=1#Frag"),
        ("http://evil.example\\@good.example/", "http://evil.example\\@good.example/"),
        ("  https://example.com/  ", "https://example.com/"),
        ("https://www.rakuten.co.jp@evil.example/", "https://www.rakuten.co.jp@evil.example/"),
    ],
)
def test_normalize_url(raw, url):
    assert normalize_url(raw).url == url


def test_normalize_url_parts():
    url = normalize_url("hxxps://Me@Example.com:8443/Path?q=1#f")
    assert (url.scheme, url.userinfo, url.host.ascii, url.port, url.rest) == (
        "https", "Me", "example.com", 8443, "/Path?q=1#f"
    )
    idn = normalize_url("https://例え.テスト/")
    assert (idn.host.ascii, idn.host.unicode, idn.port, idn.userinfo) == (
        "xn--r8jz45g.xn--zckzah", "例え.テスト", None, None
    )
    assert normalize_url("http://evil.example\\@good.example/").host.ascii == "evil.example"  # as browsers read it


@pytest.mark.parametrize(
    "raw",
    [
        "", "javascript:alert(1)", "mailto:a@b.com", "data:text/html,x", "http://", "http:///path",
        "http://exa mple.com/", "http://a.com:99999/", "http://a.com:8x/", "http://[::1/",
        "example.com/path", "wwwexample.com", "http://a..b/", "http://-%/", "https://a\ufe56b@c.com/",
    ],
)
def test_normalize_url_rejects(raw):
    assert normalize_url(raw) is None


@given(any_text | tricky_text | url_like_text)
def test_normalize_url_never_raises(text):
    url = normalize_url(text)
    assert url is None or url.url.startswith(("http://", "https://", "ftp://"))


@given(url_like_text)
@example("http://a.com/[[.]]")
@example("http://［．］@a.com/")
def test_normalize_url_is_idempotent(text):
    url = normalize_url(text)
    assume(url is not None)
    assert normalize_url(url.url) == url


# --- normalize_email ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("MkTvChJwn@Rakuten.CO.JP", "mktvchjwn@rakuten.co.jp"),
        ("user[@]example[.]com", "user@example.com"),
        ("user(@)example(dot)com", "user@example.com"),
        ("ｕｓｅｒ＠ｅｘａｍｐｌｅ．ｃｏｍ", "user@example.com"),
        ("ｕｓｅｒ［＠］ｅｘａｍｐｌｅ［．］ｃｏｍ", "user@example.com"),
        ("my\u200binfo@raku\u200bten.co.jp", "myinfo@rakuten.co.jp"),
        ("first.last+tag@例え.jp", "first.last+tag@xn--r8jz45g.jp"),
        (" a@b.com ", "a@b.com"),
    ],
)
def test_normalize_email(raw, address):
    assert normalize_email(raw) == address


@pytest.mark.parametrize(
    "raw",
    ["", "no-at-sign", "a@b", "a@192.0.2.1", "a..b@x.com", ".a@x.com", "a.@x.com", "a" * 65 + "@x.com",
     "a b@x.com", "@x.com", "a@", "a@x..com", '"quoted"@x.com', "用户@例え.jp", "a@" + "b" * 2000 + ".com"],
)
def test_normalize_email_rejects(raw):
    assert normalize_email(raw) is None


@given(any_text | tricky_text)
def test_normalize_email_never_raises(text):
    address = normalize_email(text)
    assert address is None or "@" in address


@given(
    st.tuples(
        st.sampled_from(["a", "First.Last", "ｕ", "x+y", "a\u200bb", ".a"]),
        st.sampled_from(["@", "[@]", "＠", "(@)"]),
        hostile_hosts,
    ).map("".join)
)
def test_normalize_email_is_idempotent(text):
    address = normalize_email(text)
    assume(address is not None)
    assert normalize_email(address) == address
