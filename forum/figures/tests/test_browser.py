"""A member attaches screenshots in a real browser, captions holding XSS payloads: the post shows
the images, loaded from the site itself only, and nothing in the captions runs."""

import json
import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from forum.figures.models import Figure
from forum.figures.tests.helpers import image_bytes
from forum.forms import FigureForm
from forum.models import Post
from forum.tests.test_xss_browser import AUDIT, TRAP

LOOPBACK = {"127.0.0.1", "localhost"}  # the live server's address, however it is named
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def hostile_captions(shared_dir, count: int = 3) -> list[str]:
    """Payloads of the corpus that would run if a caption were markup, and that the composer
    takes as captions (one line, no control characters, not starting like an archive mark)."""
    payloads = json.loads((shared_dir / "corpus" / "xss-vectors.json").read_text(encoding="utf-8"))
    found = []
    for text in [p["payload"] for p in payloads] + ["画面 " + p["payload"] for p in payloads]:
        caption = " ".join(text.split())
        form = FigureForm({"figure-caption": caption}, prefix="figure")
        if re.search(r"<img[^>]*onerror|<script|javascript:", caption) and (form.is_valid() or "caption" not in form.errors):
            found.append(caption)
    return found[:count]


def test_a_post_with_figures_shows_them_from_the_site_only_and_captions_do_nothing(browser, live_server, member,
                                                                                  shared_dir, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    captions = hostile_captions(shared_dir)
    assert len(captions) == 3
    context = browser.new_context(locale="en-US")
    context.add_init_script(TRAP)
    page = context.new_page()
    dialogs, off_site, figure_responses = [], [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: urlsplit(r.url).hostname not in LOOPBACK and off_site.append(r.url))
    page.on("response", lambda r: "/media/figures/" in r.url and figure_responses.append(
        (urlsplit(r.url).hostname, r.status, r.headers.get("content-type"), r.headers.get("x-content-type-options"))))

    logged_in = Client()
    logged_in.force_login(member)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": logged_in.cookies[settings.SESSION_COOKIE_NAME].value}])
    page.goto(live_server.url + "/info/new/")
    page.locator("#id_title").fill("偽サイトの画面")
    page.locator("#id_body").fill("開いた画面です。")
    for n, caption in enumerate(captions):
        page.locator("details.add-figure summary").click() if not page.locator("#id_figure-file").is_visible() else None
        page.locator("#id_figure-file").set_input_files(
            {"name": f"shot{n}.png", "mimeType": "image/png", "buffer": image_bytes(size=(120, 80), color=(n * 60, 90, 30))})
        page.locator("#id_figure-caption").fill(caption)
        page.get_by_role("button", name="Attach the figure").click()
        page.wait_for_load_state()
        assert page.locator(".pending-figure").count() == n + 1
    # markdownx's editor script sizes its textarea with a style attribute; nothing else may be found.
    assert [p for p in page.evaluate(AUDIT) if p != "TEXTAREA has a style attribute"] == [], "the preview is inert"
    page.get_by_role("button", name="Post the thread").click()
    page.wait_for_url("**/info/*/")

    images = page.locator("article figure.figure img")
    assert images.count() == 3
    for i in range(3):
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_function("() => [...document.querySelectorAll('article figure.figure img')]"
                           ".every(img => img.complete && img.naturalWidth === 120 && img.naturalHeight === 80)")
    page.wait_for_timeout(300)  # let anything that was going to fire, fire
    assert page.evaluate(AUDIT) == []
    assert [images.nth(i).get_attribute("alt") for i in range(3)] == captions
    assert dialogs == [] and off_site == []
    assert figure_responses and all(r[0] in LOOPBACK and r[1:] == (200, "image/png", "nosniff")
                                    for r in figure_responses)
    post = Post.objects.get()
    assert Figure.objects.filter(post=post).count() == 3
    context.close()
