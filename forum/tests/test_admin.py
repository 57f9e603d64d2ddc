import pytest
from django.contrib import admin

from forum.tests import factories

pytestmark = pytest.mark.django_db

FORUM_MODELS = ["board", "volume", "thread", "post", "profile", "draft", "archiveauthor", "allowedlinkhost",
                "learnedrecipient", "searchdocument"]


def test_every_forum_model_is_in_the_admin():
    registered = {model._meta.model_name for model in admin.site._registry if model._meta.app_label == "forum"}
    assert registered == set(FORUM_MODELS)


def test_admin_pages_open_for_admins(admin_client, member):
    thread = factories.thread(user=member, replies=1)
    post = thread.posts.first()
    for name in FORUM_MODELS:
        assert admin_client.get(f"/admin/forum/{name}/").status_code == 200, name
        assert admin_client.get(f"/admin/forum/{name}/?q=テスト").status_code == 200, name
    assert admin_client.get(f"/admin/forum/post/{post.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/forum/thread/{thread.pk}/change/").status_code == 200


def test_large_tables_use_raw_ids_not_huge_selects(admin_client, member):
    thread = factories.thread(user=member)
    page = admin_client.get(f"/admin/forum/post/{thread.posts.first().pk}/change/").content.decode()
    assert 'name="thread"' in page and "vForeignKeyRawIdAdminField" in page


def test_members_and_anonymous_are_kept_out_of_the_admin(member_client, client):
    assert member_client.get("/admin/forum/post/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/forum/post/")["Location"].startswith("/admin/login/")


def test_an_admin_adds_a_host_to_the_link_allowlist_and_links_to_it_become_clickable(admin_client, member):
    from forum import actions
    from forum.models import Post

    body = "記事 https://news.example-paper.jp/a/1"
    thread = factories.thread(user=member, body=body)
    assert "<a " not in thread.posts.get().html
    response = admin_client.post("/admin/forum/allowedlinkhost/add/", {"host": "EXAMPLE-PAPER.JP", "note": "news"})
    assert response.status_code == 302
    reply = actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body=body))
    assert '<a href="https://news.example-paper.jp/a/1"' in Post.objects.get(pk=reply.pk).html
