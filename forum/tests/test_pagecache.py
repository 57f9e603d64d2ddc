"""The page cache for anonymous readers (forum/pagecache.py): keys carry the thread's version
and the reader's language; members never get or store a cached page; conditional GETs."""

import pytest
from django.test import Client

from forum import actions, counters
from forum.models import Board, Post, Thread
from forum.tests import factories

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_an_anonymous_reader_gets_the_second_request_from_the_cache_in_one_query(
        client, member, django_assert_num_queries):
    url = factories.thread(user=member, title="キャッシュの試験", replies=3).get_absolute_url()
    with django_assert_num_queries(3):  # the version, the thread (visibility, moderation note), its posts
        first = client.get(url)
    assert first["X-Page-Cache"] == "miss"
    with django_assert_num_queries(1):  # the thread's version only
        second = client.get(url)
    assert second["X-Page-Cache"] == "hit"
    assert second.content == first.content and "キャッシュの試験" in text(second)
    assert second["ETag"] == first["ETag"] and second["Last-Modified"] == first["Last-Modified"]
    assert "no-cache" in second["Cache-Control"]
    assert {"cookie", "accept-language"} <= {v.strip().lower() for v in second["Vary"].split(",")}


def test_a_reply_an_edit_and_a_hidden_post_each_make_a_new_page(client, member):
    thread = factories.thread(user=member, body="最初の本文")
    url = thread.get_absolute_url()
    tags = [client.get(url)["ETag"]]
    assert client.get(url)["X-Page-Cache"] == "hit"

    actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="新しい返信"))
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss" and "新しい返信" in text(response)
    tags.append(response["ETag"])

    first = Post.objects.get(thread=thread, position=1)
    actions.edit_post(post=first, user=member, fields=actions.PostFields(body="直した本文"))
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss" and "直した本文" in text(response) and "最初の本文" not in text(response)
    tags.append(response["ETag"])

    # A save through the ORM anywhere (the admin, a shell) bumps the version too.
    first.refresh_from_db()
    first.hidden = True
    first.save()
    response = client.get(url)
    assert "直した本文" not in text(response)
    tags.append(response["ETag"])

    # A bulk write calls the owner of the counters, as forum.moderation does.
    Post.objects.filter(pk=first.pk).update(hidden=False)
    counters.note_thread_changed(thread)
    response = client.get(url)
    assert "直した本文" in text(response)
    tags.append(response["ETag"])
    assert len(set(tags)) == len(tags)


def test_a_board_renamed_in_the_admin_shows_on_cached_pages(client, member):
    thread = factories.thread(user=member)
    for url in (thread.get_absolute_url(), "/info/"):
        assert "情報" in text(client.get(url))
    board = Board.objects.get(slug="info")
    board.name = "詐欺情報"
    board.save()
    for url in (thread.get_absolute_url(), "/info/"):
        assert "詐欺情報" in text(client.get(url))


def test_members_never_get_a_cached_page_and_never_store_one(client, member, member_client):
    url = factories.thread(user=member).get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    mine = member_client.get(url)
    assert "X-Page-Cache" not in mine and "ETag" not in mine
    assert member.username in text(mine)  # the member's own header, not the reader's page
    # A member's page is never kept: the anonymous reader still gets the readers' page.
    factories.thread(user=member)  # another thread, same cache
    other_url = Thread.objects.order_by("-pk").first().get_absolute_url()
    assert "X-Page-Cache" not in member_client.get(other_url)
    reader = client.get(other_url)
    assert reader["X-Page-Cache"] == "miss" and member.username not in text(reader)


def test_english_and_japanese_readers_never_get_each_others_page(client, member):
    url = factories.thread(user=member).get_absolute_url()
    japanese = client.get(url)
    assert "ログイン" in text(japanese) and japanese["X-Page-Cache"] == "miss"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert "Log in" in text(english) and "ログイン" not in text(english)
    assert english["X-Page-Cache"] == "miss" and english["ETag"] != japanese["ETag"]
    # Both are cached now, each under its own language; the cookie of the switch counts too.
    assert "Log in" in text(client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "ログイン" in text(client.get(url, HTTP_ACCEPT_LANGUAGE="ja"))
    switched = Client()
    switched.get("/i18n/en/?next=/")
    by_cookie = switched.get(url)
    assert by_cookie["X-Page-Cache"] == "hit" and "Log in" in text(by_cookie)
    assert "ログイン" in text(Client().get(url, HTTP_ACCEPT_LANGUAGE="ja"))
    # A 304 is never given for the other language's tag either.
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="ja", HTTP_IF_NONE_MATCH=english["ETag"]).status_code == 200


