"""The exports: CSV rows and a STIX 2.1 bundle that the stix2 library reads."""
import csv
import io
import json

import pytest
import stix2

from incidents.exports import CSV_COLUMNS
from incidents.models import Indicator, indicator_key

pytestmark = pytest.mark.django_db


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def rows(client):
    response = client.get("/indicators/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(body(response).decode("utf-8"))))


def test_csv_columns_and_rows(seed, client):
    exported = rows(client)
    assert list(exported[0]) == CSV_COLUMNS
    by_value = {row["value"]: row for row in exported}
    baby = by_value["https://grp01.id.rakuten.co.jp.baby/"]
    assert baby == {
        "kind": "url", "value": "https://grp01.id.rakuten.co.jp.baby/",
        "defanged": "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/", "registrable_domain": "jp.baby",
        "brand": "楽天", "first_seen": "2020-09-21T13:26:00.000Z", "last_seen": "2020-09-21T13:26:00.000Z",
        "sightings": "2", "thread_urls": "http://testserver/info/916/", "roles": "body", "assessment": "lookalike",
    }
    assert by_value["+819030341000"]["roles"] == "phone_contact"
    assert by_value["ud@kto.net"]["roles"] == "from"
    assert by_value["015058306860"]["defanged"] == "(01)-50-5830-6860"
    # Never a brand's own domain, a claimed sender on it, a namespace, a mentioned number.
    for value in ("rakuten-card.co.jp", "www.rakuten-card.co.jp", "https://www.rakuten-card.co.jp/",
                  "img.card.jp.rakuten-static.com", "myinfo@rakuten.co.jp", "mktvchjwn@rakuten.co.jp",
                  "http://www.w3.org/TR/REC-html40", "w3.org", "+818039232042"):
        assert value not in by_value, value
    assert set(by_value) == set(Indicator.objects.filter(exported=True).values_list("value", flat=True))


def test_a_review_takes_an_indicator_out(seed, client, moderator):
    from incidents.actions import review_indicator

    assert "fuzhishop.com" in {row["value"] for row in rows(client)}
    review_indicator(indicator=Indicator.objects.get(key=indicator_key("domain", "fuzhishop.com")), actor=moderator,
                     verdict="false_positive", reason="テスト")
    assert "fuzhishop.com" not in {row["value"] for row in rows(client)}


def test_exports_are_conditional_and_cached(seed, client, django_assert_num_queries):
    first = client.get("/indicators/export.csv")
    etag = first["ETag"]
    content = body(first)
    assert "max-age=300" in first["Cache-Control"] and "public" in first["Cache-Control"]
    with django_assert_num_queries(1):  # the token only
        assert client.get("/indicators/export.csv", HTTP_IF_NONE_MATCH=etag).status_code == 304
    with django_assert_num_queries(1):  # the token, then the whole text from the cache
        again = client.get("/indicators/export.csv")
        assert body(again) == content
    Indicator.objects.filter(pk=Indicator.objects.first().pk)  # no change: same tag
    from incidents.indexing import note_change

    note_change()
    assert client.get("/indicators/export.csv", HTTP_IF_NONE_MATCH=etag).status_code == 200


def stix_bundle(client):
    response = client.get("/indicators/export.stix.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/stix+json")
    return body(response).decode("utf-8")


def test_the_stix_bundle_is_valid_for_stix2(seed, client):
    text = stix_bundle(client)
    bundle = stix2.parse(text, allow_custom=False)
    assert bundle.type == "bundle"
    objects = {o.id: o for o in bundle.objects}
    by_type = {}
    for o in bundle.objects:
        by_type.setdefault(o.type, []).append(o)
    patterns = {o.pattern for o in by_type["indicator"]}
    assert "[url:value = 'https://grp01.id.rakuten.co.jp.baby/']" in patterns
    assert "[domain-name:value = 'grp01.id.rakuten.co.jp.baby']" in patterns
    assert "[domain-name:value = 'fuzhishop.com']" in patterns
    assert "[email-message:from_ref.value = 'ud@kto.net']" in patterns
    assert "[x-phone-number:value = '+819030341000']" in patterns
    # A brand's own domain or a sender claimed on it is never an indicator.
    assert not any("rakuten.co.jp'" in p or "rakuten-card" in p or "rakuten-static" in p for p in patterns)
    forged = [o for o in by_type["observed-data"] if "forged-sender" in o.get("labels", [])]
    forged_addresses = {objects[ref].value for o in forged for ref in o.object_refs if ref.startswith("email-addr")}
    assert {"myinfo@rakuten.co.jp", "mktvchjwn@rakuten.co.jp", "order@rakuten.co.jp"} <= forged_addresses
    # The brand as an identity, each thread as a report, every reference resolving.
    assert {o.name for o in by_type["identity"]} == {"Daiou", "楽天"}
    (report,) = by_type["report"]
    assert report.name == "NO.916 楽天市場を名乗るフィッシングメール"
    assert report.external_references[0].url == "http://testserver/info/916/"
    for o in bundle.objects:
        for ref in [*o.get("object_refs", []), o.get("source_ref"), o.get("target_ref"), o.get("created_by_ref")]:
            assert ref is None or ref in objects, ref
    # Observables carry STIX's deterministic ids, as the stix2 library makes them.
    url = next(o for o in by_type["url"] if o.value == "https://grp01.id.rakuten.co.jp.baby/")
    assert url.id == stix2.URL(value="https://grp01.id.rakuten.co.jp.baby/").id


def test_stix_ids_are_stable_between_exports(seed, client):
    from incidents.indexing import note_change

    first = json.loads(stix_bundle(client))
    note_change()
    second = json.loads(stix_bundle(client))
    assert first["id"] != second["id"]  # a new bundle …
    assert {o["id"] for o in first["objects"]} == {o["id"] for o in second["objects"]}  # … of the same objects


def test_an_empty_site_exports_an_empty_but_valid_set(client):
    assert rows(client) == []
    bundle = stix2.parse(stix_bundle(client), allow_custom=False)
    assert [o.type for o in bundle.objects] == ["identity"]


def test_patterns_escape_quotes_and_backslashes(member, client):
    from forum.blocks import blocks_to_json, parse_body
    from forum.models import Post
    from forum.tests import factories
    from incidents.exports import _pattern
    from incidents.indexing import index_posts

    thread = factories.thread(user=member)
    post = thread.posts.get()
    source = "********** 以下引用 **********\n\nFrom: a <a@evil-shop.com>\n\nhttps://evil-shop.com/a\\b"
    Post.objects.filter(pk=post.pk).update(blocks=blocks_to_json(parse_body(source)))
    index_posts([post.pk])
    bundle = stix2.parse(stix_bundle(client), allow_custom=False)
    assert "[url:value = 'https://evil-shop.com/a\\\\b']" in {o.pattern for o in bundle.objects if o.type == "indicator"}
    # A quote cannot reach a value through the text scanner; escaped all the same.
    odd = Indicator(kind="url", value="https://evil-shop.com/it's\\", roles=1)
    pattern = _pattern(odd)
    assert pattern == "[url:value = 'https://evil-shop.com/it\\'s\\\\']"
    stix2.Indicator(pattern=pattern, pattern_type="stix", valid_from="2020-09-08T00:00:00Z")
