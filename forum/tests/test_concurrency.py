import threading

import pytest
from django.db import close_old_connections, connection

from forum import actions
from forum.models import Board, Post, Thread
from forum.tests import factories

WRITERS = 20


def run_at_once(count: int, work) -> list:
    """Runs `work(i)` in `count` threads released together; returns results or exceptions."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def runner(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # reported by the assertions below
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    close_old_connections()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_new_threads_get_distinct_consecutive_numbers(member):
    board = factories.board()
    results = run_at_once(WRITERS, lambda i: actions.create_thread(
        board=board, user=member, title=f"同時 {i}", fields=actions.PostFields(body=f"本文 {i}")).number)
    assert all(isinstance(n, int) for n in results), results
    assert sorted(results) == list(range(1, WRITERS + 1))
    board.refresh_from_db()
    assert board.last_thread_number == WRITERS
    volumes = list(board.volumes.order_by("number").values_list("number", "thread_count"))
    assert volumes == [(1, 10), (2, 10)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_replies_get_distinct_consecutive_positions(member):
    thread = factories.thread(user=member)
    results = run_at_once(WRITERS, lambda i: actions.create_reply(
        thread=thread, user=member, fields=actions.PostFields(body=f"返信 {i}")).position)
    assert sorted(results) == list(range(2, WRITERS + 2)), results
    thread = Thread.objects.get(pk=thread.pk)
    assert (thread.post_count, thread.last_position) == (WRITERS + 1, WRITERS + 1)
    assert Post.objects.filter(thread=thread).count() == WRITERS + 1


@pytest.mark.sqlite
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sqlite_serialises_concurrent_writers_without_losing_one(member, settings):
    # On SQLite the IMMEDIATE transactions queue the writers; none may fail or collide.
    results = run_at_once(5, lambda i: actions.create_thread(
        board=Board.objects.get(slug="info"), user=member, title=f"同時 {i}",
        fields=actions.PostFields(body="本文")).number)
    assert not [r for r in results if isinstance(r, Exception)], [str(r) for r in results]
    assert sorted(results) == [1, 2, 3, 4, 5]
