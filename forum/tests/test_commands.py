import pytest
from django.core.management import call_command

from forum.models import Post, Thread
from forum.render import RENDER_VERSION
from forum.tests import factories

pytestmark = pytest.mark.django_db


def test_rerender_brings_outdated_posts_up_to_the_current_renderer(member, capsys):
    thread = factories.thread(user=member, body="**太字**", replies=2)
    Post.objects.filter(thread=thread, position=1).update(html="stale", render_version=0)
    call_command("rerender")
    post = Post.objects.get(thread=thread, position=1)
    assert (post.html, post.render_version) == ("<p><strong>太字</strong></p>", RENDER_VERSION)
    assert "re-rendered 1 posts" in capsys.readouterr().out
    call_command("rerender", "--all")
    assert "re-rendered 3 posts" in capsys.readouterr().out


def test_rebuild_counters_command(member, capsys):
    thread = factories.thread(user=member, replies=1)
    Thread.objects.filter(pk=thread.pk).update(post_count=0)
    call_command("rebuild_counters")
    assert Thread.objects.get(pk=thread.pk).post_count == 2
    assert "1 threads" in capsys.readouterr().out


def test_load_demo_is_safe_to_run_twice():
    call_command("load_demo")
    call_command("load_demo")
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.filter(username="demo").count() == 1
    from forum.limits.gate import standing

    # What the demo member writes is published at once, not held for a moderator.
    assert standing(get_user_model().objects.get(username="demo")).established
