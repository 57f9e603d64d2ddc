"""The gate where members post: the composer (new thread, reply, edit) and `ingest_email`;
never the archive importer or the corpus generator."""

import io

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command

from forum import actions
from forum.limits import confirmation
from forum.models import Draft, Post, Thread
from forum.tests import factories
from forum.tests.test_quoting import MAIL

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("gate_settings")]

LIVE = "https://www.nikkei.com/article/"
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def start_thread(client, body="新しいスレッドの本文", title="新しいスレッド"):
    return client.post("/info/new/", {"title": title, "body": body, "step": "post"}, **EN)


def reply(client, thread, body="返信の本文"):
    return client.post(f"/info/{thread.number}/reply/", {"body": body, "step": "post"}, **EN)


def test_a_new_members_thread_waits_for_approval(new_member_client, new_member):
    response = start_thread(new_member_client)
    assert response.status_code == 302
    post = Post.objects.get(author=new_member)
    assert post.held
    page = new_member_client.get(response["Location"], **EN).content.decode()
    assert "waits for a moderator" in page or "wait for a moderator" in page
    # Readers do not see it (forum.moderation); its author does.
    assert not Thread.objects.visible_to(AnonymousUser()).filter(pk=post.thread_id).exists()
    assert Thread.objects.visible_to(new_member).filter(pk=post.thread_id).exists()


def test_a_new_members_reply_waits_for_approval(new_member_client, new_member, member):
    thread = factories.thread(user=member)
    response = reply(new_member_client, thread)
    assert response.status_code == 302
    assert Post.objects.get(author=new_member).held
    assert not Post.objects.visible_to(AnonymousUser()).filter(author=new_member).exists()


def test_an_established_members_posts_are_published_at_once(member_client, member, clock):
    start_thread(member_client)
    clock["t"] += 15
    reply(member_client, Thread.objects.get())
    assert list(Post.objects.values_list("held", flat=True)) == [False, False]


def test_the_composer_tells_a_new_member_before_they_write(new_member_client, member_client):
    assert "wait for a moderator" in new_member_client.get("/info/new/", **EN).content.decode()
    assert "wait for a moderator" not in member_client.get("/info/new/", **EN).content.decode()


def test_posting_again_too_soon_is_429_with_the_text_kept(new_member_client, new_member, member, clock):
    thread = factories.thread(user=member)
    assert reply(new_member_client, thread, "一つ目").status_code == 302
    clock["t"] += 10
    response = reply(new_member_client, thread, "二つ目の大事な本文")
    assert response.status_code == 429
    page = response.content.decode()
    assert "at most once every 30 seconds" in page and "Please wait 20 seconds" in page
    assert "二つ目の大事な本文" in page  # the form comes back as typed
    assert Draft.objects.get(user=new_member).body == "二つ目の大事な本文"
    assert Post.objects.filter(author=new_member).count() == 1
    clock["t"] += 20
    assert reply(new_member_client, thread, "二つ目の大事な本文").status_code == 302


def test_too_many_live_links_are_refused_and_nothing_is_saved(new_member_client, new_member):
    response = start_thread(new_member_client, body=f"{LIVE}1 {LIVE}2 {LIVE}3")
    assert response.status_code == 400
    assert "at most 2 clickable links" in response.content.decode()
    assert not Post.objects.exists() and not Thread.objects.exists()


def test_defanged_links_are_fine_for_a_new_member(new_member_client):
    body = "届いたURL: https://rakuten.example/a https://rakuten.example/b https://rakuten.example/c"
    assert start_thread(new_member_client, body=body).status_code == 302


def test_the_same_text_twice_is_refused(member_client, member, clock):
    start_thread(member_client, body="同じ本文")
    clock["t"] += 60
    response = reply(member_client, Thread.objects.get(), "同じ本文")
    assert response.status_code == 400
    assert "not posted twice" in response.content.decode()
    assert Post.objects.count() == 1


def test_an_unconfirmed_member_is_told_and_offered_the_link_again(new_member_client, new_member):
    confirmation.require(new_member)
    composer = new_member_client.get("/info/new/", **EN).content.decode()
    assert "Confirm your e-mail address before you post" in composer
    assert 'action="/accounts/confirm/again/"' in composer
    response = start_thread(new_member_client, body="確認前の投稿")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Confirm your e-mail address before you post" in page and 'action="/accounts/confirm/again/"' in page
    assert not Post.objects.exists()
    assert Draft.objects.get(user=new_member).body == "確認前の投稿"


def test_a_moderator_is_not_gated(moderator_client, moderator, clock):
    for n in range(3):
        assert start_thread(moderator_client, body=f"{LIVE}1 {LIVE}2 {LIVE}3 {n}").status_code == 302
    assert not Post.objects.filter(held=True).exists()


