"""Faults (issue 9, point 3): the database unreachable or lost mid-request, Redis down, /healthz."""
import json
import sqlite3
import urllib.error
import urllib.request
from contextlib import contextmanager

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, connection
from django.db.models.signals import pre_save
from django.test import Client, RequestFactory

from config import faults
from forum.models import Post, Thread
from forum.tests import factories

TRANSACTIONAL = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def unreachable_database():
    """Every new connection fails: PostgreSQL at a port nobody listens on (the pool gives up
    after one second), SQLite in a folder that does not exist."""
    settings_dict = connection.settings_dict
    saved = {key: settings_dict[key] for key in ("NAME", "PORT")}
    saved_pool = settings_dict["OPTIONS"].get("pool")
    connection.close()
    if is_postgres():
        connection.close_pool()
        settings_dict["PORT"] = "1"
        settings_dict["OPTIONS"]["pool"] = {**saved_pool, "timeout": 1}
    else:
        settings_dict["NAME"] = "/nonexistent-daiou-folder/daiou.sqlite3"
    try:
        yield
    finally:
        connection.close()
        if is_postgres():
            connection.close_pool()
            settings_dict["OPTIONS"]["pool"] = saved_pool
        settings_dict.update(saved)


def assert_friendly_503(response):
    assert response.status_code == 503
    assert response["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "ただいま利用できません" in body and "Temporarily unavailable" in body
    assert "Traceback" not in body and "OperationalError" not in body
    # The CSP forbids inline script and style: the page has none.
    assert "<script" not in body and "<style" not in body and "style=" not in body
    assert "Content-Security-Policy" in response


# --- the database unreachable -------------------------------------------------------------------

@TRANSACTIONAL
def test_database_unreachable_gives_the_503_page_and_the_site_answers_once_it_is_back(member):
    thread = factories.thread(user=member)
    client = Client()
    client.force_login(member)
    with unreachable_database():
        assert_friendly_503(Client().get("/"))
        assert_friendly_503(Client().get(f"/info/{thread.number}/"))
        assert_friendly_503(client.post(f"/info/{thread.number}/reply/", {"body": "届かない返信"}))
    assert Client().get(f"/info/{thread.number}/").status_code == 200
    assert Post.objects.filter(thread=thread).count() == 1


class TouchesTheDatabaseFirst:
    """A middleware that reads the database before any view (as a ban check or a rate limit may)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        Thread.objects.exists()
        return self.get_response(request)


@TRANSACTIONAL
def test_outside_a_view_the_error_handler_gives_the_503_page(settings):
    # After the security headers' middlewares, before the rest (sessions, auth, views).
    at = settings.MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware")
    settings.MIDDLEWARE = [*settings.MIDDLEWARE[:at], f"{__name__}.TouchesTheDatabaseFirst", *settings.MIDDLEWARE[at:]]
    with unreachable_database():
        assert_friendly_503(Client(raise_request_exception=False).get("/"))


@pytest.mark.django_db
def test_other_errors_stay_500_pages(monkeypatch):
    # handler500 for anything that is not the database being away: the plain 500 page.
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("forum.views.render", broken)
    response = Client(raise_request_exception=False).get("/")
    assert response.status_code == 500 and "Retry-After" not in response
    assert "Something went wrong" in response.content.decode()


def _driver_error(raise_it):
    try:
        raise_it()
    except Exception as error:
        return error
    raise AssertionError("no error")


def _wrapped(driver_error, kind=OperationalError):
    error = kind(str(driver_error))
    error.__cause__ = driver_error
    return error


def test_which_database_errors_mean_unavailable():
    missing_file = _driver_error(lambda: sqlite3.connect("/nonexistent-daiou-folder/x.db").execute("SELECT 1"))
    no_table = _driver_error(lambda: sqlite3.connect(":memory:").execute("SELECT * FROM nope"))
    refused = _driver_error(lambda: psycopg.connect("host=127.0.0.1 port=1 user=nobody dbname=x connect_timeout=2"))
    assert faults.database_unavailable(_wrapped(missing_file))
    assert faults.database_unavailable(_wrapped(refused))
    assert faults.database_unavailable(_wrapped(psycopg.errors.AdminShutdown("terminating connection")))
    assert faults.database_unavailable(_wrapped(psycopg.errors.TooManyConnections("too many clients")))
    assert faults.database_unavailable(_wrapped(psycopg.errors.DeadlockDetected("deadlock")))
    assert faults.database_unavailable(InterfaceError("connection already closed"))
    from psycopg_pool import PoolTimeout
    assert faults.database_unavailable(_wrapped(PoolTimeout("couldn't get a connection after 1.00 sec")))
    # Bugs are not outages: a missing table (SQLite says OperationalError) stays a 500.
    assert not faults.database_unavailable(_wrapped(no_table))
    assert not faults.database_unavailable(RuntimeError("x"))
    assert not faults.database_unavailable(None)


# --- PostgreSQL: connections killed mid-request, a restart --------------------------------------

def _terminate(where: str, *args) -> int:
    """pg_terminate_backend from a connection of its own, as a restart or an admin would."""
    settings_dict = connection.settings_dict
    with psycopg.connect(host=settings_dict["HOST"] or None, port=settings_dict["PORT"] or None,
                         user=settings_dict["USER"] or None, password=settings_dict["PASSWORD"] or None,
                         dbname=settings_dict["NAME"], autocommit=True) as killer:
        rows = killer.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                              f"WHERE pid <> pg_backend_pid() AND {where}", args).fetchall()
    return len(rows)


@pytest.mark.postgres
@TRANSACTIONAL
def test_connection_killed_mid_write_gives_503_saves_nothing_and_the_retry_posts_once(member):
    thread = factories.thread(user=member, replies=1)
    client = Client()
    client.force_login(member)
    form = client.get(f"/info/{thread.number}/reply/")
    token = form.context["client_token"]
    before = (Post.objects.count(), Thread.objects.values_list("post_count", "last_position", "version")
              .get(pk=thread.pk))

    def kill_own_connection(sender, instance, **kwargs):
        # The post's INSERT is the next statement: the server ends the connection first.
        assert _terminate("pid = %s", connection.connection.info.backend_pid) == 1

    pre_save.connect(kill_own_connection, sender=Post)
    try:
        response = client.post(f"/info/{thread.number}/reply/", {"body": "途中で切れる返信", "client_token": token})
    finally:
        pre_save.disconnect(kill_own_connection, sender=Post)
    assert_friendly_503(response)
    # What request_finished does in production (the test client keeps its connection).
    connection.close()
    after = (Post.objects.count(), Thread.objects.values_list("post_count", "last_position", "version")
             .get(pk=thread.pk))
    assert after == before  # nothing half-saved: no post, no counter moved
    # The member sends the form again: it works at once, and makes exactly one post.
    response = client.post(f"/info/{thread.number}/reply/", {"body": "途中で切れる返信", "client_token": token})
    assert response.status_code == 302
    assert Post.objects.filter(thread=thread, source="途中で切れる返信").count() == 1


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.postgres
@TRANSACTIONAL
def test_after_every_connection_is_killed_the_next_requests_work(live_server, member):
    # A real server: each request takes a connection from the pool and gives it back, as in
    # production. Killing every connection is what a database restart does to the pool.
    thread = factories.thread(user=member)
    url = f"{live_server.url}/info/{thread.number}/"
    for _ in range(3):
        assert _get(url)[0] == 200
    connection.close()
    assert _terminate("datname = current_database()") >= 1
    # The pool checks a connection before handing it out (CONN_HEALTH_CHECKS): no request
    # gets a dead one, none fails.
    statuses = [_get(url)[0] for _ in range(5)]
    assert statuses == [200] * 5
    assert json.loads(_get(f"{live_server.url}/healthz")[1])["database"]["ok"] is True


# --- Redis down ---------------------------------------------------------------------------------

@pytest.fixture
def redis_down(settings):
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}


@pytest.mark.django_db
def test_redis_down_pages_render_and_posting_works(redis_down, member, member_client):
    thread = factories.thread(user=member)
    for path in ("/", "/info/", f"/info/{thread.number}/", "/indicators/", "/api/indicators.json?q=example.com",
                 "/search/?q=テスト", "/healthz"):
        response = Client().get(path)
        assert response.status_code == 200, (path, response.status_code)
    response = member_client.post(f"/info/{thread.number}/reply/", {"body": "Redis がなくても書ける"})
    assert response.status_code == 302
    assert Post.objects.filter(thread=thread, source="Redis がなくても書ける").exists()


# --- /healthz -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_healthz_says_database_and_cache_answer():
    response = Client().get("/healthz")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "no-store" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    data = response.json()
    assert data["status"] == "ok" and data["database"]["ok"] is True and data["cache"]["ok"] is True
    assert set(data) == {"status", "database", "cache"}


@pytest.mark.django_db
def test_healthz_with_redis_down_is_degraded_but_up(redis_down):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["cache"]["ok"] is False


@TRANSACTIONAL
def test_healthz_with_the_database_away_is_503_and_tells_no_secrets():
    with unreachable_database():
        response = Client().get("/healthz")
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "unavailable" and data["database"]["ok"] is False
    body = response.content.decode()
    for secret in ("127.0.0.1", "postgres", "sqlite", "nonexistent", "redis", "password", "Error"):
        assert secret not in body


@pytest.mark.django_db
def test_healthz_takes_only_get():
    assert Client().post("/healthz").status_code == 405
