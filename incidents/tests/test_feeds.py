"""Atom feeds of new threads per board and of new indicators."""
import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def entries(client, url):
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content).findall(f"{ATOM}entry")


def test_new_threads_of_a_board(seed, client):
    titles = [entry.find(f"{ATOM}title").text for entry in entries(client, "/feeds/info.atom")]
    assert titles == ["NO.917 <ドコモ口座>第三者の不正な預金引き出し発覚", "NO.916 楽天市場を名乗るフィッシングメール"]
    assert entries(client, "/feeds/chat.atom") == []
    assert client.get("/feeds/nowhere.atom").status_code == 404


def test_new_indicators_link_only_to_daiou(seed, client):
    found = entries(client, "/feeds/indicators.atom")
    assert len(found) == 29
    for entry in found:
        assert entry.find(f"{ATOM}link").get("href").startswith("http://testserver/indicators/")
    text = client.get("/feeds/indicators.atom").content.decode()
    assert "grp01[.]id[.]rakuten[.]co[.]jp[.]baby" in text
    assert "https://grp01" not in text and "rakuten.co.jp.baby" not in text


def test_feeds_are_read_with_get_or_head_only(client):
    for url in ("/feeds/info.atom", "/feeds/indicators.atom"):
        assert client.head(url).status_code == 200
        for method in (client.post, client.put, client.delete):
            response = method(url)
            assert response.status_code == 405 and response["Allow"] == "GET, HEAD", (method, url)
