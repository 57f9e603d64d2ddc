"""forum/precompiled.py: a QuerySet compiled once answers as the QuerySet itself would."""

import threading

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connections
from django.db.models import Count

from forum.models import Post, Thread
from forum.moderation.queries import with_public_note
from forum.precompiled import Precompiled
from forum.tests import factories

pytestmark = pytest.mark.django_db

SLUG, NUMBER = Precompiled.stand_in(0, str), Precompiled.stand_in(1)


def readers_thread():
    threads = with_public_note(Thread.objects.visible_to(AnonymousUser()).select_related("board", "volume"))
    return Precompiled(threads.filter(board__slug=SLUG, number=NUMBER).order_by()[:1], "default", (SLUG, NUMBER))


def test_model_instances_with_related_rows_and_annotations_match_the_orms(member, django_assert_num_queries):
    first = factories.thread(user=member, title="一つ目", replies=2)
    factories.thread(user=member, title="二つ目", board_slug="chat")
    query = readers_thread()
    for slug, number in (("info", first.number), ("chat", first.number)):
        with django_assert_num_queries(1):  # on the connection's cursor: counted as any query
            [got] = query(slug, number)
        expected = with_public_note(Thread.objects.select_related("board", "volume")).get(
            board__slug=slug, number=number)
        assert type(got) is Thread and got.pk == expected.pk and got.title == expected.title
        assert got.board == expected.board and got.volume == expected.volume
        assert got.moderation_action == expected.moderation_action
        assert got.created_at == expected.created_at and got.started_on == expected.started_on
        with django_assert_num_queries(0):  # the board and volume came with the thread
            assert (got.board.slug, got.volume.number) == (slug, expected.volume.number)
        assert (got._state.adding, got._state.db, got.board._state.db) == (False, "default", "default")
        assert got.last_posted_at == expected.last_posted_at and got.last_posted_at.tzinfo is not None
        assert {f.attname: getattr(got, f.attname) for f in Thread._meta.concrete_fields} \
            == {f.attname: getattr(expected, f.attname) for f in Thread._meta.concrete_fields}
    assert query("info", first.number + 10) == [] and query("nope", first.number) == []


def test_a_moved_threads_note_and_its_json_come_as_the_orms(member, moderator):
    """The moderation note's details are JSON: read from text on PostgreSQL (Django's loader)."""
    from forum.models import Board
    from forum.moderation import actions as moderation_actions

    thread = factories.thread(user=member, title="移すスレッド")
    moved = moderation_actions.move_thread(thread=thread, board=Board.objects.get(slug="chat"), actor=moderator,
                                           reason="話題違い")
    [got] = readers_thread()("chat", moved.number)
    expected = with_public_note(Thread.objects.select_related("board", "volume")).get(pk=moved.pk)
    assert got.moderation_action == expected.moderation_action and got.moderation_action
    assert got.moderation_details == expected.moderation_details and isinstance(got.moderation_details, dict)
    assert got.moderation_at == expected.moderation_at


def test_named_rows_match_the_orms_and_constants_stay_apart_from_stand_ins(member):
    thread = factories.thread(user=member, replies=4)
    Post.objects.filter(thread=thread, position=3).update(held=True)
    # held=False is a parameter equal to 0 as the first stand-in's index is: kept apart by type.
    t, a, b = (Precompiled.stand_in(n) for n in range(3))
    query = Precompiled(Post.objects.filter(thread_id=t, held=False, position__gte=a, position__lte=b)
                        .order_by("position").values_list("pk", "position", "posted_at", "reply_to__position",
                                                          named=True), "default", (t, a, b))
    for first, last in ((1, 5), (2, 3), (4, 4), (6, 9)):
        expected = list(Post.objects.filter(thread=thread, held=False, position__gte=first, position__lte=last)
                        .order_by("position").values_list("pk", "position", "posted_at", "reply_to__position",
                                                          named=True))
        got = query(thread.pk, first, last)
        assert got == expected and all(type(a) is type(b) for a, b in zip(got, expected))
    assert [row.position for row in query(thread.pk, 1, 5)] == [1, 2, 4, 5]
    assert query(thread.pk, 1, 5)[0].posted_at.tzinfo is not None  # converted as the ORM converts


def test_named_rows_run_on_the_connections_cursor_so_they_are_counted(member, django_assert_num_queries):
    thread = factories.thread(user=member, replies=1)
    t = Precompiled.stand_in(0)
    query = Precompiled(Post.objects.filter(thread_id=t).values_list("position", named=True), "default", (t,))
    with django_assert_num_queries(1) as captured:
        assert sorted(row.position for row in query(thread.pk)) == [1, 2]
    assert str(thread.pk) in captured.captured_queries[0]["sql"]


def test_a_stand_in_the_query_lost_or_a_wrong_number_of_values_is_refused():
    with pytest.raises(ValueError, match="stand-ins"):
        Precompiled(Thread.objects.filter(number=NUMBER), "default", (NUMBER, Precompiled.stand_in(7)))
    with pytest.raises(ValueError, match="stand-ins"):  # aggregated away: no longer a parameter
        Precompiled(Thread.objects.annotate(n=Count("posts")).filter(number=5), "default", (NUMBER,))
    query = Precompiled(Thread.objects.filter(number=NUMBER), "default", (NUMBER,))
    with pytest.raises(TypeError):
        query(1, 2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_thread_runs_it_on_its_own_connection(member):
    thread = factories.thread(user=member, title="別のスレッドから")
    query = readers_thread()
    assert query("info", thread.number)[0].title == "別のスレッドから"
    answers, errors = [], []

    def other():
        try:
            answers.append(query("info", thread.number)[0].title)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connections.close_all()

    worker = threading.Thread(target=other)
    worker.start()
    worker.join()
    assert errors == [] and answers == ["別のスレッドから"]


def test_converters_are_worked_out_once_per_connection_and_still_applied(member, monkeypatch):
    from django.db.models.sql.compiler import SQLCompiler

    thread = factories.thread(user=member, replies=1)
    expected = list(Post.objects.filter(thread=thread).order_by("position").values_list("posted_at", "hidden"))
    asked = []
    real = SQLCompiler.get_converters
    monkeypatch.setattr(SQLCompiler, "get_converters", lambda self, expressions: asked.append(1) or real(self, expressions))
    t = Precompiled.stand_in(0)
    query = Precompiled(Post.objects.filter(thread_id=t).order_by("position").values_list("posted_at", "hidden"),
                        "default", (t,))
    for _ in range(3):
        rows = query(thread.pk)
        assert rows == expected
        # converted as the ORM converts them: aware datetimes, booleans (SQLite stores 0/1)
        assert all(moment.tzinfo is not None and hidden is False for moment, hidden in rows)
    assert len(asked) == 1


def test_numbered_sql_gives_postgresql_placeholders_in_the_order_of_the_params():
    slug, number = Precompiled.stand_in(0, str), Precompiled.stand_in(1)
    probe = Precompiled(Thread.objects.filter(board__slug=slug, number=number, title__contains="50%")
                        .values_list("pk", named=True), "default", (slug, number))
    sql, params = probe.numbered_sql(), probe.params(("info", 7))
    assert "%s" not in sql and sql.count("$") == len(params) == 3
    assert [sql.index(f"${n}") for n in (1, 2, 3)] == sorted(sql.index(f"${n}") for n in (1, 2, 3))
    assert params[:2] == ["info", 7]
