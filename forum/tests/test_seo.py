"""For search engines (forum/seo.py): canonical addresses, robots.txt, the sitemap, noindex;
and static files cached for good once their names carry a hash."""

import re
from xml.etree import ElementTree

import pytest
from django.test import RequestFactory, override_settings

from forum import seo
from forum.models import Post, Thread
from forum.tests import factories

pytestmark = pytest.mark.django_db
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def text(response) -> str:
    return response.content.decode()


def canonical(response) -> str:
    return re.search(r'<link rel="canonical" href="([^"]+)">', text(response))[1]


def noindexed(response) -> bool:
    return '<meta name="robots" content="noindex">' in text(response) or "noindex" in response.get("X-Robots-Tag", "")


def test_thread_and_volume_pages_name_their_canonical_address(client, member, settings):
    settings.DAIOU_POSTS_PER_PAGE = 5
    thread = factories.thread(user=member, replies=7)
    url = thread.get_absolute_url()
    assert canonical(client.get(url)) == f"http://testserver{url}"
    assert canonical(client.get(url + "?page=1")) == f"http://testserver{url}"
    assert canonical(client.get(url + "?page=2")) == f"http://testserver{url}?page=2"
    assert canonical(client.get(url + "?page=last")) == f"http://testserver{url}?page=2"
    volume = f"/info/vol/{thread.volume.number}/"
    assert canonical(client.get(volume)) == f"http://testserver{volume}"
    assert canonical(client.get("/info/")) == "http://testserver/info/"
    assert not noindexed(client.get(url)) and not noindexed(client.get(volume))


def test_robots_txt_keeps_crawlers_out_of_search_staff_preview_and_lookups(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    rules = text(response).splitlines()
    for path in ("/search/", "/admin/", "/moderation/", "/preview/", "/api/", "/indicators/?", "/accounts/"):
        assert f"Disallow: {path}" in rules
    assert "Sitemap: http://testserver/sitemap.xml" in rules
    assert not any(rule in ("Disallow: /", "Disallow: /info/") for rule in rules)


def test_the_sitemap_is_an_index_of_pages_of_boards_volumes_and_visible_threads(
        client, member, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(seo.ThreadSitemap, "limit", 2)
    threads = [factories.thread(user=member, title=f"題名{n}") for n in range(5)]
    hidden = threads[1]
    Thread.objects.filter(pk=hidden.pk).update(hidden=True)
    with django_assert_max_num_queries(8):  # a count and a latest date per section, no rows
        index = client.get("/sitemap.xml")
    locations = [e.text for e in ElementTree.fromstring(index.content).iter(f"{SITEMAP}loc")]
    assert "http://testserver/sitemap-boards.xml" in locations
    assert "http://testserver/sitemap-threads.xml" in locations
    assert "http://testserver/sitemap-threads.xml?p=2" in locations  # 4 visible threads, 2 a page
    assert "http://testserver/sitemap-threads.xml?p=3" not in locations
    listed = []
    for page in (1, 2):
        with django_assert_max_num_queries(2):  # the count, then one page of rows
            response = client.get(f"/sitemap-threads.xml?p={page}")
        listed += [e.text for e in ElementTree.fromstring(response.content).iter(f"{SITEMAP}loc")]
    expected = [f"http://testserver{t.get_absolute_url()}" for t in threads if t.pk != hidden.pk]
    assert sorted(listed) == sorted(expected)
    boards = text(client.get("/sitemap-boards.xml"))
    assert "http://testserver/info/" in boards and "http://testserver/chat/" in boards
    assert f"http://testserver/info/vol/{threads[0].volume.number}/" in text(client.get("/sitemap-volumes.xml"))


def test_the_sitemap_is_read_with_get_or_head_only(client):
    for url in ("/sitemap.xml", "/sitemap-threads.xml", "/sitemap-boards.xml"):
        assert client.head(url).status_code == 200
        for method in (client.post, client.put, client.delete):
            response = method(url)
            assert response.status_code == 405 and response["Allow"] == "GET, HEAD", (method, url)


def test_search_staff_and_account_pages_say_noindex(client, admin_client):
    for url in ("/search/?q=楽天", "/admin/login/", "/accounts/login/", "/indicators/?q=example.com"):
        assert "noindex" in client.get(url).get("X-Robots-Tag", ""), url
    assert "noindex" in admin_client.get("/admin/").get("X-Robots-Tag", "")
    assert "X-Robots-Tag" not in client.get("/indicators/")
    assert "X-Robots-Tag" not in client.get("/")


def test_pages_with_a_hidden_post_and_hidden_threads_say_noindex(client, member, moderator_client):
    thread = factories.thread(user=member, replies=1)
    url = thread.get_absolute_url()
    assert not noindexed(client.get(url))
    Post.objects.filter(thread=thread, position=2).update(hidden=True)
    from forum import counters

    counters.note_thread_changed(thread)
    assert noindexed(client.get(url))
    Thread.objects.filter(pk=thread.pk).update(hidden=True)
    counters.note_thread_changed(thread)
    assert client.get(url).status_code == 404
    assert noindexed(moderator_client.get(url))


def test_hashed_static_files_are_cached_for_good(tmp_path, settings):
    """With DEBUG off (collectstatic, hashed names) whitenoise marks them immutable."""
    from django.core.management import call_command
    from django.templatetags.static import static
    from whitenoise.middleware import WhiteNoiseMiddleware

    storages = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=storages, DEBUG=False):
        call_command("collectstatic", "--no-input", verbosity=0)
        hashed = static("css/daiou.css")
        assert re.fullmatch(r"/static/css/daiou\.[0-9a-f]{12}\.css", hashed)
        middleware = WhiteNoiseMiddleware(lambda request: None)
        response = middleware(RequestFactory().get(hashed))
        assert response.status_code == 200
        assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"]
        plain = middleware(RequestFactory().get("/static/css/daiou.css"))
        assert "immutable" not in plain["Cache-Control"]
