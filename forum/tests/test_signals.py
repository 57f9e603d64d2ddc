import pytest

from forum import actions
from forum.archive_io import import_volume
from forum.signals import posts_changed
from forum.tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    calls = []

    def receiver(sender, post_ids, **kwargs):
        calls.append(sorted(post_ids))

    posts_changed.connect(receiver)
    yield calls
    posts_changed.disconnect(receiver)


def test_posting_editing_and_importing_announce_the_posts_after_commit(member, heard, seed_path,
                                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        thread = factories.thread(user=member)
    first = thread.posts.get()
    with django_capture_on_commit_callbacks(execute=True):
        reply = actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="返信"))
        actions.edit_post(post=first, user=member, fields=actions.PostFields(body="直した"))
    assert heard == [[first.pk], [reply.pk], [first.pk]]
    with django_capture_on_commit_callbacks(execute=True):
        import_volume(seed_path.read_text(encoding="utf-8"), "seed")
    assert len(heard[-1]) == 16
    with django_capture_on_commit_callbacks(execute=True):
        import_volume(seed_path.read_text(encoding="utf-8"), "seed")
    assert len(heard) == 4, "an unchanged re-import announces nothing"


def test_nothing_is_announced_when_the_transaction_fails(member, heard, django_capture_on_commit_callbacks):
    thread = factories.thread(user=member)
    thread.locked = True
    thread.save()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(actions.ThreadLocked):
            actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="x"))
    assert heard == []


def test_posts_written_in_a_request_are_announced_once_its_response_is_closed(
        member, heard, django_capture_on_commit_callbacks):
    from django.core.signals import request_finished
    from django.db import close_old_connections
    from django.http import HttpResponse

    from forum.signals import posts_changed_after_response

    thread = factories.thread(user=member)
    made = []

    def view(request):
        with django_capture_on_commit_callbacks(execute=True):
            made.append(actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="返信")))
        return HttpResponse("ok")

    response = posts_changed_after_response(view)(None)
    assert heard == [], "nothing is sent while the response is being sent"
    # As Django's test client closes a response: without closing the test's connection.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert heard == [[made[0].pk]]
    with django_capture_on_commit_callbacks(execute=True):
        other = actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="外"))
    assert heard == [[made[0].pk], [other.pk]], "outside a request: sent at once"

    def failing(request):
        with django_capture_on_commit_callbacks(execute=True):
            made.append(actions.create_reply(thread=thread, user=member, fields=actions.PostFields(body="失敗")))
        raise RuntimeError("the view failed after its commit")

    with pytest.raises(RuntimeError):
        posts_changed_after_response(failing)(None)
    assert heard[-1] == [made[1].pk], "a view that fails after committing still has its posts announced"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reply_posted_through_the_site_has_its_indicators_when_the_response_is_done(member_client, member):
    from incidents.models import Indicator
    from forum.models import Post

    thread = factories.thread(user=member)
    response = member_client.post(f"/{thread.board.slug}/{thread.number}/reply/",
                                  {"body": "偽サイト https://evil-reply.example.com/login に注意", "post": "1"})
    assert response.status_code in (302, 303), response.content[:2000]
    assert Post.objects.filter(thread=thread).count() == 2
    assert Indicator.objects.filter(value="evil-reply.example.com").exists()
