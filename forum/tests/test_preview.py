import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_preview_is_refused(client):
    response = client.post("/preview/", {"content": "**x**"})
    assert response.status_code == 403


def test_preview_uses_the_same_sanitising_renderer(member_client):
    from forum.render import render_markdown

    source = "**太字** <script>alert(1)</script> [x](javascript:alert(1))"
    response = member_client.post("/preview/", {"content": source})
    assert response.status_code == 200
    html = response.content.decode()
    assert html == render_markdown(source)
    assert "<script" not in html and "javascript:" not in html and "<strong>太字</strong>" in html


def test_preview_is_post_only_and_bounded(member_client):
    assert member_client.get("/preview/").status_code == 405
    assert member_client.post("/preview/", {"content": "あ" * 100_001}).status_code == 413


def test_markdownx_upload_endpoint_is_not_exposed(member_client):
    assert member_client.post("/markdownx/upload/").status_code == 404
    assert member_client.post("/preview/no-uploads/").status_code == 404


def test_the_editor_widget_points_at_the_guarded_preview(member_client):
    page = member_client.get("/info/new/").content.decode()
    assert 'data-markdownx-urls-path="/preview/"' in page
    assert "markdownx/js/markdownx" in page
