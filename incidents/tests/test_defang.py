"""Indicators found in quoted scam material and shown defanged (pure functions, no Django)."""
import html
import json
import re

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from incidents.defang import (defang_email, defang_host, defang_leftover_schemes, defang_text_html, defang_url,
                              find_indicators)
from incidents.hosts import Host, Url, normalize_host, normalize_url, refang, registrable_domain
from incidents.tests.test_hosts import TRICKY_PIECES, any_text, url_like_text

ALLOWED_TAG = re.compile(r'<span class="(?:ioc ioc-(?:url|email|host)|ioc-puny|redacted)">|</span>')
RENDERED_SPAN = re.compile(
    r'<span class="(?:ioc ioc-(?:url|email|host)|redacted)">((?:[^<]|<span class="ioc-puny">[^<]*</span>)*)</span>'
)
FANGED_SCHEME = re.compile(r"(?i)(?:https?|ftp)://")

# Mail bodies as members paste them: Japanese prose, HTML source, headers, hostile markup.
MAIL_PIECES = [
    *TRICKY_PIECES,
    "詳細は", "こちら", "、", "」", "）", "】", "ログイン", " ", "\n", "\r\n", "\t", "\x00",
    "<script>alert(1)</script>", "<a href=\"", "\">", "'", "&amp;", "&", "<", ">", "`", "=",
    "https://grp01.id.rakuten.co.jp.baby/", "HTTPS://EXAMPLE.COM/A", "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ",
    "http://[2001:db8::1]:8080/x", "mktvchjwn@rakuten.co.jp", "xxxx@xxxx.name", "?email=a@b.com",
    "%40", "rakuten.co.jp", "rak\u200buten", "例え.テスト", "xn--r8jz45g", "@2x.png", "www.", ")", "(",
]
mail_text = st.lists(st.sampled_from(MAIL_PIECES), max_size=30).map("".join)


def found(text):
    return [(span.kind, span.raw, span.defanged) for span in find_indicators(text)]


# --- defang_host / defang_url / defang_email ---------------------------------------

def test_defang_host():
    assert defang_host(normalize_host("192.0.2.1")) == "192[.]0[.]2[.]1"
    assert defang_host(normalize_host("2001:db8::1")) == "[2001:db8::1]"
    idn = normalize_host("例え.テスト")
    assert defang_host(idn) == "例え[.]テスト"
    assert defang_host(idn, punycode=True) == "xn--r8jz45g[.]xn--zckzah"


@pytest.mark.parametrize(
    ("url", "text"),
    [
        ("https://grp01.id.rakuten.co.jp.baby/", "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/"),
        ("HTTP://Example.COM/A.B?c=d.e#F.G", "hxxp://example[.]com/A.B?c=d.e#F.G"),  # path untouched
        ("ftp://files.example.org/a.zip", "fxp://files[.]example[.]org/a.zip"),
        ("http://user:pw@example.com:8080/", "hxxp://user:pw[@]example[.]com:8080/"),
        ("https://www.rakuten.co.jp@evil.example/", "hxxps://www[.]rakuten[.]co[.]jp[@]evil[.]example/"),
        ("http://[2001:db8::1]:8080/x", "hxxp://[2001:db8::1]:8080/x"),
        ("https://evil.example/r?u=https://rakuten.co.jp/&v=HTTP://x",
         "hxxps://evil[.]example/r?u=hxxps://rakuten.co.jp/&v=HXXP://x"),
        ("hxxps[:]//evil[.]example", "hxxps://evil[.]example"),
    ],
)
def test_defang_url(url, text):
    assert defang_url(normalize_url(url)).text == text
    assert defang_url(normalize_url(url)).punycode is None


def test_defang_url_of_an_idn_shows_both_forms():
    defanged = defang_url(normalize_url("https://例え.テスト/ログイン"))
    assert defanged.text == "hxxps://例え[.]テスト/ログイン"
    assert defanged.punycode == "hxxps://xn--r8jz45g[.]xn--zckzah/ログイン"


