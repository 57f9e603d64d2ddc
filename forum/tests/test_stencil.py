"""forum/stencil.py: anonymous readers' thread pages come from a stencil of forum/thread.html.
Each page is checked against the template rendered as usual (the stencil turned off), byte for
byte, for every case the template has; and a template the stencil cannot serve faithfully is
refused when it is cut."""

import copy

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils.safestring import mark_safe

from forum import stencil, views
from forum.archive_io import import_volume
from forum.models import Board, Thread
from forum.moderation import actions as moderation_actions
from forum.stencil import Stencil, StencilError
from forum.tests import factories

pytestmark = pytest.mark.django_db


def fetch(client, url: str, language: str) -> bytes:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    return response.content


@pytest.fixture
def threads(member, moderator, settings, seed_path):
    """A thread of every shape the template has."""
    settings.DAIOU_POSTS_PER_PAGE = 2
    import_volume(seed_path.read_text(encoding="utf-8"), "seed")
    plain = factories.thread(user=member)
    odd = factories.thread(user=member, title='<script>alert(1)</script> & "引用" \'x\'', replies=4)  # 3 pages
    Board.objects.filter(slug="info").update(name='情報 <b>&amp;</b> "掲示板"')
    locked = factories.thread(user=member, title="ロック")
    moderation_actions.lock_thread(thread=locked, actor=moderator, reason="荒らし")
    other = Board.objects.create(slug="news", name="ニュース", position=2)
    moved = factories.thread(user=member, title="移動")
    moderation_actions.move_thread(thread=moved, board=other, actor=moderator, reason="板違い")
    return [Thread.objects.get(pk=t.pk) for t in (plain, odd, locked, moved)] + [
        Thread.objects.get(board__slug="info", number=917)]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_anonymous_pages_are_the_template_byte_for_byte(threads, client, settings, monkeypatch, language):
    settings.DAIOU_PAGE_CACHE = False
    urls = []
    for thread in threads:
        url = thread.get_absolute_url()
        urls += [url, url + "?page=2"] if thread.last_position > settings.DAIOU_POSTS_PER_PAGE else [url]
    from_stencil = [fetch(client, url, language) for url in urls]
    assert views.THREAD_PAGE._cuts, "the pages did not come from the stencil"
    monkeypatch.setattr(views.THREAD_PAGE, "render", views.THREAD_PAGE.render_plain)
    assert from_stencil == [fetch(client, url, language) for url in urls]
    # What each shape shows, so that the comparison above compares something.
    pages = dict(zip(urls, (page.decode() for page in from_stencil)))
    odd, locked, moved = threads[1], threads[2], threads[3]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;引用&quot; &#x27;x&#x27;" in pages[odd.get_absolute_url()]
    assert "情報 &lt;b&gt;&amp;amp;&lt;/b&gt; &quot;掲示板&quot;" in pages[odd.get_absolute_url()]
    assert 'aria-current="page">2<' in pages[odd.get_absolute_url() + "?page=2"]
    assert 'class="notice"' in pages[locked.get_absolute_url()] and "moderation-note" in pages[locked.get_absolute_url()]
    assert 'class="button"' not in pages[locked.get_absolute_url()]
    assert "/news/" in pages[moved.get_absolute_url()] and "moderation-note" in pages[moved.get_absolute_url()]


def test_each_language_and_shape_gets_its_own_cut(threads, client, settings):
    settings.DAIOU_PAGE_CACHE = False
    for language in ("ja", "en"):
        for thread in threads[:3]:
            fetch(client, thread.get_absolute_url(), language)
    # (locked, noindex, moderator, language, script prefix, URLconf): plain and locked, twice.
    assert sorted((key[0], key[3]) for key in views.THREAD_PAGE._cuts) == [
        (False, "en"), (False, "ja"), (True, "en"), (True, "ja")]


def test_members_and_moderators_never_get_or_make_a_stencil(threads, member_client, moderator_client, member,
                                                            settings):
    settings.DAIOU_PAGE_CACHE = False
    url = threads[0].get_absolute_url()
    assert member.profile.display_name in fetch(member_client, url, "ja").decode()
    assert "/moderation/" in fetch(moderator_client, url, "ja").decode()
    assert views.THREAD_PAGE._cuts == {}


