import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forum import actions
from forum.models import Board, Draft, Post, Thread
from forum.tests import factories

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_home_lists_boards_and_their_newest_threads(client, member):
    factories.thread(user=member, title="楽天市場を名乗るフィッシングメール")
    page = text(client.get("/"))
    assert "情報" in page and "雑談" in page
    assert "楽天市場を名乗るフィッシングメール" in page


def test_volume_page_is_the_old_title_list(client, member):
    board = factories.board()
    board.threads_per_volume = 2
    board.save()
    first = factories.thread(user=member, title="一番目")
    second = factories.thread(user=member, title="<二番目>")
    third = factories.thread(user=member, title="三番目")
    page = text(client.get("/info/vol/1/"))
    assert page.index("&lt;二番目&gt;") < page.index("一番目"), "newest first"
    assert re.search(r"<td>\d\d/\d\d/\d\d</td>", page), "dates as YY/MM/DD"
    assert '<a href="/info/vol/2/" rel="prev">情報NO.2</a>' in page
    newest = text(client.get("/info/"))
    assert "三番目" in newest and '<a href="/info/vol/1/" rel="next">情報NO.1</a>' in newest
    assert (first.volume_id == second.volume_id) and third.volume_id != first.volume_id


def test_thread_page_shows_the_old_headers(client, member):
    thread = factories.thread(user=member, title="楽天市場を名乗るフィッシングメール", subtitle="副題です",
                              device="ProOne 600 G1 AiO", os="Win10Pro64")
    page = text(client.get(thread.get_absolute_url()))
    assert re.search(r"NO\.1 楽天市場を名乗るフィッシングメール&lt;起稿 磯津千由紀&gt;\(\d\d/\d\d/\d\d\)", page)
    assert re.search(r"【磯津千由紀\(寫眞機廢人\)@ProOne 600 G1 AiO\(Win10Pro64\)】 \d{4}/\d\d/\d\d \([A-Z][a-z]{2}\) \d\d:\d\d", page)
    assert 'id="p1"' in page and 'href="#p1"' in page and "副題です" in page
    assert page.count("<article") == 1
    assert '<a href="/info/vol/1/">' in page


def test_a_post_without_device_shows_no_empty_brackets(client, other_member):
    thread = factories.thread(user=other_member)
    page = text(client.get(thread.get_absolute_url()))
    assert "【シバケン】" in page and "()" not in page and "@" not in page.split("【シバケン】")[1][:5]


def test_long_threads_are_paged_by_position(client, member, settings):
    settings.DAIOU_POSTS_PER_PAGE = 5
    thread = factories.thread(user=member, replies=11)
    url = thread.get_absolute_url()
    second = text(client.get(url + "?page=2"))
    assert re.findall(r'<article[^>]* id="p(\d+)"', second) == ["6", "7", "8", "9", "10"]
    last = text(client.get(url + "?page=last"))
    assert re.findall(r'<article[^>]* id="p(\d+)"', last) == ["11", "12"]
    assert client.get(url + "?page=4").status_code == 404
    assert client.get(url + "?page=abc").status_code == 404
    # The page list, above and below the posts, only where there is more than one page.
    assert second.count('<nav class="pagination"') == 2
    assert re.findall(r'<li>(?:<a href="\?page=(\d)">|<span aria-current="page">(\d))', second)[:3] == [
        ("1", ""), ("", "2"), ("3", "")]
    short = factories.thread(user=member, replies=4)
    assert 'class="pagination"' not in text(client.get(short.get_absolute_url()))


def test_reply_links_back_to_the_post_it_answers_on_its_page(member_client, member, settings):
    settings.DAIOU_POSTS_PER_PAGE = 2
    thread = factories.thread(user=member, replies=2)
    response = member_client.post(f"/info/{thread.number}/reply/?to=1", {"body": "一番への返信"})
    assert response.status_code == 302 and response["Location"].endswith("?page=2#p4")
    page = text(member_client.get(response["Location"]))
    assert 'href="?page=1#p1"' in page


