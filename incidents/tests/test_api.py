"""The JSON API: a thread with its quotes and indicators; the lookup."""
import pytest

from forum.models import Post, Thread

pytestmark = pytest.mark.django_db


def test_a_thread_with_its_posts_quotes_and_indicators(seed, client, django_assert_num_queries):
    with django_assert_num_queries(5):  # thread, token, posts, quoted mails, sightings with indicators
        response = client.get("/api/info/916.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    data = response.json()
    assert (data["board"], data["number"], data["title"], data["url"]) == (
        "info", 916, "楽天市場を名乗るフィッシングメール", "http://testserver/info/916/")
    assert [post["position"] for post in data["posts"]] == [1, 2, 3, 4]
    first = data["posts"][0]
    assert [quote["number"] for quote in first["quotes"]] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert {quote["brand"]["slug"] for quote in first["quotes"]} == {"rakuten"}
    seventh = first["quotes"][6]
    roles = {(i["kind"], i["value"], i["role"]) for i in seventh["indicators"]}
    assert ("url", "http://www.w3.org/TR/REC-html40", "namespace") in roles
    assert ("email", "myinfo@rakuten.co.jp", "from") in roles
    third = data["posts"][2]["quotes"][0]
    baby = next(i for i in third["indicators"] if i["value"] == "https://grp01.id.rakuten.co.jp.baby/")
    assert (baby["defanged"], baby["assessment"], baby["exported"]) == (
        "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/", "lookalike", True)
    with django_assert_num_queries(2):  # thread, token: the rest from the cache
        assert client.get("/api/info/916.json").json() == data


def test_hidden_posts_and_threads(seed, client, moderator_client):
    thread = Thread.objects.get(number=916)
    Post.objects.filter(thread=thread, position=2).update(hidden=True)
    thread.version += 1
    thread.save(update_fields=["version"])
    hidden = client.get("/api/info/916.json").json()["posts"][1]
    assert hidden == {"position": 2, "url": "http://testserver/info/916/#p2", "hidden": True}
    assert "quotes" in moderator_client.get("/api/info/916.json").json()["posts"][1]
    Thread.objects.filter(pk=thread.pk).update(hidden=True)
    assert client.get("/api/info/916.json").status_code == 404
    assert moderator_client.get("/api/info/916.json").status_code == 200


def test_a_boards_moderators_get_its_hidden_and_held_posts_in_full(seed, member):
    from forum import actions
    from incidents.tests.test_views import board_moderator_client

    thread = Thread.objects.get(number=916)
    Post.objects.filter(thread=thread, position=2).update(hidden=True)
    actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="承認待ち"), held=True)
    info, chat = board_moderator_client("info"), board_moderator_client("chat")
    posts = info.get("/api/info/916.json").json()["posts"]
    assert "quotes" in posts[1] and posts[-1]["position"] == thread.last_position + 1
    posts = chat.get("/api/info/916.json").json()["posts"]
    assert posts[1] == {"position": 2, "url": "http://testserver/info/916/#p2", "hidden": True}
    assert posts[-1]["position"] == thread.last_position


@pytest.mark.parametrize("url", ["/api/info/999.json", "/api/nowhere/916.json", "/api/info/916.json/x",
                                 "/api/info/99999999999999999999999.json"])
def test_unknown_threads(seed, client, url):
    response = client.get(url)
    assert response.status_code == 404


def test_the_lookup_api(seed, client, django_assert_num_queries):
    with django_assert_num_queries(3):  # token, exact, threads (a phone has no host)
        data = client.get("/api/indicators.json", {"q": "090-3034-1000"}).json()
    (phone,) = data["exact"]
    assert (phone["kind"], phone["value"], phone["defanged"], phone["times_seen"], phone["roles"]) == (
        "phone", "+819030341000", "090-3034-1000", 2, ["phone_contact"])
    assert phone["threads"][0]["url"] == "http://testserver/info/916/"
    data = client.get("/api/indicators.json", {"q": "ud[@]kto[.]net"}).json()
    assert [(row["value"], row["claimed_sender_only"]) for row in data["exact"]] == [("ud@kto.net", True)]
    data = client.get("/api/indicators.json", {"q": "rakuten-card[.]co[.]jp"}).json()
    assert {row["assessment"] for row in data["exact"] + data["same_domain"]} == {"legitimate"}
    data = client.get("/api/indicators.json", {"q": "楽天"}).json()
    assert data["understood"] is False and data["exact"] == []


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 3000}, {"q": "\x00"}])
def test_the_lookup_api_refuses_clearly(client, params):
    response = client.get("/api/indicators.json", params)
    assert response.status_code == 400 and response.json()["error"]