def test_defang_email():
    assert defang_email("user@example.com") == "user[@]example[.]com"
    assert defang_email("first.last@mail.rakuten.co.jp") == "first.last[@]mail[.]rakuten[.]co[.]jp"


@given(url_like_text)
@example("http://a.com/[[.]]?u=http://b.com")
@example("https://[.(@x.com/")
def test_defanged_url_refangs_to_the_same_value(text):
    url = normalize_url(text)
    assume(url is not None)
    defanged = defang_url(url)
    for form in filter(None, (defanged.text, defanged.punycode)):
        assert not FANGED_SCHEME.search(form)
        assert normalize_url(refang(form)) == url
        assert normalize_url(form) == url  # normalize_url refangs by itself


# --- find_indicators: what is found and how it is shown ----------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Seed examples.
        ("https://grp01.id.rakuten.co.jp.baby/ ログイン",
         [("url", "https://grp01.id.rakuten.co.jp.baby/", "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/")]),
        ("HP: https://www.fuzhishop.com/", [("url", "https://www.fuzhishop.com/", "hxxps://www[.]fuzhishop[.]com/")]),
        ('src="https://img.card.jp.rakuten-static.com/corp/pc/common/mail/rc-logo_Card_175x32@2x.png"',
         [("url", "https://img.card.jp.rakuten-static.com/corp/pc/common/mail/rc-logo_Card_175x32@2x.png",
           "hxxps://img[.]card[.]jp[.]rakuten-static[.]com/corp/pc/common/mail/rc-logo_Card_175x32@2x.png")]),
        ("From: 【楽天市場】 <mktvchjwn@rakuten.co.jp>",
         [("email", "mktvchjwn@rakuten.co.jp", "mktvchjwn[@]rakuten[.]co[.]jp")]),
        ('<HTML xmlns="http://www.w3.org/TR/REC-html40" xmlns:o =',
         [("url", "http://www.w3.org/TR/REC-html40", "hxxp://www[.]w3[.]org/TR/REC-html40")]),
        # Glued to Japanese text.
        ("詳細はhttps://example.com/path?a=1こちら",
         [("url", "https://example.com/path?a=1", "hxxps://example[.]com/path?a=1")]),
        ("詳細はhttps://example.comこちら", [("url", "https://example.com", "hxxps://example[.]com")]),
        ("URL:https://example.com。次へ", [("url", "https://example.com", "hxxps://example[.]com")]),
        ("「https://example.com/a」、（https://example.com/b）", [
            ("url", "https://example.com/a", "hxxps://example[.]com/a"),
            ("url", "https://example.com/b", "hxxps://example[.]com/b")]),
        ("詳細はwww.rakuten.co.jpへ", [("url", "www.rakuten.co.jp", "hxxp://www[.]rakuten[.]co[.]jp")]),
        # Trailing punctuation and brackets.
        ("See https://example.com/a. Or https://example.com/b?c=d!", [
            ("url", "https://example.com/a", "hxxps://example[.]com/a"),
            ("url", "https://example.com/b?c=d", "hxxps://example[.]com/b?c=d")]),
        ("(https://example.com/a), [https://example.com/b]", [
            ("url", "https://example.com/a", "hxxps://example[.]com/a"),
            ("url", "https://example.com/b", "hxxps://example[.]com/b")]),
        ("(see https://en.wikipedia.org/wiki/Foo_(bar)).", [
            ("url", "https://en.wikipedia.org/wiki/Foo_(bar)", "hxxps://en[.]wikipedia[.]org/wiki/Foo_(bar)")]),
        # HTML source shown as text: the URL stops at the quote.
        ('href="https://x.example/a?b=c&amp;d=e">',
         [("url", "https://x.example/a?b=c&amp;d=e", "hxxps://x[.]example/a?b=c&amp;d=e")]),
        ("<a href='http://a.example/x'>`http://b.example/y`", [
            ("url", "http://a.example/x", "hxxp://a[.]example/x"),
            ("url", "http://b.example/y", "hxxp://b[.]example/y")]),
        # Upper case, full width, defanged.
        ("HTTPS://EXAMPLE.COM/A", [("url", "HTTPS://EXAMPLE.COM/A", "hxxps://example[.]com/A")]),
        ("ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ/a", [("url", "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ/a", "hxxps://example[.]com/a")]),
        ("hxxps[:]//grp01[.]id[.]rakuten[.]co[.]jp[.]baby/", [
            ("url", "hxxps[:]//grp01[.]id[.]rakuten[.]co[.]jp[.]baby/",
             "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/")]),
        # IP literals.
        ("http://192.0.2.1/ と http://[2001:db8::1]:8080/x", [
            ("url", "http://192.0.2.1/", "hxxp://192[.]0[.]2[.]1/"),
            ("url", "http://[2001:db8::1]:8080/x", "hxxp://[2001:db8::1]:8080/x")]),
        # Invisible characters inside the brand, full stops as dots.
        ("https://rak\u200buten.co.jp/", [("url", "https://rak\u200buten.co.jp/", "hxxps://rakuten[.]co[.]jp/")]),
        ("rak\u200buten。co。jp", [("host", "rak\u200buten。co。jp", "rakuten[.]co[.]jp")]),
        # A "www." name without scheme.
        ("www.example.com/path", [("url", "www.example.com/path", "hxxp://www[.]example[.]com/path")]),
        # Mail addresses.
        ("user[@]example[.]com", [("email", "user[@]example[.]com", "user[@]example[.]com")]),
        ("ｕｓｅｒ＠ｅｘａｍｐｌｅ．ｃｏｍ", [("email", "ｕｓｅｒ＠ｅｘａｍｐｌｅ．ｃｏｍ", "user[@]example[.]com")]),
        ("mailto:Info@Example.com.", [("email", "Info@Example.com", "info[@]example[.]com")]),
        ("cid:image001.png@01D6B5E7.4A0B1C20 logo@2x.png", []),
        # Redaction placeholder.
        ("To: xxxx <xxxx@xxxx.name>", [("redacted", "xxxx@xxxx.name", "xxxx@xxxx.name")]),
        ("XXXXXXXX@xxxx.name 様 xxxx.name", [
            ("redacted", "XXXXXXXX@xxxx.name", "XXXXXXXX@xxxx.name"), ("redacted", "xxxx.name", "xxxx.name")]),
        ("xxxy@xxxx.name", [("email", "xxxy@xxxx.name", "xxxy[@]xxxx[.]name")]),
        # Bare hosts.
        ('From: "rakuten.co.jp" <x@y.example>, fuzhishop.com, grp01.id.rakuten.co.jp.baby', [
            ("host", "rakuten.co.jp", "rakuten[.]co[.]jp"),
            ("host", "fuzhishop.com", "fuzhishop[.]com"),
            ("host", "grp01.id.rakuten.co.jp.baby", "grp01[.]id[.]rakuten[.]co[.]jp[.]baby")]),
        ("詳細rakuten.co.jpを evil[.]web[.]app 192[.]0[.]2[.]1", [
            ("host", "rakuten.co.jp", "rakuten[.]co[.]jp"),
            ("host", "evil[.]web[.]app", "evil[.]web[.]app"),
            ("host", "192[.]0[.]2[.]1", "192[.]0[.]2[.]1")]),
        ("\u0430pple.com", [("host", "\u0430pple.com", "\u0430pple[.]com")]),
        # Not hosts: no public suffix, versions, words, a suffix alone, prose.
        ("Amazon.co.jpのアカウント G2A.COM", [
            ("host", "Amazon.co.jp", "amazon[.]co[.]jp"), ("host", "G2A.COM", "g2a[.]com")]),
        ("report.pdf 1.2.3 2.0 Win10Pro64 Word.Document MSHTML 11.00.10570.1001 e.g. No.70 co.jp 532.5pt", []),
        ("©MICARD Co.LTD 株式会社", []),
        ("foo_bar.com /path/file.com ありがとう。みんな こんにちは。世界", []),
        # A broken URL does not hide a real one after it.
        ("http://[bad/https://real.example/", [("url", "https://real.example/", "hxxps://real[.]example/")]),
    ],
)
def test_find_indicators(text, expected):
    assert found(text) == expected


