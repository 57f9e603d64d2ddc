"""A moderator handles a report from the queue in a real browser, without any script of ours."""

import re

import pytest

from forum.models import Post
from forum.moderation.models import ModerationLog, Report
from forum.tests.test_browser import page  # noqa: F401 (the browser page fixture, watching for problems)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_a_moderator_hides_a_reported_post_from_the_queue(page, live_server, moderator, member, spam_thread):
    from forum.moderation import actions as moderation

    spam = spam_thread.posts.get(position=2)
    moderation.file_report(reporter=member, reason="phishing", note="偽のログインページへ誘導", post=spam)

    page.goto(live_server.url + "/accounts/login/?next=/moderation/")
    page.get_by_label("ユーザー名").fill(moderator.username)
    page.get_by_label("パスワード").fill("correct horse battery staple")
    page.get_by_role("button", name="ログイン").click()
    page.wait_for_url(re.compile(r"/moderation/$"))

    item = page.locator(f"#q{spam.pk}")
    assert "偽のログインページへ誘導" in item.inner_text() and "激安ブランド品" in item.inner_text()
    # The browser's own check: the reason is required in the same form as the button.
    item.get_by_role("button", name="非表示にする").click()
    assert Post.objects.get(pk=spam.pk).hidden is False
    item.get_by_label("理由（記録に残ります）").fill("フィッシングサイトへの誘導")
    item.get_by_label("読者に示す理由").select_option("phishing")
    item.get_by_role("button", name="非表示にする").click()
    page.wait_for_url(re.compile(r"/moderation/$"))
    assert "判断待ちのものはありません。" in page.locator("main").inner_text()

    post = Post.objects.get(pk=spam.pk)
    assert (post.hidden, post.hidden_reason) == (True, "phishing")
    assert Report.objects.get().status == Report.Status.UPHELD
    entry = ModerationLog.objects.get()
    assert (entry.actor, entry.reason) == (moderator, "フィッシングサイトへの誘導")

    page.get_by_role("link", name="モデレーション記録").click()
    assert "フィッシングサイトへの誘導" in page.locator("table.log").inner_text()
    page.context.clear_cookies()
    page.goto(live_server.url + spam_thread.get_absolute_url())
    body = page.locator("#p2").inner_text()
    assert "この投稿は非表示にされました" in body and "おとりとして投稿されたフィッシングリンク" in body
    assert "激安ブランド品" not in body
    assert page.problems == []