def test_conditional_gets_answer_304_until_the_thread_changes(client, member, django_assert_num_queries):
    thread = factories.thread(user=member)
    url = thread.get_absolute_url()
    first = client.get(url)
    with django_assert_num_queries(1):
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["ETag"] == first["ETag"] and not again.content
    assert "no-cache" in again["Cache-Control"]
    actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="続報"))
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    # A second's Last-Modified cannot tell two versions of one second apart: never a 304 on it.
    changed = client.get(url, HTTP_IF_MODIFIED_SINCE=client.get(url)["Last-Modified"])
    assert changed.status_code == 200 and "続報" in text(changed)


def test_pages_of_a_thread_are_cached_apart_and_page_1_is_one_page(client, member, settings):
    settings.DAIOU_POSTS_PER_PAGE = 5
    url = factories.thread(user=member, replies=7).get_absolute_url()
    one, two = client.get(url), client.get(url + "?page=2")
    assert one["ETag"] != two["ETag"] and "#8" in text(two) and "#8" not in text(one)
    assert client.get(url + "?page=1")["X-Page-Cache"] == "hit"
    assert client.get(url + "?page=last")["ETag"] == two["ETag"]


def test_other_query_strings_and_sessions_are_not_cached(client, member):
    url = factories.thread(user=member).get_absolute_url()
    assert "X-Page-Cache" not in client.get(url + "?utm_source=mail")
    client.cookies["sessionid"] = "anything"
    assert "X-Page-Cache" not in client.get(url)


def test_with_the_cache_off_pages_are_rendered_each_time(client, member, settings):
    settings.DAIOU_PAGE_CACHE = False
    url = factories.thread(user=member).get_absolute_url()
    first, second = client.get(url), client.get(url)
    assert first["X-Page-Cache"] == second["X-Page-Cache"] == "off"
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_volume_pages_are_cached_and_change_with_any_of_their_threads(client, member, django_assert_num_queries):
    thread = factories.thread(user=member, title="元の題名")
    url = f"/info/vol/{thread.volume.number}/"
    assert client.get(url)["X-Page-Cache"] == "miss"
    with django_assert_num_queries(1):  # the volume with its key
        assert client.get(url)["X-Page-Cache"] == "hit"
    Thread.objects.filter(pk=thread.pk).update(title="新しい題名")
    counters.note_thread_changed(thread)
    response = client.get(url)
    assert response["X-Page-Cache"] == "miss" and "新しい題名" in text(response)
    factories.thread(user=member, title="次のスレッド")
    assert "次のスレッド" in text(client.get(url))
    hidden = Thread.objects.get(title="次のスレッド")
    hidden.hidden = True
    hidden.save()
    assert "次のスレッド" not in text(client.get(url))
    assert "次のスレッド" not in text(client.get("/info/"))


def test_rerender_bumps_the_versions_of_the_threads_it_rendered(member):
    from django.core.management import call_command

    thread = factories.thread(user=member)
    call_command("rerender", "--all", verbosity=0)
    assert Thread.objects.get(pk=thread.pk).version > thread.version


def test_a_hidden_thread_is_never_served_from_the_cache(client, member, moderator_client):
    thread = factories.thread(user=member)
    url = thread.get_absolute_url()
    assert client.get(url)["X-Page-Cache"] == "miss"
    thread.refresh_from_db()
    thread.hidden = True
    thread.save()
    for _ in range(2):
        assert client.get(url).status_code == 404
    assert moderator_client.get(url).status_code == 200
    Thread.objects.filter(pk=thread.pk).update(hidden=False)
    counters.note_thread_changed(thread)
    assert client.get(url).status_code == 200


def test_the_version_probe_reads_what_the_orm_reads(member, django_assert_num_queries):
    from forum.pagecache import thread_version

    thread = factories.thread(user=member, replies=2)
    factories.thread(user=member, board_slug="chat")
    Thread.objects.filter(pk=thread.pk).update(version=41)
    with django_assert_num_queries(1):
        assert thread_version("info", thread.number) == (thread.pk, 41, 3)
    chat = Thread.objects.filter(board__slug="chat", number=thread.number)
    assert thread_version("chat", thread.number) == chat.values_list("pk", "version", "last_position").get()
    assert thread_version("info", thread.number + 100) is None and thread_version("nope", thread.number) is None