def test_find_indicators_values_are_normalised():
    (url,) = find_indicators("詳細はhttps://grp01.id.rakuten.co.jp.baby/ ログイン")
    assert isinstance(url.value, Url)
    assert url.value.url == "https://grp01.id.rakuten.co.jp.baby/"
    assert registrable_domain(url.value.host.ascii) == "jp.baby"
    (shop,) = find_indicators("HP: https://www.fuzhishop.com/")
    assert registrable_domain(shop.value.host.ascii) == "fuzhishop.com"
    (host,) = find_indicators("rak\u200buten.co.jp")
    assert host.value == Host("rakuten.co.jp", "rakuten.co.jp", is_ip=False, ip_version=None)
    (email,) = find_indicators("<MkTvChJwn@Rakuten.co.jp>")
    assert email.value == "mktvchjwn@rakuten.co.jp"


def test_idn_hosts_carry_their_punycode_form():
    (unicode_written, punycode_written) = find_indicators("https://例え.テスト/ and https://xn--r8jz45g.xn--zckzah/")
    for span in (unicode_written, punycode_written):
        assert span.value.url == "https://xn--r8jz45g.xn--zckzah/"
        assert (span.defanged, span.punycode) == ("hxxps://例え[.]テスト/", "hxxps://xn--r8jz45g[.]xn--zckzah/")
    (homograph,) = find_indicators("\u0430pple.com")
    assert homograph.punycode == "xn--pple-43d[.]com"