def test_a_reply_runs_a_fixed_number_of_queries(member_client, member, settings, django_assert_num_queries,
                                               django_capture_on_commit_callbacks):
    """What bench/reply.py measures: an established member's reply with a link and a phone
    number to indicators seen before, then the work after the response (indicators, search)."""
    settings.DAIOU_FLOOD_SECONDS = 0
    thread = factories.thread(user=member)
    url = f"/info/{thread.number}/reply/"
    body = "偽サイト https://rakuten-secure.example-bench.xyz/login に誘導。電話番号 090-1234-5678 に注意。"
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(url, {"body": body + "一回目"})
    with django_capture_on_commit_callbacks() as after_response:
        # session, user, the member's permissions (2), the boards they moderate, the thread, bans
        # (the gate's: the action is told, and does not ask again), a pending confirmation; the
        # action's transaction (2: a savepoint in a test) with the thread locked, the profile,
        # the post, the thread's counters, watching, notices, the draft
        with django_assert_num_queries(17):
            response = member_client.post(url, {"body": body + "二回目"})
    assert response.status_code == 302
    # Each receiver's transaction (2 each: savepoints in a test). Search: the post, its old
    # document (SQLite reads it, PostgreSQL deletes it), the new one (SQLite: and its index row);
    # indicators: the brands, the post, its old sightings and quoted mails, the indicators' ids,
    # the sightings, the indicators locked and taken in, the change token
    with django_assert_num_queries(17 if connection.vendor == "sqlite" else 16):
        for callback in after_response:
            callback()
    assert thread.posts.count() == 3


def test_a_member_replies_only_to_threads_they_may_see(member, other_member, member_client,
                                                      other_member_client):
    """The reply page's thread, looked up for members by a query compiled once per process
    with the member's id: each member gets their own answer."""
    from forum.moderation.models import BoardModerator

    held = actions.create_thread(board=factories.board(), user=member, title="承認待ち",
                                 fields=actions.PostFields(body="本文です。"), held=True)
    hidden = factories.thread(user=member)
    Thread.objects.filter(pk=hidden.pk).update(hidden=True)
    assert member_client.get(f"/info/{held.number}/reply/").status_code == 200  # its originator
    assert other_member_client.get(f"/info/{held.number}/reply/").status_code == 404
    assert member_client.get(f"/info/{hidden.number}/reply/").status_code == 404
    assert member_client.get(f"/chat/{held.number}/reply/").status_code == 404  # another board's slug
    BoardModerator.objects.create(user=other_member, board=factories.board())
    assert other_member_client.get(f"/info/{held.number}/reply/").status_code == 200
    assert other_member_client.get(f"/info/{hidden.number}/reply/").status_code == 200


def test_missing_things_are_404(client, member):
    thread = factories.thread(user=member)
    for url in ["/nosuch/", "/info/999/", "/info/vol/99/", f"/info/{thread.number}/reply/?to=99"]:
        assert (client.get(url) if "reply" not in url else _member(member).get(url)).status_code == 404, url


