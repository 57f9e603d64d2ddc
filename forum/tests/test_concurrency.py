import threading
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from forum import actions, counters
from forum.models import Board, Post, Thread
from forum.tests import factories

WRITERS = 20


def run_at_once(count: int, work, watch=None) -> list:
    """Runs `work(i)` in `count` threads released together; returns results or exceptions.
    `watch()`, if given, is called every few milliseconds in this thread while they run."""
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
    deadline = time.monotonic() + 180
    while watch is not None and any(t.is_alive() for t in threads) and time.monotonic() < deadline:
        watch()
        time.sleep(0.005)
    for t in threads:
        t.join(timeout=max(1, deadline - time.monotonic()))
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


# --- The load: 50 members replying to one thread while 20 start threads on one board ----

REPLIERS, STARTERS = 50, 20
# Connections the load may hold at once. Production sizes the pool so that workers × DB_POOL_MAX
# stays below PostgreSQL's max_connections (100 by default); here one process plays every
# worker, so its one pool gets the share a deployment of several workers would have, and the
# writers beyond it queue for a connection as requests do when the pool is exhausted.
LOAD_POOL_MAX = 40
# Left for everything else on the server (other test runs, psql, the health checks).
SPARE_CONNECTIONS = 20


@pytest.fixture
def load_pool():
    """The pool resized for the load (and put back afterwards); checks that it fits."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
    assert LOAD_POOL_MAX + SPARE_CONNECTIONS <= max_connections, max_connections
    options = connection.settings_dict["OPTIONS"]
    saved = options["pool"]
    connection.close()
    connection.close_pool()
    # Writers wait for a free connection rather than fail: the load is bounded, not refused.
    options["pool"] = {**saved, "max_size": LOAD_POOL_MAX, "timeout": 120}
    yield max_connections
    connection.close()
    connection.close_pool()
    options["pool"] = saved


def _established_members(count: int) -> list:
    """Members who joined long ago and have posted before: nothing they write waits for approval."""
    members = [factories.UserFactory() for _ in range(count)]
    type(members[0]).objects.filter(pk__in=[m.pk for m in members]).update(
        date_joined=timezone.now() - timedelta(days=400))
    return members


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_fifty_replies_and_twenty_new_threads_at_once_lose_nothing(load_pool):
    members = _established_members(REPLIERS + STARTERS)
    board = factories.board()
    thread = factories.thread(user=members[0], title="同時に返信されるスレッド")
    peak = {"connections": 0}

    def work(i):
        user = members[i]
        if i < REPLIERS:
            post = actions.create_reply(thread=thread, user=user,
                                        fields=actions.PostFields(body=f"返信 {i} from {user.username}"))
            return ("reply", post.pk)
        made = actions.create_thread(board=board, user=user, title=f"同時のスレッド {i}",
                                     fields=actions.PostFields(body=f"起稿 {i} from {user.username}"))
        return ("thread", made.number)

    def watch():
        # How many connections this database had at the busiest moment (sampled).
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'")
            peak["connections"] = max(peak["connections"], cursor.fetchone()[0])

    before_threads = set(Thread.objects.filter(board=board).values_list("number", flat=True))
    results = run_at_once(REPLIERS + STARTERS, work, watch=watch)
    failures = [repr(r) for r in results if not isinstance(r, tuple)]
    assert not failures, failures

    # Every post saved once: one row per writer, with that writer's own text.
    replies = Post.objects.filter(thread=thread, position__gt=1)
    assert sorted(replies.values_list("pk", flat=True)) == sorted(pk for kind, pk in results if kind == "reply")
    assert sorted(replies.values_list("author_id", flat=True)) == sorted(m.pk for m in members[:REPLIERS])
    for post in replies:
        assert post.source.endswith(f"from {post.author.username}")
    # Positions unique and without gaps.
    assert sorted(replies.values_list("position", flat=True)) == list(range(2, REPLIERS + 2))

    # Thread numbers unique and without gaps after the ones that were there.
    numbers = sorted(n for kind, n in results if kind == "thread")
    first = max(before_threads) + 1
    assert numbers == list(range(first, first + STARTERS))
    new_threads = Thread.objects.filter(board=board, number__in=numbers)
    assert new_threads.count() == STARTERS
    assert sorted(new_threads.values_list("originator_id", flat=True)) == sorted(m.pk for m in members[REPLIERS:])
    assert all(t.posts.count() == 1 for t in new_threads)
    board.refresh_from_db()
    assert board.last_thread_number == first + STARTERS - 1

    # Counters right: what counters.py keeps equals what it recomputes from the rows.
    thread.refresh_from_db()
    assert (thread.post_count, thread.last_position) == (REPLIERS + 1, REPLIERS + 1)
    assert thread.last_posted_at == replies.order_by("-position").first().posted_at
    assert counters.rebuild_counters() == {"threads": 0, "volumes": 0}
    volumes = board.volumes.filter(imported=False).order_by("number")
    assert sum(v.thread_count for v in volumes) == Thread.objects.filter(volume__in=volumes).count()
    assert all(v.thread_count <= board.threads_per_volume for v in volumes)
    # The writers really overlapped (many connections busy at once), and the load stayed within
    # the pool and so within max_connections.
    assert 10 <= peak["connections"] <= LOAD_POOL_MAX < load_pool, peak