@pytest.mark.parametrize(
    ("text", "address", "raw"),
    [
        ("https://evil.example/login?email=a@b.com&x=1", "a@b.com", "a@b.com"),
        ("https://evil.example/login?email=a%40b.com", "a@b.com", "a%40b.com"),
        ("https://evil.example/#u=xxxx@xxxx.name", "xxxx@xxxx.name", "xxxx@xxxx.name"),
    ],
)
def test_addresses_in_a_query_are_nested_in_the_url(text, address, raw):
    url, email = find_indicators(text)
    assert (url.kind, url.raw, url.nested) == ("url", text, False)
    assert (email.value, email.raw, email.nested) == (address, raw, True)
    assert url.start <= email.start < email.end <= url.end


def test_at_sign_in_a_url_path_is_not_an_address():
    assert [span.kind for span in find_indicators("https://evil.example/u/a@b.com/x?q=1")] == ["url"]


def test_the_seed_thread(seed_path):
    text = seed_path.read_text(encoding="utf-8")
    spans = find_indicators(text)
    assert {span.value.url for span in spans if span.kind == "url"} == {
        "http://www.w3.org/TR/REC-html40",
        "https://www.rakuten-card.co.jp/?scid=mi_rkc_oo_htmlml_logo10001",
        "https://img.card.jp.rakuten-static.com/corp/pc/common/mail/rc-logo_Card_175x32@2x.png",
        "https://www.fuzhishop.com/",
        "https://grp01.id.rakuten.co.jp.baby/",
        "https://www.rakuten-card.co.jp/",
        "https://www.rakuten.co.jp/",
    }
    assert {span.value for span in spans if span.kind == "email"} == {
        "mktvchjwn@rakuten.co.jp", "myinfo@rakuten.co.jp", "rakuten@rakuten.co.jp", "ud@kto.net", "order@rakuten.co.jp",
    }
    assert sum(span.kind == "redacted" for span in spans) == text.count("xxxx@xxxx.name")
    assert [span.raw for span in spans if span.kind == "host"] == ["rakuten.co.jp"]  # From: "rakuten.co.jp" <...>
    rendered = defang_text_html(text)
    assert not FANGED_SCHEME.search(rendered)
    assert "<a" not in rendered.lower()
    assert "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/" in rendered