def _member(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_readers_read_but_must_log_in_to_post(client, member):
    thread = factories.thread(user=member)
    assert client.get(thread.get_absolute_url()).status_code == 200
    for url in ["/info/new/", f"/info/{thread.number}/reply/"]:
        response = client.post(url, {"title": "t", "body": "b"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert Thread.objects.count() == 1 and Post.objects.count() == 1


def test_a_member_starts_a_thread_with_device_and_os_from_the_profile(member_client, member):
    form = text(member_client.get("/info/new/"))
    assert 'value="ProOne 600 G1 AiO"' in form and 'value="Win10Pro64"' in form
    response = member_client.post("/info/new/", {
        "title": "新しい詐欺メール", "subtitle": "副題", "body": "本文\r\n二行目", "device": "iPhone", "os": "iOS 18",
    })
    thread = Thread.objects.get(title="新しい詐欺メール")
    assert response.status_code == 302 and response["Location"] == thread.get_absolute_url()
    post = thread.posts.get()
    assert (post.source, post.device, post.os, post.subtitle) == ("本文\n二行目", "iPhone", "iOS 18", "副題")


def test_only_the_author_or_a_moderator_edits(member, member_client, other_member_client, moderator_client, client):
    thread = factories.thread(user=member)
    url = f"/info/{thread.number}/p1/edit/"
    assert other_member_client.post(url, {"body": "乗っ取り"}).status_code == 403
    assert client.post(url, {"body": "匿名"}).status_code == 302
    assert Post.objects.get().source == "本文です。"
    assert member_client.post(url, {"body": "直した"}).status_code == 302
    # A moderator editing someone else's post gives a reason (forum.moderation logs it).
    assert moderator_client.post(url, {"body": "理由なし"}).status_code == 400
    assert moderator_client.post(url, {"body": "モデレーターが直した", "reason": "誤字"}).status_code == 302
    post = Post.objects.get()
    assert post.source == "モデレーターが直した" and post.edited_at and "モデレーターが直した" in post.html


def test_locked_threads_refuse_replies_with_a_clear_message(member, member_client):
    thread = factories.thread(user=member)
    Thread.objects.filter(pk=thread.pk).update(locked=True)
    response = member_client.post(f"/info/{thread.number}/reply/", {"body": "返信"})
    assert response.status_code == 403
    assert "ロック" in text(response)
    assert Post.objects.count() == 1
    with pytest.raises(actions.ThreadLocked):
        actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="返信"))


@pytest.mark.parametrize("data, field", [
    ({"title": "長" * 201, "body": "本文"}, "title"),
    ({"title": "題", "body": "あ" * 100_001}, "body"),
    ({"title": "題", "body": ""}, "body"),
    ({"title": "題", "body": " \n\t "}, "body"),
    ({"title": "題", "body": "NUL\x00バイト"}, "body"),
    ({"title": "題\x00", "body": "本文"}, "title"),
    ({"title": "二行の\n題", "body": "本文"}, "title"),
    ({"title": "", "body": "本文"}, "title"),
])
def test_bad_input_gets_a_clear_message_and_saves_nothing(member_client, data, field):
    response = member_client.post("/info/new/", data)
    assert response.status_code == 400
    assert f'id="id_{field}-errors"' in text(response) or 'class="errorlist' in text(response)
    assert Thread.objects.count() == 0 and Post.objects.count() == 0
    assert Board.objects.get(slug="info").last_thread_number == 0
    # What was typed is kept as a draft, cut to what can be stored.
    draft = Draft.objects.get()
    assert "\x00" not in draft.title + draft.body and len(draft.title) <= 200


def test_invalid_utf8_is_refused_not_stored_damaged(member_client):
    body = "title=%E9%A1%8C&body=%FF%FE%E3%81%82".encode()
    response = member_client.generic("POST", "/info/new/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "UTF-8" in text(response)
    assert Post.objects.count() == 0


def test_a_forged_csrf_token_is_refused_with_a_clear_page(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    client.get("/info/new/")
    response = client.post("/info/new/", {"title": "題", "body": "本文", "csrfmiddlewaretoken": "forged" * 8})
    assert response.status_code == 403 and "token" in text(response).lower() or "トークン" in text(response)
    assert Post.objects.count() == 0


def test_every_response_carries_the_content_security_policy(client, member):
    thread = factories.thread(user=member)
    for url in ["/", "/info/", thread.get_absolute_url(), "/accounts/login/", "/nosuch/"]:
        csp = client.get(url)["Content-Security-Policy"]
        for directive in ["script-src 'self'", "img-src 'self'", "object-src 'none'", "base-uri 'none'",
                          "frame-ancestors 'none'"]:
            assert directive in csp, (url, directive)
        assert "unsafe-inline" not in csp and "nonce" not in csp


def test_no_page_holds_an_inline_script_or_style(client, member_client, member):
    thread = factories.thread(user=member)
    pages = [client.get(u) for u in ["/", "/info/", thread.get_absolute_url(), "/accounts/login/", "/accounts/signup/"]]
    pages += [member_client.get(u) for u in ["/info/new/", f"/info/{thread.number}/reply/", "/accounts/profile/"]]
    for response in pages:
        html = text(response)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), response.request["PATH_INFO"]
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", html), response.request["PATH_INFO"]


def test_thread_page_queries_do_not_grow_with_the_thread(client, member, django_assert_num_queries, settings):
    settings.DAIOU_POSTS_PER_PAGE = 200
    small = factories.thread(user=member, replies=2)
    big = factories.thread(user=member, replies=199)
    for thread in (small, big):
        url = thread.get_absolute_url()
        with django_assert_num_queries(3):  # the version (for the page cache), the thread, its posts
            response = client.get(url)
        assert text(response).count("<article") == min(thread.last_position, 200)


def test_thread_page_queries_for_a_member(member_client, member, django_assert_num_queries):
    url = factories.thread(user=member, replies=60).get_absolute_url()
    for page in ("1", "2"):
        # session, user, the member's permissions (for the moderator view), the boards they
        # moderate (forum.moderation.roles), thread, posts; the header's unread notices with
        # whether the member watches the thread (forum.watching)
        with django_assert_num_queries(8):
            member_client.get(url + "?page=" + page)


def test_volume_and_home_queries_do_not_grow(client, member, django_assert_num_queries):
    factories.thread(user=member)
    with django_assert_num_queries(2):  # the newest volume with its board, neighbours and key; threads
        client.get("/info/")
    with django_assert_num_queries(2):
        client.get("/")
    for _ in range(9):
        factories.thread(user=member)
    with django_assert_num_queries(2):
        client.get("/info/")
    with django_assert_num_queries(2):
        client.get("/")


def test_busy_pages_make_the_same_queries_whatever_the_archive_holds(client, member_client, moderator_client,
                                                                    member, other_member, settings):
    settings.DAIOU_PAGE_CACHE = False  # every page rendered, not answered from the cache
    settings.DAIOU_POSTS_PER_PAGE = 5
    thread = factories.thread(user=member, replies=2)
    factories.thread(user=other_member, board_slug="chat")
    urls = ["/", "/info/", "/info/vol/1/", thread.get_absolute_url(), thread.get_absolute_url() + "?page=last"]
    readers = {"anonymous": client, "member": member_client, "moderator": moderator_client}

    def counts() -> dict:
        found = {}
        for role, reader in readers.items():
            for url in urls:
                with CaptureQueriesContext(connection) as queries:
                    assert reader.get(url).status_code == 200, (role, url)
                found[role, url] = len(queries)
        return found

    before = counts()
    for n in range(25):  # volumes of 10 threads: three more on 情報, more on 雑談
        factories.thread(user=other_member if n % 2 else member, board_slug="chat" if n % 3 == 0 else "info",
                         replies=n % 4)
    for _ in range(12):  # the thread grows to three pages
        actions.create_reply(thread=thread, user=other_member, fields=actions.PostFields(body="もう一つ"))
    assert counts() == before


def test_home_shows_each_boards_newest_threads_its_reader_may_see(client, member_client, moderator_client,
                                                                  member, new_member, moderator):
    threads = [factories.thread(user=member, title=f"スレッド{n}") for n in range(1, 9)]
    factories.thread(user=member, board_slug="chat", title="雑談の一つ")
    Thread.objects.filter(pk=threads[-1].pk).update(hidden=True)
    held = actions.create_thread(board=factories.board(), user=new_member, title="承認待ちのスレッド",
                                 fields=actions.PostFields(body="本文"), held=True)

    def newest(reader, board="info") -> list[str]:
        section = text(reader.get("/")).split(f'id="board-{board}"')[1].split("</section>")[0]
        return re.findall(r"NO\.\d+ (\S+)</a>", section)

    assert newest(client) == ["スレッド7", "スレッド6", "スレッド5", "スレッド4", "スレッド3"]
    assert newest(client, "chat") == ["雑談の一つ"]
    assert newest(moderator_client) == ["承認待ちのスレッド", "スレッド8", "スレッド7", "スレッド6", "スレッド5"]
    author = Client()
    author.force_login(held.originator)
    assert newest(author) == ["承認待ちのスレッド", "スレッド7", "スレッド6", "スレッド5", "スレッド4"]


def test_english_is_available_through_accept_language_and_the_switch(client):
    assert "ログイン" in text(client.get("/"))
    assert "Log in" in text(client.get("/", HTTP_ACCEPT_LANGUAGE="en"))
    response = client.get("/i18n/en/?next=/info/")
    assert response.status_code == 302 and response["Location"] == "/info/"
    assert "Log in" in text(client.get("/info/"))


def test_the_language_switch_never_redirects_off_site(client):
    for target in ["https://evil.example/", "//evil.example/", "/\\evil.example"]:
        response = client.get("/i18n/en/", {"next": target})
        assert response["Location"] == reverse("home")


def first_submit_button(html: str) -> dict:
    """The attributes of the composer form's first submit button: the one Enter in a text
    field presses (HTML's implicit submission)."""
    from html.parser import HTMLParser

    class Finder(HTMLParser):
        found, in_form = None, False

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "form" and "compose" in (attrs.get("class") or "").split():
                self.in_form = True
            elif self.in_form and self.found is None and (
                    (tag == "button" and attrs.get("type", "submit") == "submit")
                    or (tag == "input" and attrs.get("type") in ("submit", "image"))):
                self.found = attrs

        def handle_endtag(self, tag):
            if tag == "form":
                self.in_form = False

    finder = Finder()
    finder.feed(html)
    assert finder.found is not None, "no submit button in the composer"
    return finder.found


def test_enter_in_the_composer_previews_or_saves_never_a_quote_or_figure_step(member_client, member):
    from forum.figures import actions as figure_actions
    from forum.figures.images import reencode
    from forum.figures.tests.helpers import image_bytes
    from forum.tests.test_quoting import MAIL

    figure = figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption="図")
    thread = factories.thread(user=member, figures=(figure,))
    quoted = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "add_mail", "mail_source": MAIL})
    assert 'value="remove:0"' in quoted.content.decode()  # a quote's step buttons come before Post
    pages = {"new thread": member_client.get("/info/new/"), "a quote pending": quoted,
             "reply": member_client.get(f"/info/{thread.number}/reply/")}
    for name, response in pages.items():
        button = first_submit_button(response.content.decode())
        assert (button.get("name"), button.get("value")) == ("step", "preview"), name
        # Out of the Tab order and hidden from screen readers: the visible Preview button is the same.
        assert button.get("tabindex") == "-1" and button.get("aria-hidden") == "true", name
    edit = member_client.get(f"/info/{thread.number}/p1/edit/").content.decode()
    assert 'value="remove_figure:0"' in edit
    assert first_submit_button(edit).get("value") == "post"
