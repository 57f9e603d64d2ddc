"""The indicator pages: what they show, that no indicator is ever a link, and their query counts."""
import re
from html.parser import HTMLParser

import pytest

from forum.models import Post
from incidents.indexing import index_posts
from incidents.models import Indicator, IndicatorReview, indicator_key

pytestmark = pytest.mark.django_db


class Attributes(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []   # every href, src, action…
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.urls += [value or "" for name, value in attrs if name in {"href", "src", "action", "srcset", "formaction",
                                                                        "data", "poster", "background"}]


def page(client, url, status=200):
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")  # the English msgids, whatever is translated
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


def assert_no_live_indicator(html):
    """No indicator in an href or src, and no fanged value in the text: everything defanged."""
    parser = Attributes()
    parser.feed(html)
    assert "script" not in parser.tags and "style" not in parser.tags and "img" not in parser.tags
    assert not re.search(r'\sstyle=', html)
    for url in parser.urls:
        assert url.startswith(("/", "#", "?")) or url == "", url
    values = list(Indicator.objects.exclude(kind="phone").values_list("value", flat=True))
    for value in values:
        assert value not in html, value
    assert "https://" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2005/Atom"', "")


def get(kind, value):
    return Indicator.objects.get(key=indicator_key(kind, value))


def test_the_list_shows_newest_and_most_seen(seed, client, django_assert_num_queries):
    with django_assert_num_queries(3):  # brands for the filter, newest, most seen
        html = page(client, "/indicators/")
    assert "grp01[.]id[.]rakuten[.]co[.]jp[.]baby" in html
    assert "myinfo[@]rakuten[.]co[.]jp" in html
    assert_no_live_indicator(html)
    assert "csrfmiddlewaretoken" not in html  # cacheable for anonymous readers


def test_filters_by_kind_and_brand(seed, client, django_assert_num_queries):
    with django_assert_num_queries(3):
        html = page(client, "/indicators/?kind=phone&brand=rakuten")
    assert "090-3034-1000" in html and "[.]" not in html.split("<table", 1)[1]
    html = page(client, "/indicators/?kind=url&brand=amazon")
    assert "<table" not in html.split("<main", 1)[1]


@pytest.mark.parametrize("query", ["kind=evil", "brand=nobody", "kind=%00", "q=" + "a" * 3000, "q=%00"])
def test_bad_filters_are_a_clear_400(seed, client, query):
    html = page(client, f"/indicators/?{query}", status=400)
    assert 'class="errorlist' in html


def test_the_lookup_page(seed, client, django_assert_num_queries):
    url = "/indicators/?q=hxxps%3A%2F%2Fgrp01%5B.%5Did%5B.%5Drakuten%5B.%5Dco%5B.%5Djp%5B.%5Dbaby%2F"
    with django_assert_num_queries(6):  # brands, token, exact, same host, same domain, threads
        html = page(client, url)
    with django_assert_num_queries(2):  # brands, token: the answer comes from the cache
        again = page(client, url)
    assert html == again
    assert "楽天市場を名乗るフィッシングメール" in html and 'href="/info/916/"' in html
    assert html.count("assessment-lookalike") >= 2  # the URL and its host
    assert_no_live_indicator(html)
    html = page(client, "/indicators/?q=%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF")  # こんにちは
    assert "does not read as a URL" in html


def test_the_lookup_cache_follows_changes(seed, client, moderator):
    from incidents.actions import review_indicator

    url = "/indicators/?q=fuzhishop.com"
    assert "verdict" not in page(client, url).split("<main", 1)[1]
    review_indicator(indicator=get("domain", "fuzhishop.com"), actor=moderator, verdict="false_positive",
                     reason="テスト")
    assert 'class="verdict"' in page(client, url)


def test_the_indicator_page(seed, client, django_assert_num_queries):
    baby = get("host", "grp01.id.rakuten.co.jp.baby")
    with django_assert_num_queries(2):  # the indicator with its brand, the sightings with thread and post
        html = page(client, f"/indicators/{baby.pk}/")
    assert "grp01[.]id[.]rakuten[.]co[.]jp[.]baby" in html
    assert 'href="/info/916/?page=1#p3"' in html and 'href="/indicators/brands/rakuten/"' in html
    assert "?q=jp%5B.%5Dbaby" in html  # the registrable domain, looked up in its defanged form
    assert_no_live_indicator(html)
    assert "csrfmiddlewaretoken" not in html
    page(client, f"/indicators/{baby.pk}/?page=0", status=404)
    page(client, f"/indicators/{baby.pk}/?page=x", status=404)
    page(client, "/indicators/999999/", status=404)
    page(client, "/indicators/99999999999999999999999/", status=404)


def test_hidden_posts_leave_the_page_for_readers_not_for_moderators(seed, client, moderator_client):
    phone = get("phone", "+819030341000")
    Post.objects.filter(thread__number=916, position=4).update(hidden=True)  # not re-indexed on purpose
    assert page(client, f"/indicators/{phone.pk}/").count("<tr>") == 2  # the head and post 3
    assert page(moderator_client, f"/indicators/{phone.pk}/").count('class="hidden-row"') == 1


def board_moderator_client(slug: str):
    from django.test import Client

    from forum.moderation.models import BoardModerator
    from forum.tests import factories

    user = factories.UserFactory()
    BoardModerator.objects.create(user=user, board=factories.board(slug))
    client = Client()
    client.force_login(user)
    return client


def test_a_boards_moderators_see_its_hidden_posts_sightings_but_reviews_are_site_wide(seed):
    phone = get("phone", "+819030341000")
    Post.objects.filter(thread__number=916, position=4).update(hidden=True)
    info, chat = board_moderator_client("info"), board_moderator_client("chat")  # the seed is on 情報
    url = f"/indicators/{phone.pk}/"
    assert page(info, url).count('class="hidden-row"') == 1
    html = page(chat, url)
    assert html.count('class="hidden-row"') == 0 and html.count("<tr>") == 2
    # A verdict takes the indicator out of every board's exports: moderators of every board only.
    assert 'name="verdict"' not in page(info, url)
    assert info.post(f"{url}review/", {"verdict": "false_positive", "reason": "正規"}).status_code == 403
    assert not IndicatorReview.objects.exists()


def test_the_brand_pages(seed, client, django_assert_num_queries):
    with django_assert_num_queries(1):
        html = page(client, "/indicators/brands/")
    assert re.search(r"楽天 \(Rakuten\)</a> <span class=\"meta\">11 ", html)
    with django_assert_num_queries(4):  # brand, months, latest quotes, indicators
        html = page(client, "/indicators/brands/rakuten/")
    assert "2020-08" not in html  # months are the posts', not the mails' dates
    assert "2020-09" in html and "2020-10" in html and "<meter" in html
    assert "rakuten-card[.]co[.]jp" in html  # its own domains, defanged
    assert_no_live_indicator(html)
    page(client, "/indicators/brands/nobody/", status=404)


def test_moderators_review_on_the_page(seed, moderator_client, member_client):
    shop = get("domain", "fuzhishop.com")
    html = page(moderator_client, f"/indicators/{shop.pk}/")
    assert "csrfmiddlewaretoken" in html and 'name="reason"' in html
    assert 'name="reason"' not in page(member_client, f"/indicators/{shop.pk}/")
    response = moderator_client.post(f"/indicators/{shop.pk}/review/", {"verdict": "legitimate", "reason": ""})
    assert response.status_code == 400 and not IndicatorReview.objects.exists()
    response = moderator_client.post(f"/indicators/{shop.pk}/review/",
                                     {"verdict": "legitimate", "reason": "本物の店でした"})
    assert response.status_code == 302 and response.url == f"/indicators/{shop.pk}/"
    shop.refresh_from_db()
    assert (shop.verdict, shop.exported, shop.review_reason) == ("legitimate", False, "本物の店でした")
    response = moderator_client.post(f"/indicators/{shop.pk}/review/", {"verdict": "bogus", "reason": "x"})
    assert response.status_code == 400


def test_only_moderators_may_review(seed, member_client, client):
    shop = get("domain", "fuzhishop.com")
    assert member_client.post(f"/indicators/{shop.pk}/review/", {"verdict": "legitimate", "reason": "x"}).status_code == 403
    response = client.post(f"/indicators/{shop.pk}/review/", {"verdict": "legitimate", "reason": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    assert client.get(f"/indicators/{shop.pk}/review/").status_code == 405
    assert not IndicatorReview.objects.exists()


def test_quoted_text_shown_on_pages_is_defanged(member, client):
    from forum.tests import factories

    thread = factories.thread(user=member, body="本文")
    post = thread.posts.get()
    from forum.blocks import blocks_to_json, parse_body

    body = "********** 以下引用 **********\n\nFrom: 楽天 <a@evil-shop.com>\nSubject: 確認 https://evil-shop.com/s\n\n本文"
    Post.objects.filter(pk=post.pk).update(blocks=blocks_to_json(parse_body(body)))
    index_posts([post.pk])
    html = page(client, "/indicators/brands/rakuten/")
    assert "hxxps://evil-shop[.]com/s" in html and "https://evil-shop.com" not in html