# --- Invariants on any input -------------------------------------------------------

@given(any_text | mail_text)
@example("http://%" * 50)
@example("[" * 30 + "." + "]" * 30)
def test_find_indicators_never_raises_and_spans_are_consistent(text):
    spans = find_indicators(text)
    assert spans == sorted(spans, key=lambda span: (span.start, span.nested))
    top_level = [span for span in spans if not span.nested]
    for before, after in zip(top_level, top_level[1:]):
        assert before.end <= after.start
    for span in spans:
        assert span.raw == text[span.start:span.end] and span.start < span.end
        assert span.kind in {"url", "email", "host", "redacted"}
        assert not FANGED_SCHEME.search(span.defanged)
        if span.nested:
            assert any(url.kind == "url" and url.start < span.start and span.end <= url.end for url in top_level)
        if span.kind == "url":
            assert isinstance(span.value, Url) and normalize_url(span.raw) == span.value


# --- defang_text_html --------------------------------------------------------------

def test_defang_text_html_example():
    text = '詳細は<a href="https://例え.テスト/?a=1&b=2">こちら</a>\nFrom: <user@example.com> To: xxxx@xxxx.name & rakuten.co.jp'
    assert defang_text_html(text) == (
        '詳細は&lt;a href=&quot;<span class="ioc ioc-url">hxxps://例え[.]テスト/?a=1&amp;b=2 '
        '<span class="ioc-puny">hxxps://xn--r8jz45g[.]xn--zckzah/?a=1&amp;b=2</span></span>&quot;&gt;こちら&lt;/a&gt;\n'
        'From: &lt;<span class="ioc ioc-email">user[@]example[.]com</span>&gt; To: '
        '<span class="redacted">xxxx@xxxx.name</span> &amp; <span class="ioc ioc-host">rakuten[.]co[.]jp</span>'
    )


def assert_safe_and_faithful(text):
    """Only our spans are tags; outside them the page shows exactly the input text."""
    rendered = defang_text_html(text)
    without_our_tags = ALLOWED_TAG.sub("", rendered)
    assert "<" not in without_our_tags and ">" not in without_our_tags
    spans = [span for span in find_indicators(text) if not span.nested]
    between = [defang_leftover_schemes(text[a:b])
               for a, b in zip([0] + [s.end for s in spans], [s.start for s in spans] + [len(text)])]
    assert not FANGED_SCHEME.search(html.unescape(ALLOWED_TAG.sub("", rendered)).replace("xxxx@xxxx.name", ""))
    assert [html.unescape(piece) for piece in RENDERED_SPAN.split(rendered)[::2]] == between
    shown = [html.unescape(ALLOWED_TAG.sub("", inner)) for inner in RENDERED_SPAN.findall(rendered)]
    assert shown == [
        span.raw if span.kind == "redacted" else " ".join(filter(None, (span.defanged, span.punycode)))
        for span in spans
    ]
    for span, inner in zip(spans, shown):
        assert span.kind == "redacted" or not FANGED_SCHEME.search(inner)


@given(any_text | mail_text)
@example("<script>alert('x')</script>\x00\"'&amp;")
@example("<a href=\"https://evil.example/?q=<script>\">x</a>")
def test_defang_text_html_is_safe_for_any_text(text):
    assert_safe_and_faithful(text)


def test_defang_text_html_on_hostile_payloads(shared_dir):
    payloads = json.loads((shared_dir / "corpus" / "xss-vectors.json").read_text(encoding="utf-8"))
    assert len(payloads) > 400
    for payload in payloads:
        assert_safe_and_faithful(payload["payload"])
