"""The bulk filler of benchmark databases (forum/corpus_fill.py, `manage.py fill_corpus`)."""

import io

import pytest
from django.core.management import CommandError, call_command

from forum import corpus_fill
from forum.blocks import blocks_from_json
from forum.models import Board, Post, SearchDocument, Thread, Volume
from forum.render import RENDER_VERSION
from incidents.models import Indicator

pytestmark = pytest.mark.django_db


def snapshot():
    return list(Post.objects.order_by("thread__board__slug", "thread__number", "position")
                .values_list("thread__board__slug", "thread__number", "position", "author_name", "posted_at", "source"))


def test_fill_writes_whole_volumes_of_posts_in_the_seeds_shapes_and_long_threads():
    written = corpus_fill.fill(400, long_threads=(3, 60))
    assert written == Post.objects.count() == 400 + 63
    info, chat = Board.objects.get(slug="info"), Board.objects.get(slug="chat")
    assert chat.volumes.count() == 2 and info.volumes.count() == 3  # + the long threads' volume
    numbers = corpus_fill.long_thread_numbers(400, (3, 60))
    assert numbers == {3: 21, 60: 22}
    assert Thread.objects.get(board=info, number=22).post_count == 60 == Thread.objects.get(
        board=info, number=22).posts.count()
    info.refresh_from_db()
    assert (info.last_thread_number, info.last_volume_number) == (22, 3)
    post = Post.objects.filter(source__contains="From:").first()
    assert post.format == "archive" and post.html == "" and post.render_version == 0
    assert any(block.kind == "quote" for block in blocks_from_json(post.blocks))
    assert Post.objects.filter(source__contains="フィッシング").exists()


def test_a_stopped_fill_goes_on_to_the_same_archive():
    corpus_fill.fill(400, long_threads=(5,))
    whole = snapshot()
    Post.objects.all().delete()
    Thread.objects.all().delete()
    Volume.objects.all().delete()
    corpus_fill.fill(400, long_threads=(5,), budget=0.000001)  # stops after its first batch
    partial = Post.objects.count()
    assert 0 < partial < 405
    assert corpus_fill.fill(400, long_threads=(5,)) == 405 - partial
    assert snapshot() == whole
    assert corpus_fill.fill(400, long_threads=(5,)) == 0  # nothing left to do


def test_fill_corpus_builds_the_derived_data_and_says_how_long_each_step_took(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # where it notes the steps it finished
    out, err = io.StringIO(), io.StringIO()
    call_command("fill_corpus", "--posts", "200", "--long-threads", "12", stdout=out, stderr=err)
    report = out.getvalue()
    for step in ("fill", "render", "indicators", "search"):
        assert f"{step}: " in report
    assert "times: fill" in report and "fill: posts:" in err.getvalue()
    assert not Post.objects.exclude(render_version=RENDER_VERSION).exists()
    assert Post.objects.filter(html__contains="以下引用").exists()
    assert SearchDocument.objects.count() == 212
    assert Indicator.objects.exists()
    # Resumable: another run finds everything done, and says so.
    again = io.StringIO()
    call_command("fill_corpus", "--posts", "200", "--long-threads", "12", stdout=again, stderr=io.StringIO())
    assert Post.objects.count() == SearchDocument.objects.count() == 212
    for step in ("render", "indicators", "search"):
        assert f"{step}: done already" in again.getvalue()


def test_fill_corpus_refuses_bad_arguments():
    with pytest.raises(CommandError, match="unknown step"):
        call_command("fill_corpus", "--steps", "fill,everything")
    with pytest.raises(CommandError, match="post counts"):
        call_command("fill_corpus", "--long-threads", "fifty")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_derived_steps_run_in_parallel_processes_on_postgresql_and_in_turn_on_sqlite(settings, tmp_path):
    from django.db import connection

    settings.VAR_DIR = tmp_path
    out = io.StringIO()
    call_command("fill_corpus", "--posts", "200", "--long-threads", "", "--parallel", stdout=out, stderr=io.StringIO())
    # SQLite's one writer made the three processes wait on each other: there --parallel is ignored.
    assert ("--parallel is ignored on SQLite" in out.getvalue()) == (connection.vendor == "sqlite")
    for step in ("render", "indicators", "search"):
        assert f"{step}: " in out.getvalue()
    assert not Post.objects.exclude(render_version=RENDER_VERSION).exists()
    assert SearchDocument.objects.count() == Post.objects.count() == 200
    assert Indicator.objects.exists()
