"""Every hostile payload of the corpus, in every field a member controls and inside quoted mails,
rendered in headless Chromium: no script runs, no dialog opens, no handler fires, no request
leaves 127.0.0.1 — with the Content-Security-Policy on, and off (it is not the only defence)."""

import json
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from django.core.exceptions import ValidationError

from forum import actions
from forum.archive.volume import reads_as_structure
from forum.blocks import BlockError, build_figure
from forum.figures.actions import store_upload
from forum.figures.images import reencode
from forum.figures.tests.helpers import image_bytes
from forum.forms import FigureForm
from forum.figures.models import Figure
from forum.models import Board, Post, Profile, Thread
from forum.quoting import PendingQuote
from forum.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
POSTS_PER_THREAD = 49  # with the opening post, one page of 50

# Runs before any page script: records what a payload would do if it ever ran.
TRAP = """
window.__fired = [];
for (const name of ["alert", "confirm", "prompt", "print", "open"]) {
  const original = window[name];
  window[name] = function (...args) { window.__fired.push(name + ":" + String(args[0]).slice(0, 80)); };
}
"""

# Evaluated after load: anything in the DOM that could run, load or navigate. The one element
# allowed to load inside a post is a member's figure: an <img> of the site's own figure URL in a
# figure.figure, with only the attributes the renderer writes.
AUDIT = """
() => {
  const problems = [];
  const FIGURE_ATTRIBUTES = ["src", "width", "height", "alt", "loading", "decoding"];
  const isFigure = el => el.tagName === "IMG" && el.parentElement && el.parentElement.matches("figure.figure")
    && /^\\/media\\/figures\\/[0-9a-f]{64}\\.(png|jpg|webp)$/.test(el.getAttribute("src") || "")
    && [...el.attributes].every(a => FIGURE_ATTRIBUTES.includes(a.name));
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on")) problems.push(el.tagName + " has " + name);
      const own = attr.value.startsWith("/") && !attr.value.startsWith("//") && (!el.closest("article") || isFigure(el));
      if (["src", "srcdoc", "data", "action", "formaction", "xlink:href", "background", "poster"].includes(name) && !own)
        problems.push(el.tagName + " has " + name + "=" + attr.value.slice(0, 60));
      if (name === "href" && !(el.tagName === "LINK" && attr.value.startsWith("/static/"))
          && !attr.value.startsWith("/") && !attr.value.startsWith("#") && !attr.value.startsWith("?")
          && !attr.value.startsWith(location.origin))
        problems.push(el.tagName + " links to " + attr.value.slice(0, 60));
      if (name === "style") problems.push(el.tagName + " has a style attribute");
    }
    if (["SCRIPT"].includes(el.tagName) && !(el.getAttribute("src") || "").startsWith("/static/"))
      problems.push("an inline or foreign script");
    if (["IFRAME", "OBJECT", "EMBED", "FORM", "BASE", "META", "SVG", "MATH", "VIDEO", "AUDIO", "IMG", "INPUT",
         "BUTTON", "A"].includes(el.tagName.toUpperCase()) && el.closest(".post-body, .subtitle, .post-header"))
      if (!(el.tagName === "A" && el.closest(".post-header")) && !isFigure(el))
        problems.push("a " + el.tagName + " inside a post");
  }
  return problems.concat(window.__fired.map(f => "fired " + f));
}
"""


def _one_line(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit] or "x"


def _figure(author, payload: str, image) -> tuple:
    """A figure captioned with the payload, or none when the composer would refuse the caption."""
    caption = _one_line(payload, 200)
    try:
        FigureForm(prefix="figure").fields["caption"].clean(caption)
        build_figure(None, caption)
    except (ValidationError, BlockError):
        return ()
    if reads_as_structure(caption) is not None:
        return ()
    return (store_upload(user=author, image=image, caption=caption),)


