"""Serving a figure: the stored image only, as that image, and only to who may see its post."""

import pytest
from django.test import Client

from forum import actions
from forum.figures.actions import store_upload
from forum.figures.images import reencode
from forum.figures.models import Figure
from forum.figures.tests.helpers import image_bytes
from forum.models import Post, Thread
from forum.tests import factories

pytestmark = pytest.mark.django_db


def posted_figure(user, fmt: str = "PNG", caption: str = "偽サイトの画面") -> Figure:
    figure = store_upload(user=user, image=reencode(image_bytes(fmt)), caption=caption)
    factories.thread(user=user, body="スクリーンショットです。", figures=(figure,))
    figure.refresh_from_db()
    return figure


def url(figure: Figure) -> str:
    return f"/media/figures/{figure.name}"


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                                   ("WEBP", "image/webp")])
def test_a_posted_figure_is_served_as_the_image_it_is(client, member, fmt, content_type):
    figure = posted_figure(member, fmt)
    response = client.get(url(figure))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == figure.path.read_bytes()
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="{figure.name}"'
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    # Decided without the session: a cache may keep it for every reader.
    assert "Cookie" not in response.get("Vary", "")


def test_head_and_revalidation_work_and_other_methods_do_not(client, member):
    figure = posted_figure(member)
    assert client.head(url(figure)).status_code == 200
    assert client.post(url(figure)).status_code == 405
    again = client.get(url(figure), HTTP_IF_NONE_MATCH=f'"{figure.sha256}"')
    assert again.status_code == 304 and again["Cache-Control"].startswith("public")


@pytest.mark.parametrize("name", [
    "0" * 64 + ".png",  # no such figure
    "A" * 64 + ".png", "0" * 63 + ".png", "0" * 64 + ".svg", "0" * 64 + ".html", "0" * 64, "../../etc/passwd",
    "0" * 64 + ".png.html",
])
def test_anything_else_is_not_found(client, name):
    assert client.get(f"/media/figures/{name}").status_code == 404


def test_a_file_that_no_row_names_is_not_served(client, member):
    figure = posted_figure(member)
    Figure.objects.filter(pk=figure.pk).delete()
    assert figure.path.exists()
    assert client.get(url(figure)).status_code == 404


@pytest.mark.parametrize("how", ["hidden post", "held post", "hidden thread"])
def test_a_figure_of_a_post_readers_cannot_see_is_refused_to_them(client, member, other_member_client,
                                                                   moderator_client, how):
    figure = posted_figure(member)
    if how == "hidden thread":
        Thread.objects.update(hidden=True)
    else:
        Post.objects.update(**{"hidden" if how == "hidden post" else "held": True})
    assert client.get(url(figure)).status_code == 404
    assert other_member_client.get(url(figure)).status_code == 404
    seen = moderator_client.get(url(figure))
    assert seen.status_code == 200 and seen["Cache-Control"] == "private, no-cache"
    # The board's own moderators see it with the post's text; another board's do not.
    from forum.moderation.models import BoardModerator

    for slug, status in (("info", 200), ("chat", 404)):
        board_moderator = factories.UserFactory()
        BoardModerator.objects.create(user=board_moderator, board=factories.board(slug))
        client.force_login(board_moderator)
        assert client.get(url(figure)).status_code == status, slug


def test_the_same_image_in_a_visible_post_stays_served(client, member, other_member):
    hidden = posted_figure(member)
    Post.objects.update(hidden=True)
    shown = posted_figure(other_member)
    assert shown.path == hidden.path
    assert client.get(url(hidden)).status_code == 200


def test_a_figure_not_yet_posted_is_seen_by_its_owner_only(client, member, member_client, other_member_client):
    figure = store_upload(user=member, image=reencode(image_bytes()), caption="下書きの図")
    response = member_client.get(url(figure))
    assert response.status_code == 200 and response["Cache-Control"] == "private, no-cache"
    assert other_member_client.get(url(figure)).status_code == 404
    assert client.get(url(figure)).status_code == 404
    assert Client().get(url(figure)).status_code == 404


def test_the_figures_of_a_deleted_account_stay_with_its_posts(client, member):
    figure = posted_figure(member)
    member.delete()
    assert client.get(url(figure)).status_code == 200
    assert Figure.objects.get().owner is None
