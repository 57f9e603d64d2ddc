"""Figures in the composer (without JavaScript), on the page, in the archive export, and pruned."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.signing import dumps
from django.utils import timezone

from forum import actions
from forum.archive_io import import_volume, volume_page
from forum.blocks import Figure as FigureBlock, blocks_from_json
from forum.figures import actions as figure_actions
from forum.figures.images import reencode
from forum.figures.models import Figure
from forum.figures.tests.helpers import add_figure, image_bytes, token, upload
from forum.figures.tests.test_images import BAD
from forum.models import Board, Draft, Post, Thread, Volume
from forum.quoting import PendingQuote
from forum.tests import factories

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def stored_files(media_root) -> list:
    return sorted(p.name for p in (media_root / "figures").glob("*/*")) if (media_root / "figures").exists() else []


def test_a_figure_is_attached_previewed_and_posted_without_javascript(member_client, member):
    response, figures_token = add_figure(member_client, "/info/new/")
    assert response.status_code == 200 and figures_token
    figure = Figure.objects.get()
    assert figure.post is None and figure.owner == member and figure.path.exists()
    page = response.content.decode()
    assert f'src="/media/figures/{figure.name}"' in page and 'value="remove_figure:0"' in page
    preview = member_client.post("/info/new/", {"title": "楽天の偽サイト", "body": "開くとこの画面でした。",
                                                "step": "preview", "figures_token": figures_token})
    assert preview.status_code == 200
    assert re.search(r'class="preview".*<img src="/media/figures/' + figure.sha256, preview.content.decode(), re.S)
    posted = member_client.post("/info/new/", {"title": "楽天の偽サイト", "body": "開くとこの画面でした。", "step": "post",
                                               "figures_token": token(preview)})
    assert posted.status_code == 302
    figure.refresh_from_db()
    post = Post.objects.get()
    assert figure.post == post and figure.position == 0
    page = member_client.get(posted["Location"]).content.decode()
    img = re.search(r'<img [^>]*>', page[page.index('class="post-body"'):]).group(0)
    assert img == (f'<img src="/media/figures/{figure.name}" width="64" height="48" alt="偽サイトのログイン画面" '
                   'loading="lazy" decoding="async">')
    assert "<figcaption>偽サイトのログイン画面</figcaption>" in page and "&lt;図&gt;" in page
    # The image is part of the stored blocks, by hash: the renderer needs nothing else.
    (block,) = [b for b in blocks_from_json(post.blocks) if isinstance(b, FigureBlock)]
    assert block.image.sha256 == figure.sha256 and block.caption == figure.caption


def test_figures_follow_the_text_and_come_before_quotes_numbered_as_the_archive_does(member):
    thread = factories.thread(user=member)
    figures = tuple(figure_actions.store_upload(user=member, image=reencode(image_bytes(color=(i, 0, 0))),
                                                caption=f"図の説明{i}") for i in range(2))
    quote = PendingQuote(kind="sms", headers=[("From", "Amazon")], body="お支払い方法に問題があります")
    post = actions.create_reply(thread=thread, user=member,
                                fields=actions.PostFields(body="二枚あります。", figures=figures, quotes=(quote,)))
    body = volume_page(thread.volume)
    assert "二枚あります。\n\n\n<図1>\n図の説明0\n\n\n<図2>\n図の説明1\n\n\n********** 以下引用 **********" in body
    assert post.html.index("<figure") > post.html.index("二枚あります") and post.html.index("mail-quote") > \
        post.html.index("図の説明1")
    assert list(Figure.objects.filter(post=post).values_list("position", "caption")) == [(0, "図の説明0"), (1, "図の説明1")]


def test_export_import_export_keeps_the_figure_lines_and_the_import_is_a_placeholder(member, tmp_path):
    figure = figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption="偽SMSの画面")
    thread = factories.thread(user=member, subtitle="副題", body="見てください。", figures=(figure,))
    first = volume_page(thread.volume)
    assert "見てください。\n\n\n<図>\n偽SMSの画面" in first
    Figure.objects.all().delete()
    Post.objects.all().delete(); Thread.objects.all().delete(); Volume.objects.all().delete()
    Board.objects.update(last_thread_number=0, last_volume_number=0)
    import_volume(first, "exported")
    assert volume_page(Volume.objects.get()) == first
    post = Post.objects.get()
    (block,) = [b for b in blocks_from_json(post.blocks) if isinstance(b, FigureBlock)]
    assert block.image is None and block.caption == "偽SMSの画面"
    assert "figure-placeholder" in post.html and "<img" not in post.html


@pytest.mark.parametrize("name", ["zero bytes", "binary garbage", "HTML named .png", "SVG named .png",
                                  "truncated PNG", "truncated JPEG", "PNG with HTML after it",
                                  "JPEG with a zip after it", "animated PNG", "over the pixel limit",
                                  "Pillow's decompression bomb", "a text chunk that unpacks to 20 MB"])
def test_bad_files_get_a_clear_message_in_the_form_and_nothing_is_saved(member_client, media_root, name):
    data, code = BAD[name]
    response, figures_token = add_figure(member_client, "/info/new/", data, body="書きかけ", **EN)
    assert response.status_code == 400 and figures_token == ""
    page = response.content.decode()
    errors = re.search(r'id="id_figure-file-errors">(.*?)</div>', page, re.S).group(1)
    assert {"empty": "empty", "not_an_image": "not a PNG, JPEG or WebP", "broken": "damaged or truncated",
            "polyglot": "other data after the image", "animated": "Animated images",
            "too_many_pixels": "too many pixels", "bomb": "decompression bomb"}[code] in errors
    assert "書きかけ" in page, "the text typed so far stays"
    assert Figure.objects.count() == 0 and stored_files(media_root) == []


def test_a_huge_file_is_refused_before_it_is_decoded(member_client, media_root):
    huge = b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024)
    response, _ = add_figure(member_client, "/info/new/", huge, **EN)
    assert response.status_code == 400 and "larger than 10 MB" in response.content.decode()
    assert Figure.objects.count() == 0 and stored_files(media_root) == []


@pytest.mark.parametrize(("caption", "message"), [
    ("", "Write a caption"), ("> 引用のような説明", "cannot start with"), ("<図2>", "cannot start with"),
    ("********** 以下引用 **********", "cannot start with"), ("一行目\n二行目", "one line"),
    ("説明\x07", "control characters"), ("x" * 201, "at most 200"),
    ("シバケン】 2020/09/11 (Fri) 23:34", "post header"),
])
def test_a_caption_that_would_not_read_back_is_refused(member_client, media_root, caption, message):
    response, _ = add_figure(member_client, "/info/new/", caption=caption, **EN)
    assert response.status_code == 400 and message in response.content.decode()
    assert Figure.objects.count() == 0 and stored_files(media_root) == []


def test_a_caption_is_text_defanged_and_never_markup(member_client, member):
    caption = '<img src=x onerror=alert(1)> 詳細は https://evil.example/a?b=1 へ"'
    _, figures_token = add_figure(member_client, "/info/new/", caption=caption)
    member_client.post("/info/new/", {"title": "題", "body": "", "step": "post", "figures_token": figures_token})
    html = Post.objects.get().html
    assert "<img src=x" not in html and "https://evil" not in html and "onerror=alert(1)" not in html.replace(
        "&lt;img src=x onerror=alert(1)&gt;", "")
    assert 'alt="&lt;img src=x onerror=alert(1)&gt; 詳細は hxxps://evil[.]example/a?b=1 へ&quot;"' in html
    assert '<span class="ioc ioc-url">hxxps://evil[.]example/a?b=1</span>' in html


def test_a_post_holds_at_most_ten_figures(member_client, member):
    figures = [figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption=f"図{i}")
               for i in range(10)]
    response, _ = add_figure(member_client, "/info/new/", figures_token=figure_actions.sign(figures), **EN)
    assert response.status_code == 400 and "at most 10 figures" in response.content.decode()
    assert Figure.objects.count() == 10
    assert 'value="add_figure"' not in response.content.decode()


def test_a_member_cannot_carry_someone_elses_figure_or_a_forged_token(member_client, other_member):
    theirs = figure_actions.store_upload(user=other_member, image=reencode(image_bytes()), caption="他人の図")
    forged = dumps([theirs.pk], salt="something else")
    for figures_token in (figure_actions.sign([theirs]), forged, "garbage"):
        response = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "post",
                                                     "figures_token": figures_token}, **EN)
        assert response.status_code == 400 and "attach" in response.content.decode()
    assert Post.objects.count() == 0 and Figure.objects.get().post is None


def test_a_removed_figure_is_not_posted(member_client):
    _, first = add_figure(member_client, "/info/new/", caption="一枚目")
    response, both = add_figure(member_client, "/info/new/", image_bytes(color=(0, 0, 255)), caption="二枚目",
                                figures_token=first)
    assert 'value="remove_figure:1"' in response.content.decode()
    response = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "remove_figure:0",
                                                 "figures_token": both})
    member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "post", "figures_token": token(response)})
    post = Post.objects.get()
    assert list(post.figures.values_list("caption", flat=True)) == ["二枚目"]
    assert "一枚目" not in post.html and "<図>" not in post.source


def test_figures_alone_make_a_post(member_client):
    _, figures_token = add_figure(member_client, "/info/new/")
    response = member_client.post("/info/new/", {"title": "画面だけ", "body": "", "step": "post",
                                                 "figures_token": figures_token})
    assert response.status_code == 302 and Post.objects.get().figures.count() == 1


def test_a_reply_takes_figures_too(member_client, member):
    thread = factories.thread(user=member)
    url = f"/info/{thread.number}/reply/"
    _, figures_token = add_figure(member_client, url, image_bytes("JPEG"))
    response = member_client.post(url, {"body": "返信", "step": "post", "figures_token": figures_token})
    assert response.status_code == 302
    assert Post.objects.get(position=2).figures.get().ext == "jpg"


def test_an_edit_adds_and_removes_figures_and_a_moderator_keeps_the_authors(member, member_client, moderator_client):
    kept = figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption="最初の図")
    thread = factories.thread(user=member, body="本文", figures=(kept,))
    url = f"/info/{thread.number}/p1/edit/"
    page = member_client.get(url)
    assert 'value="remove_figure:0"' in page.content.decode() and token(page)
    response, both = add_figure(member_client, url, image_bytes("WEBP"), caption="追加の図", body="本文",
                                figures_token=token(page))
    assert response.status_code == 200
    response = member_client.post(url, {"body": "直した本文", "step": "post", "figures_token": both})
    assert response.status_code == 302
    post = Post.objects.get()
    assert list(post.figures.values_list("caption", flat=True)) == ["最初の図", "追加の図"]
    assert "<図1>\n最初の図" in post.source or "<図1>" in volume_page(thread.volume)
    # A moderator's edit of the text keeps the author's figures.
    page = moderator_client.get(url)
    moderator_client.post(url, {"body": "モデレーターが直した", "step": "post", "figures_token": token(page)})
    assert Post.objects.get().figures.count() == 2
    # Removing one detaches it; prune_figures keeps it while an earlier version shows it (below).
    page = member_client.get(url)
    response = member_client.post(url, {"body": "直した本文", "step": "remove_figure:0", "figures_token": token(page)})
    member_client.post(url, {"body": "直した本文", "step": "post", "figures_token": token(response)})
    assert list(Post.objects.get().figures.values_list("caption", flat=True)) == ["追加の図"]
    kept.refresh_from_db()
    assert kept.post is None


def test_an_edit_without_the_figures_field_keeps_the_figures(member):
    figure = figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption="図")
    thread = factories.thread(user=member, body="本文", figures=(figure,))
    post = actions.edit_post(post=thread.posts.get(), user=member, fields=actions.PostFields(body="新しい本文"))
    assert post.figures.count() == 1 and "<img" in post.html


def test_prune_deletes_old_unattached_figures_and_unused_files_only(member, media_root, capsys):
    image = reencode(image_bytes())
    posted = figure_actions.store_upload(user=member, image=image, caption="投稿済み")
    factories.thread(user=member, body="本文", figures=(posted,))
    same_image_pending = figure_actions.store_upload(user=member, image=image, caption="同じ画像")
    fresh = figure_actions.store_upload(user=member, image=reencode(image_bytes(color=(1, 2, 3))), caption="新しい")
    old = figure_actions.store_upload(user=member, image=reencode(image_bytes(color=(9, 9, 9))), caption="古い")
    Figure.objects.filter(pk__in=[same_image_pending.pk, old.pk]).update(created_at=timezone.now() - timedelta(days=2))
    later = timezone.now() + timedelta(hours=1)  # the files are older than the ten-minute grace by then
    assert figure_actions.prune(now=later) == (2, 1)
    assert set(Figure.objects.values_list("caption", flat=True)) == {"投稿済み", "新しい"}
    assert posted.path.exists(), "a file shared by hash stays while a row uses it"
    assert fresh.path.exists() and not old.path.exists()
    call_command("prune_figures")
    assert "pruned 0 unattached figures" in capsys.readouterr().out


def test_a_figure_an_edit_removed_is_kept_while_an_earlier_version_shows_it(member, admin_user, media_root):
    from forum.moderation import actions as moderation
    from forum.moderation.models import PostRevision

    removed = figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption="証拠の画面")
    thread = factories.thread(user=member, body="本文", replies=1, figures=(removed,))
    post = actions.edit_post(post=thread.posts.get(position=1), user=member,
                             fields=actions.PostFields(body="図を外した", figures=()))
    assert not post.figures.exists()
    (revision,) = PostRevision.objects.filter(post=post)
    (block,) = [b for b in blocks_from_json(revision.blocks) if isinstance(b, FigureBlock)]
    assert block.image.sha256 == removed.sha256
    pending = figure_actions.store_upload(user=member, image=reencode(image_bytes(color=(4, 5, 6))), caption="未投稿")
    Figure.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=2))
    later = timezone.now() + timedelta(hours=1)
    assert figure_actions.prune(now=later) == (1, 1)  # the never-posted one and its file only
    removed.refresh_from_db()
    assert removed.path.exists() and removed.post is None
    assert removed.owner is None, "no longer the member's to attach to another post"
    assert not Figure.objects.pending_for(member).filter(pk=removed.pk).exists()
    assert figure_actions.prune(now=later) == (0, 0)
    # Deleted for good, the post's earlier versions go, and the figure with the next prune.
    moderation.delete_post(post=post, actor=admin_user, reason="個人情報")
    assert figure_actions.prune(now=later) == (1, 1)
    assert not Figure.objects.filter(pk=removed.pk).exists() and not removed.path.exists()


def test_a_figure_pruned_while_in_a_composer_gets_a_clear_message(member_client, member):
    _, figures_token = add_figure(member_client, "/info/new/")
    Figure.objects.all().delete()
    response = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "post",
                                                 "figures_token": figures_token}, **EN)
    assert response.status_code == 400 and "no longer there" in response.content.decode()
    assert Post.objects.count() == 0


def test_the_upload_is_decided_by_content_not_by_name_or_declared_type(member_client):
    response = member_client.post("/info/new/", {
        "title": "題", "body": "", "step": "add_figure", "figure-caption": "説明",
        "figure-file": upload(image_bytes("WEBP"), name="shot.svg", content_type="image/svg+xml")})
    assert response.status_code == 200 and Figure.objects.get().ext == "webp"


def test_a_screenshot_chosen_but_not_attached_is_attached_when_posting(member_client, media_root):
    response = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "post",
                                                 "figure-caption": "選んだだけの図", "figure-file": upload(image_bytes())})
    assert response.status_code == 302
    assert list(Post.objects.get().figures.values_list("caption", flat=True)) == ["選んだだけの図"]


def test_a_bad_screenshot_chosen_when_posting_stops_the_post(member_client, media_root):
    response = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "post",
                                                 "figure-caption": "図", "figure-file": upload(b"<svg/>")}, **EN)
    assert response.status_code == 400 and "not a PNG, JPEG or WebP" in response.content.decode()
    assert Post.objects.count() == 0 and Figure.objects.count() == 0
    assert Draft.objects.get().body == "本文"
