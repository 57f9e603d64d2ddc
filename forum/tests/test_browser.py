"""A new member, in a real browser: signs up, confirms the address, starts a thread (with the live
preview), replies; both posts wait for a moderator's approval (forum.limits.gate)."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail

from forum.models import Post, Thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("request", lambda r: urlsplit(r.url).hostname not in {"127.0.0.1", "localhost"}
            and page.problems.append(f"request off the site: {r.url}"))
    yield page
    context.close()


def test_a_new_member_signs_up_starts_a_thread_and_replies(page, live_server):
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="会員登録").click()
    page.get_by_label("ユーザー名").fill("shibaken")
    page.get_by_label("表示名").fill("シバケン")
    page.get_by_label("メールアドレス").fill("shibaken@example.org")
    page.locator("#id_password1").fill("a long passphrase for tests")
    page.locator("#id_password2").fill("a long passphrase for tests")
    page.get_by_role("button", name="会員登録").click()
    assert page.get_by_text("大王へようこそ。").is_visible()
    # No posting before the address is confirmed: the link from the mail, then its button.
    page.goto(live_server.url + "/info/new/")
    assert page.get_by_role("button", name="リンクをもう一度送る").is_visible()
    link = re.search(r"https?://\S+/accounts/confirm/\S+/", mail.outbox[0].body).group(0)
    page.goto(link)
    page.get_by_role("button", name="アドレスを確認する").click()
    assert page.get_by_text("メールアドレスを確認しました。").is_visible()

    page.goto(live_server.url + "/info/")
    page.get_by_role("link", name="スレッドを立てる").click()
    page.get_by_label("表題").fill("<ドコモ口座>第三者の不正な預金引き出し発覚")
    page.get_by_label("機種").fill("iPhone 12")
    body = page.locator("textarea[name=body]")
    body.fill("**ドコモ口座**を使った不正な引き出しです。<script>alert(1)</script>")
    # markdownx's live preview, through Daiou's own renderer.
    preview = page.locator(".markdownx-preview strong")
    preview.wait_for(timeout=10_000)
    assert preview.inner_text() == "ドコモ口座"
    page.get_by_role("button", name="スレッドを投稿").click()

    page.wait_for_url(re.compile(r"/info/1/$"))
    assert page.get_by_text("モデレーターの承認を待ちます").is_visible()
    heading = page.locator("h1").inner_text()
    assert re.fullmatch(r"NO\.1 <ドコモ口座>第三者の不正な預金引き出し発覚<起稿 シバケン>\(\d\d/\d\d/\d\d\)", heading)
    assert "【シバケン@iPhone 12】" in page.locator("#p1 h2").inner_text()
    assert "<script>alert(1)</script>" in page.locator("#p1 .post-body").inner_text()

    page.get_by_role("link", name="このスレッドに返信").click()
    page.locator("textarea[name=body]").fill("続報です。")
    page.get_by_role("button", name="返信を投稿").click()
    page.wait_for_url(re.compile(r"/info/1/#p2$"))
    assert page.locator("#p2 .post-body").inner_text().strip() == "続報です。"

    thread = Thread.objects.get()
    # Both wait for approval: not in the public count yet (forum.counters), their positions given.
    assert (thread.number, thread.post_count, thread.last_position) == (1, 0, 2)
    assert list(Post.objects.values_list("author__username", "held")) == [("shibaken", True), ("shibaken", True)]
    assert page.problems == []


def test_enter_in_a_text_field_of_the_composer_previews(browser, live_server, member, settings):
    """Implicit submission presses the composer's hidden default button (Preview), not the first
    quote or figure step; the hidden button is out of the Tab order."""
    from django.test import Client

    context = browser.new_context(locale="en-US")
    logged_in = Client()
    logged_in.force_login(member)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                          "value": logged_in.cookies[settings.SESSION_COOKIE_NAME].value}])
    page = context.new_page()
    page.goto(live_server.url + "/info/new/")
    page.locator("#id_title").fill("Enterで送る")
    page.locator("#id_body").fill("プレビューされる本文")
    page.locator("#id_title").press("Enter")
    page.wait_for_load_state()
    assert page.locator("section.preview").inner_text().strip().endswith("プレビューされる本文")
    assert not Post.objects.exists()
    page.locator("#id_title").focus()
    for _ in range(40):  # every stop of the Tab order
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('default-submit')") is False
    context.close()