def _populate(payloads) -> list[str]:
    """Threads of many posts, each carrying one payload in every member-controlled field."""
    board = Board.objects.get(slug="info")
    image = reencode(image_bytes())  # one file: every figure row of the same image shares it
    urls = []
    for start in range(0, len(payloads), POSTS_PER_THREAD):
        chunk = payloads[start:start + POSTS_PER_THREAD]
        author = UserFactory(profile__display_name=_one_line("作者 " + chunk[0]["payload"], 50))
        thread = actions.create_thread(board=board, user=author, title=_one_line(chunk[0]["payload"], 200),
                                       fields=actions.PostFields(body="始まり"))
        for item in chunk:
            payload, marker = item["payload"], f"XSS-MARK-{item['id']}"
            quote = PendingQuote(kind="mail", headers=[("From", _one_line(payload, 300)), ("Subject", _one_line(payload, 300))],
                                 body=payload, html=payload, html_text=payload,
                                 attachments=[{"name": _one_line(payload, 100), "type": "text/html", "size": 1, "sha256": "0" * 64}])
            fields = actions.PostFields(body=f"{marker}\n\n{payload}", subtitle=_one_line(payload, 200),
                                        device=_one_line(payload, 100), os=_one_line(payload, 100), quotes=(quote,),
                                        figures=_figure(author, payload, image))
            try:
                actions.create_reply(thread=thread, user=author, fields=fields)
            except actions.ActionRefused:
                # A payload whose lines read as the archive's structure: the composer refuses it.
                actions.create_reply(thread=thread, user=author, fields=actions.PostFields(
                    body=marker, subtitle=fields.subtitle, device=fields.device, os=fields.os, quotes=(),
                    figures=fields.figures))
        Profile.objects.filter(user=author).update(handle=_one_line(chunk[-1]["payload"], 50))
        Post.objects.filter(thread=thread).update(handle=_one_line(chunk[-1]["payload"], 100))
        urls.append(thread.get_absolute_url())
    return urls


@pytest.mark.parametrize("csp", ["on", "off"])
def test_no_payload_runs_loads_or_links_in_a_real_browser(browser, live_server, shared_dir, settings, tmp_path, csp):
    payloads = json.loads((shared_dir / "corpus" / "xss-vectors.json").read_text(encoding="utf-8"))
    assert len(payloads) == 484
    settings.MEDIA_ROOT = tmp_path / "media"
    if csp == "off":
        settings.SECURE_CSP = {}
    urls = _populate(payloads)
    assert Post.objects.count() == len(payloads) + len(urls)
    figures = Figure.objects.filter(post__isnull=False).count()
    assert figures > len(payloads) * 0.8, "most payloads are a figure's caption too"
    shown = 0
    context = browser.new_context()
    context.add_init_script(TRAP)
    page = context.new_page()
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: urlsplit(r.url).hostname not in {"127.0.0.1", "localhost"} and requests.append(r.url))
    problems = {}
    for url in urls + ["/", "/info/"]:
        response = page.goto(live_server.url + url + ("?page=1" if "/info/" in url and url != "/info/" else ""))
        assert response.status == 200
        assert ("Content-Security-Policy" in response.headers or "content-security-policy" in response.headers) == (csp == "on")
        page.wait_for_timeout(300)  # let anything that was going to fire, fire
        found = page.evaluate(AUDIT)
        assert isinstance(found, list), "the audit ran"
        if found:
            problems[url] = found
        if url in urls:
            assert page.locator("article").count() == POSTS_PER_THREAD + 1 or url == urls[-1]
            shown += page.locator("figure.figure img").count()
    context.close()
    assert dialogs == [] and requests == [] and problems == {}
    assert shown == figures


def test_the_browser_audit_catches_a_payload_that_got_through(browser, live_server, member, settings):
    """The detector itself: a post whose stored HTML was tampered with is caught, CSP or not."""
    settings.SECURE_CSP = {}
    thread = actions.create_thread(board=Board.objects.get(slug="info"), user=member, title="t",
                                   fields=actions.PostFields(body="x"))
    Post.objects.filter(thread=thread).update(
        html='<img src="https://evil.example/x.png" onerror="alert(1)"><script>alert(2)</script>')
    context = browser.new_context()
    context.add_init_script(TRAP)
    page = context.new_page()
    requests = []
    page.on("request", lambda r: urlsplit(r.url).hostname not in {"127.0.0.1", "localhost"} and requests.append(r.url))
    page.goto(live_server.url + thread.get_absolute_url())
    page.wait_for_timeout(300)
    found = page.evaluate(AUDIT)
    context.close()
    assert any("onerror" in p for p in found) and any("fired alert" in p for p in found)
    assert requests == ["https://evil.example/x.png"]