def test_a_request_with_a_session_or_messages_cookie_is_rendered_as_usual(threads, client, settings):
    settings.DAIOU_PAGE_CACHE = False
    client.cookies["messages"] = "x"
    fetch(client, threads[0].get_absolute_url(), "ja")
    assert views.THREAD_PAGE._cuts == {}


# ---- the stencil itself, on templates of the tests' own --------------------------------------


@pytest.fixture
def template_dir(tmp_path, settings):
    engines = copy.deepcopy(settings.TEMPLATES)
    engines[0]["DIRS"] = [tmp_path, *engines[0]["DIRS"]]
    settings.TEMPLATES = engines
    return tmp_path


def reader(path="/info/1/"):
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    return request


def page(template_dir, source: str, **declared) -> Stencil:
    (template_dir / "page.html").write_text(source, encoding="utf-8")
    return Stencil("page.html", **declared)


VALUES = {"title": "a < b & \"c\"", "body": "<em>safe</em>", "slug": "info", "number": 42, "wide": True}
DECLARED = {"text": ("title",), "html": ("body",), "words": ("slug",), "numbers": ("number",), "shape": ("wide",)}


def test_values_are_filled_in_as_the_template_prints_them(template_dir):
    source = ('{% load frame %}<title>{{ title }}</title>{% if wide %}<div class="wide">{% endif %}{{ body }}'
              '<a href="{% url "thread" slug number %}">{{ title }} NO.{{ number }}</a> {% language_links %}')
    one = page(template_dir, source, **DECLARED)
    for values in (VALUES, {**VALUES, "title": "別の題", "number": 7, "slug": "news", "wide": False}):
        assert one.render(reader("/news/7/"), values) == one.render_plain(reader("/news/7/"), values)
    assert len(one._cuts) == 2  # one cut for each value of `wide`
    filled = one.render(reader(), {**VALUES, "body": mark_safe(VALUES["body"])})
    assert "<title>a &lt; b &amp; &quot;c&quot;</title>" in filled and "<em>safe</em>" in filled
    assert '<a href="/info/42/">' in filled and "?next=/info/1/" in filled


@pytest.mark.parametrize("source", [
    "{{ title|upper }}",  # a filter changes a text
    "{{ title|safe }}",  # a text printed unescaped
    "{{ body|force_escape }}",  # html escaped
    "{{ number|stringformat:'x' }}",  # a number changed
])
def test_a_value_printed_changed_is_refused(template_dir, source):
    with pytest.raises(StencilError, match="printed changed|changes with its values"):
        page(template_dir, source, **DECLARED).render(reader(), VALUES)


def test_a_value_the_page_depends_on_beyond_printing_is_refused(template_dir):
    # The stand-ins differ between the two cuts, and so does the page: refused.
    with pytest.raises(StencilError, match="changes with its values"):
        page(template_dir, "{{ number|add:1 }} {{ title }}", **DECLARED).render(reader(), VALUES)


def test_values_must_be_exactly_the_declared_ones(template_dir):
    one = page(template_dir, "{{ title }}", **DECLARED)
    with pytest.raises(StencilError, match="declared"):
        one.render(reader(), {**VALUES, "extra": 1})
    with pytest.raises(StencilError, match="declared"):
        Stencil("page.html", text=("title",), html=("title",))


def test_a_page_with_a_csrf_token_is_refused(template_dir):
    with pytest.raises(StencilError, match="CSRF"):
        page(template_dir, "<form>{% csrf_token %}</form>{{ title }}", **DECLARED).render(reader(), VALUES)


def test_words_that_are_not_plain_and_readers_with_cookies_get_the_template(template_dir):
    one = page(template_dir, "{{ slug }} {{ title }}", **DECLARED)
    assert one.render(reader(), {**VALUES, "slug": "a<b"}) == "a&lt;b a &lt; b &amp; &quot;c&quot;"
    with_session = reader()
    with_session.COOKIES["sessionid"] = "x"
    one.render(with_session, VALUES)
    assert one._cuts == {}
    one.render(reader(), VALUES)
    assert len(one._cuts) == 1
    stencil.clear()
    assert one._cuts == {}