def test_with_the_page_cache_off_a_readers_page_takes_two_queries_and_keeps_its_etag(
        client, member, settings, django_assert_num_queries):
    settings.DAIOU_PAGE_CACHE = False
    url = factories.thread(user=member, title="キャッシュなし", replies=3).get_absolute_url()
    with django_assert_num_queries(2):  # the thread (its version is the ETag's), its posts
        first = client.get(url)
    assert first.status_code == 200 and first["X-Page-Cache"] == "off" and "キャッシュなし" in text(first)
    with django_assert_num_queries(1):
        assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    actions.create_reply(thread=Thread.objects.get(title="キャッシュなし"), user=member,
                         fields=actions.PostFields(body="返信"))
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_each_process_keeps_the_pages_it_served_in_front_of_the_shared_cache(client, member, monkeypatch):
    from django.core.cache import cache

    from forum import pagecache

    thread = factories.thread(user=member, title="手元の写し", replies=1)
    url = thread.get_absolute_url()
    first = client.get(url)
    asked = []
    monkeypatch.setattr(pagecache.cache, "get", lambda key, *a, **k: asked.append(key))
    second = client.get(url)
    assert second["X-Page-Cache"] == "hit" and second.content == first.content and asked == []
    monkeypatch.undo()

    # Named by the version like the shared copy: a change is a new key, never the old page.
    actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="新しい返信"))
    cache.clear()
    third = client.get(url)
    assert third["X-Page-Cache"] == "miss" and "新しい返信" in text(third)
    # A page found only in the shared cache (another process rendered it) is kept here too.
    pagecache.local_pages.clear()
    assert client.get(url)["X-Page-Cache"] == "hit"
    assert any(url_page == third.content for url_page, *_ in pagecache.local_pages._pages.values())


def test_the_local_pages_are_bounded_in_bytes_and_drop_the_least_recently_served():
    from forum.pagecache import LocalPages

    pages = LocalPages(max_bytes=10)
    pages.put("a", (b"1234", "text/html", 0))
    pages.put("b", (b"1234", "text/html", 0))
    assert pages.get("a") is not None  # now the most recent
    pages.put("c", (b"1234", "text/html", 0))  # 12 bytes: "b" goes
    assert pages.get("b") is None and pages.get("a") and pages.get("c")
    pages.put("big", (b"x" * 11, "text/html", 0))  # larger than the whole store: not kept
    assert pages.get("big") is None and pages.get("a") and pages.get("c")
    pages.put("a", (b"12345678", "text/html", 0))  # replaced, counted once
    assert pages.get("c") is None and pages.get("a")[0] == b"12345678"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_outside_a_transaction_the_probe_runs_on_libpq_and_survives_its_statement_going(member):
    """On PostgreSQL, outside a transaction and with queries not logged, the probe is one libpq
    call on a statement prepared once per connection; psycopg deallocates every statement of
    the connection when a transaction rolls back, and the probe prepares it again."""
    from django.db import connection, transaction

    from forum import pagecache

    thread = factories.thread(user=member, replies=2)
    expected = (thread.pk, Thread.objects.get(pk=thread.pk).version, 3)
    if connection.vendor != "postgresql":
        assert not pagecache._on_libpq(connection)
        assert pagecache.thread_version("info", thread.number) == expected
        return
    assert pagecache._on_libpq(connection)
    assert pagecache.thread_version("info", thread.number) == expected
    assert getattr(connection.connection, "_daiou_probe", False)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert not pagecache._on_libpq(connection)  # inside a transaction: through a cursor
        assert pagecache.thread_version("info", thread.number) == expected
        Thread.objects.filter(pk=thread.pk).update(title="x")  # psycopg prepares its own statements
        for _ in range(6):
            list(Thread.objects.filter(pk=thread.pk))
        raise RuntimeError  # rolled back: psycopg deallocates all
    assert pagecache.thread_version("info", thread.number) == expected
    assert pagecache.thread_version("info", thread.number + 100) is None
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    assert pagecache.thread_version("info", thread.number) == expected  # prepared again
