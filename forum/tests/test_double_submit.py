"""A form sent twice makes one post; a write that fails half-way leaves nothing (issue 9, point 3)."""
import re
import sqlite3

import pytest
from django.db import OperationalError
from django.db.models.signals import pre_save

from forum import actions
from forum.models import Board, Post, Thread, Volume
from forum.tests import factories
from forum.tests.test_concurrency import run_at_once

TOKEN = re.compile(r'name="client_token" value="([A-Za-z0-9_-]+)"')
A_TOKEN = "Zz0_" + "a" * 28


def form_token(client, url: str) -> str:
    return TOKEN.search(client.get(url).content.decode())[1]


@pytest.mark.django_db
def test_the_composer_carries_one_token_across_previews(member_client, member):
    thread = factories.thread(user=member)
    url = f"/info/{thread.number}/reply/"
    token = form_token(member_client, url)
    assert actions.CLIENT_TOKEN.fullmatch(token)
    assert form_token(member_client, url) != token  # a new form, a new token
    preview = member_client.post(url, {"body": "下書き", "step": "preview", "client_token": token})
    assert TOKEN.search(preview.content.decode())[1] == token
    failed = member_client.post(url, {"body": "", "client_token": token})  # refused: empty body
    assert failed.status_code == 400 and TOKEN.search(failed.content.decode())[1] == token


@pytest.mark.django_db
def test_a_reply_sent_twice_makes_one_post(member_client, member):
    thread = factories.thread(user=member)
    url = f"/info/{thread.number}/reply/"
    token = form_token(member_client, url)
    first = member_client.post(url, {"body": "二度押し", "client_token": token}, HTTP_ACCEPT_LANGUAGE="en")
    again = member_client.post(url, {"body": "二度押し", "client_token": token}, HTTP_ACCEPT_LANGUAGE="en",
                               follow=True)
    assert first.status_code == 302
    assert again.redirect_chain[0] == (first["Location"], 302)
    assert "This form had been sent already" in again.content.decode()
    assert Post.objects.filter(thread=thread, source="二度押し").count() == 1
    thread.refresh_from_db()
    assert thread.post_count == 2


@pytest.mark.django_db
def test_a_new_thread_sent_twice_makes_one_thread(member_client):
    board = factories.board()
    before = board.last_thread_number
    token = form_token(member_client, "/info/new/")
    data = {"title": "二度押しのスレッド", "body": "本文", "client_token": token}
    first, again = member_client.post("/info/new/", data), member_client.post("/info/new/", data)
    assert first.status_code == again.status_code == 302
    assert again["Location"].startswith(first["Location"].split("#")[0])
    assert Thread.objects.filter(title="二度押しのスレッド").count() == 1
    board.refresh_from_db()
    assert board.last_thread_number == before + 1


@pytest.mark.django_db
def test_tokens_only_join_sends_of_one_form_by_one_member(member, other_member, member_client, other_member_client):
    thread = factories.thread(user=member)
    url = f"/info/{thread.number}/reply/"
    member_client.post(url, {"body": "一つ目", "client_token": form_token(member_client, url)})
    member_client.post(url, {"body": "二つ目", "client_token": form_token(member_client, url)})
    # Another member who sends the same token string makes a post of their own.
    member_token = Post.objects.get(source="一つ目").client_token
    other_member_client.post(url, {"body": "他人", "client_token": member_token})
    # A form without a token (an old page) or with one the composer cannot have made still posts.
    member_client.post(url, {"body": "古いフォーム"})
    member_client.post(url, {"body": "壊れた印", "client_token": "<script>"})
    member_client.post(url, {"body": "壊れた印", "client_token": "<script>"})
    sources = list(Post.objects.filter(thread=thread).order_by("position").values_list("source", flat=True))
    assert sources == ["本文です。", "一つ目", "二つ目", "他人", "古いフォーム", "壊れた印", "壊れた印"]
    assert Post.objects.get(source="古いフォーム").client_token == ""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sends_that_race_make_one_reply(member):
    thread = factories.thread(user=member)
    results = run_at_once(5, lambda i: actions.create_reply(
        thread=thread, user=member, fields=actions.PostFields(body="同時の二度押し"), client_token=A_TOKEN).pk)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len(set(results)) == 1
    assert Post.objects.filter(thread=thread, source="同時の二度押し").count() == 1
    thread.refresh_from_db()
    assert (thread.post_count, thread.last_position) == (2, 2)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_sends_past_every_lock_are_stopped_by_the_unique_constraint(member):
    # Two boards, two board locks: nothing serialises these two sends but the constraint on
    # (author, client_token). The loser's whole transaction goes: its thread NO., its volume.
    boards = [factories.board(), Board.objects.create(name="競争", slug="race")]
    before = {b.pk: (b.last_thread_number, b.volumes.count()) for b in Board.objects.all()}
    results = run_at_once(2, lambda i: actions.create_thread(
        board=boards[i], user=member, title="同時", fields=actions.PostFields(body="本文"), client_token=A_TOKEN).pk)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[0] == results[1]
    assert Thread.objects.filter(title="同時").count() == 1
    winner = Thread.objects.get(title="同時").board_id
    after = {b.pk: (b.last_thread_number, b.volumes.count()) for b in Board.objects.all()}
    assert {pk for pk in after if after[pk] != before[pk]} == {winner}


# --- a write that fails half-way ------------------------------------------------------------------

def _disk_io_error() -> OperationalError:
    """A real driver error of a database gone away, as Django raises it."""
    try:
        sqlite3.connect("/nonexistent-daiou-folder/x.db").execute("SELECT 1")
    except sqlite3.OperationalError as error:
        wrapped = OperationalError(str(error))
        wrapped.__cause__ = error
        return wrapped
    raise AssertionError("sqlite opened a file in a folder that does not exist")


def _state():
    return (list(Board.objects.order_by("pk").values_list("last_thread_number", "last_volume_number")),
            list(Volume.objects.order_by("pk").values_list("pk", "thread_count")),
            list(Thread.objects.order_by("pk").values_list("pk", "post_count", "last_position", "version")),
            Post.objects.count())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_write_failing_half_way_leaves_nothing(member, member_client):
    thread = factories.thread(user=member, replies=2)
    Board.objects.filter(slug="info").update(threads_per_volume=1)  # a new thread opens a volume
    before = _state()

    def fail(sender, instance, **kwargs):
        # The database goes when the post's row is written: after the thread, its NO., its
        # volume and the counters were written in the same transaction.
        raise _disk_io_error()

    pre_save.connect(fail, sender=Post)
    try:
        for make in (lambda: actions.create_thread(board=factories.board(), user=member, title="半端",
                                                   fields=actions.PostFields(body="本文")),
                     lambda: actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="返信"))):
            with pytest.raises(OperationalError):
                make()
            assert _state() == before
        # Through the page: the 503 page, and still nothing written.
        response = member_client.post("/info/new/", {"title": "半端", "body": "本文"})
        assert response.status_code == 503
        assert _state() == before
    finally:
        pre_save.disconnect(fail, sender=Post)