def test_an_edit_by_a_new_member_keeps_to_the_link_limit(new_member_client, new_member):
    thread = factories.thread(user=new_member)
    url = f"/info/{thread.number}/p1/edit/"
    response = new_member_client.post(url, {"body": f"{LIVE}1 {LIVE}2 {LIVE}3"}, **EN)
    assert response.status_code == 400 and "at most 2 clickable links" in response.content.decode()
    assert Post.objects.get().source == "本文です。"
    assert new_member_client.post(url, {"body": f"{LIVE}1 直しました"}, **EN).status_code == 302


def test_a_new_members_edit_of_a_published_post_waits_for_approval_again(new_member_client, new_member, member,
                                                                         member_client, moderator):
    from forum.moderation import actions as moderation

    thread = factories.thread(user=member)
    published = actions.create_reply(thread=thread, user=new_member, fields=actions.PostFields(body="最初の返信"))
    assert Thread.objects.get(pk=thread.pk).post_count == 2
    url = f"/info/{thread.number}/p2/edit/"
    response = new_member_client.post(url, {"body": "書き換えた返信"}, follow=True, **EN)
    assert response.status_code == 200 and "so do their edits" in response.content.decode()
    post = Post.objects.get(pk=published.pk)
    assert post.held and post.source == "書き換えた返信"
    assert Thread.objects.get(pk=thread.pk).post_count == 1  # readers see one post
    assert "書き換えた返信" not in member_client.get(thread.get_absolute_url()).content.decode()
    moderation.approve_post(post=post, actor=moderator, reason="問題なし")
    assert Thread.objects.get(pk=thread.pk).post_count == 2
    # An established member's edit is published at once.
    assert member_client.post(f"/info/{thread.number}/p1/edit/", {"body": "直した"}, **EN).status_code == 302
    assert not Post.objects.get(thread=thread, position=1).held


def test_a_new_members_post_is_rendered_once_with_the_gates_link_count(new_member_client, new_member, monkeypatch):
    from forum import render

    calls = []
    original = render.render_markdown

    def counting(*args, **kwargs):
        calls.append(args[0])
        return original(*args, **kwargs)

    for module in (render, actions):  # forum.actions holds its own name for it (render_body)
        monkeypatch.setattr(module, "render_markdown", counting)
    body = f"{LIVE}1 と **太字**"
    assert start_thread(new_member_client, body=body).status_code == 302
    assert calls == [body]
    monkeypatch.undo()
    assert Post.objects.get().html == actions.preview_html(actions.PostFields(body=body))


def test_a_banned_network_may_not_post(member_client):
    from forum.moderation.models import Ban

    Ban.objects.create(kind=Ban.Kind.IP, value="127.0.0.0/24", reason="spam")
    response = start_thread(member_client)
    assert response.status_code == 403 and "not possible from this network" in response.content.decode()
    assert not Post.objects.exists()


# --- ingest_email ------------------------------------------------------------------------------------

def ingest(tmp_path, user, *args):
    path = tmp_path / "scam.eml"
    path.write_text(MAIL, encoding="utf-8")
    out = io.StringIO()
    call_command("ingest_email", str(path), "--board", "info", "--user", user.username, *args, stdout=out)
    return out.getvalue()


def test_ingest_email_holds_a_new_members_mail(new_member, tmp_path):
    out = ingest(tmp_path, new_member)
    assert "held" in out
    assert Post.objects.get().held


def test_ingest_email_publishes_an_established_members_mail(member, tmp_path):
    assert "held" not in ingest(tmp_path, member)
    assert not Post.objects.get().held


def test_ingest_email_refuses_an_unconfirmed_member(new_member, tmp_path):
    confirmation.require(new_member)
    with pytest.raises(CommandError, match="Confirm your e-mail address|メールアドレスを確認"):
        ingest(tmp_path, new_member)
    assert not Post.objects.exists()


def test_ingest_email_keeps_the_flood_interval_and_refuses_duplicates(member, tmp_path, clock):
    ingest(tmp_path, member)
    with pytest.raises(CommandError):
        ingest(tmp_path, member, "--thread", str(Thread.objects.get().number))  # too soon
    clock["t"] += 60
    with pytest.raises(CommandError):
        ingest(tmp_path, member, "--thread", str(Thread.objects.get().number))  # the same mail again
    assert Post.objects.count() == 1


# --- not gated: the archive importer, the corpus generator, the actions themselves --------------

def test_the_importer_and_the_generator_are_not_gated(settings, seed_path, tmp_path, new_member):
    settings.DAIOU_HELD_POSTS = 1000
    settings.DAIOU_NEW_MEMBER_LINKS = 0
    call_command("import_archive", str(seed_path), stdout=io.StringIO())
    call_command("generate_corpus", str(tmp_path / "corpus"), "--volumes", "1", "--boards", "chat",
                 stdout=io.StringIO())
    call_command("import_archive", str(tmp_path / "corpus"), stdout=io.StringIO())
    assert Post.objects.count() > 100
    assert not Post.objects.filter(held=True).exists()


def test_actions_called_directly_publish_unless_told_to_hold(new_member):
    thread = factories.thread(user=new_member)
    assert not thread.posts.get().held
    post = actions.create_reply(thread=thread, user=new_member, fields=actions.PostFields(body="保留"), held=True)
    assert post.held
