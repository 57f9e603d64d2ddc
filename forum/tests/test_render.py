import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings, strategies as st

from forum.render import (ALLOWED_ATTRIBUTES, ALLOWED_PROTOCOLS, ALLOWED_TAGS, DEFANG_ELEMENTS, LINK_REL,
                          render_markdown, render_post)


class TagAudit(HTMLParser):
    """Collects every element and attribute a browser would build from the HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS | DEFANG_ELEMENTS.keys():
            self.problems.append(f"element <{tag}>")
        for name, value in attrs:
            if name not in ALLOWED_ATTRIBUTES.get(tag, []) + DEFANG_ELEMENTS.get(tag, []):
                self.problems.append(f"attribute {name} on <{tag}>")
            if name == "href":
                scheme = urlsplit(value or "").scheme.lower()
                if scheme and scheme not in ALLOWED_PROTOCOLS:
                    self.problems.append(f"href scheme {scheme}")


def audit(html: str) -> list[str]:
    parser = TagAudit()
    parser.feed(html)
    parser.close()
    return parser.problems


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="https://example.com" onclick="alert(1)">x</a>',
    "![logo](https://evil.example/track.png)",
    '<div style="background:url(https://evil.example/)">x</div>',
    "<iframe src=https://evil.example></iframe>",
    "<svg><script>alert(1)</script></svg>",
    "```\n<script>alert(1)</script>\n```",
    "<!-- <script>alert(1)</script> -->",
    '[a](https://example.com "title" onmouseover="alert(1)")',
])
def test_hostile_markdown_renders_inert(source):
    html = render_markdown(source)
    assert audit(html) == []
    assert "<script" not in html.lower() and "<img" not in html.lower()


def test_raw_html_in_a_post_is_shown_as_text():
    assert render_markdown("<b>太字</b>") == "<p>&lt;b&gt;太字&lt;/b&gt;</p>"


def test_links_to_allowed_hosts_are_marked_nofollow_ugc_and_open_no_window():
    html = render_markdown("[ニュース](https://www.nikkei.com/) and https://nikkei.com/bare", frozenset({"nikkei.com"}))
    assert html.count(f'rel="{LINK_REL}"') == 2
    assert "target=" not in html


def test_every_other_link_in_a_members_text_is_defanged_text():
    html = render_markdown("見て https://grp01.id.rakuten.co.jp.baby/ と [ここ](https://evil-shop.com/y?a=1&b=2)"
                           " と https://www.nikkei.com.evil-shop.com/", frozenset({"nikkei.com"}))
    assert "<a" not in html and "https://" not in html
    assert "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/" in html
    assert "ここ (" in html and "hxxps://evil-shop[.]com/y?a=1&amp;b=2" in html


def test_markdown_formatting_survives():
    html = render_markdown("**強調**\n\n> 引用\n\n- 一\n- 二\n\n`code`")
    for tag in ("<strong>", "<blockquote>", "<li>", "<code>"):
        assert tag in html


def test_line_breaks_are_kept_as_on_the_old_board():
    assert "<br" in render_markdown("一行目\n二行目")


def test_archive_text_is_escaped_exactly_as_typed():
    assert render_post("<!> <script>\n 字下げ", "archive") == \
        '<div class="archive-body"><p class="archive-text">&lt;!&gt; &lt;script&gt;\n 字下げ</p></div>'


def test_every_corpus_payload_renders_to_allowed_markup_only(shared_dir):
    payloads = json.loads((shared_dir / "corpus" / "xss-vectors.json").read_text())
    assert len(payloads) == 484
    failures = {p["id"]: audit(render_markdown(p["payload"])) for p in payloads}
    assert {k: v for k, v in failures.items() if v} == {}


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_renders_to_allowed_markup_only(source):
    assert audit(render_markdown(source)) == []


def test_archived_text_and_quotes_never_link_and_show_urls_defanged():
    html = render_post("見てください https://evil.example/login\n\n********** 以下引用1 **********\n\n"
                       "From: x <a@evil-shop.com>\nSubject: s\n\n<a href=\"https://evil.example/\">ここ</a>\n", "archive")
    assert "<a " not in html and "https://" not in html
    assert "hxxps://evil[.]example/login" in html and "a[@]evil-shop[.]com" in html
    assert "&lt;a href=" in html
    assert audit_archive(html) == []


def audit_archive(html: str) -> list[str]:
    """Archive HTML may use its own structural elements, but nothing that loads, runs or links."""
    class Audit(HTMLParser):
        problems: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag in {"a", "img", "script", "iframe", "object", "embed", "link", "style", "form", "svg"}:
                self.problems.append(tag)
            self.problems += [name for name, _ in attrs if name.startswith("on") or name in {"src", "href", "style"}]

    parser = Audit()
    parser.feed(html)
    return parser.problems


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_archived_text_renders_inert(source):
    assert audit_archive(render_post(source, "archive")) == []
