"""The database unreachable or restarting: a friendly 503 page instead of a 500 traceback.

A request that fails because the database does not answer (connection refused or lost, a
restart, the connection pool exhausted, SQLite's write lock timed out) gets 503 with
Retry-After. Nothing was half-saved: every write that matters runs in one transaction
(forum.actions), which the failure rolled back. The pool hands out checked connections
(CONN_HEALTH_CHECKS in settings), so once the database is back the next request works.

Two places catch it: the middleware for errors raised in a view, and `server_error`
(handler500) for errors raised elsewhere (a middleware saving the session, say). The page is
rendered without the request's context, so it touches neither the database nor the session.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseServerError
from django.template import loader

log = logging.getLogger("daiou.faults")

RETRY_AFTER_SECONDS = 10


def _driver_errors() -> tuple[tuple, tuple]:
    """psycopg's errors that may arrive unwrapped (outside Django's error wrapper), and those
    that always mean the database is away (the pool gave up; the connection is closed)."""
    try:
        import psycopg
        from psycopg_pool import PoolTimeout
    except ImportError:
        return (), ()
    return (psycopg.OperationalError, psycopg.InterfaceError), (PoolTimeout, psycopg.InterfaceError)


_PSYCOPG_ERRORS, _PSYCOPG_ALWAYS = _driver_errors()
UNAVAILABLE = (OperationalError, InterfaceError, *_PSYCOPG_ERRORS)
_ALWAYS = (InterfaceError, *_PSYCOPG_ALWAYS)

# PostgreSQL's SQLSTATE classes of a database that does not answer or cannot now: connection
# exceptions, insufficient resources (too many connections, disk full), operator intervention
# (shutdown, restart, cancelled statement), and rolled-back transactions (deadlock, serialization).
_TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "40")
# SQLite's: the write lock not had in time, the file unopenable, I/O errors, a full disk.
_TRANSIENT_SQLITE_ERRORS = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN", "SQLITE_IOERR", "SQLITE_FULL",
                            "SQLITE_NOMEM")


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` says the database cannot answer now (a 503), rather than a bug (a 500).

    SQLite reports a missing table as an OperationalError too, and PostgreSQL a cancelled query:
    the driver's error (Django's __cause__) decides."""
    if not isinstance(error, UNAVAILABLE):
        return False
    driver = error.__cause__ if error.__cause__ is not None else error
    if isinstance(error, _ALWAYS) or isinstance(driver, _ALWAYS):
        return True
    sqlstate = getattr(driver, "sqlstate", None)
    if type(driver).__module__.startswith("psycopg"):
        # No SQLSTATE: the connection itself failed (refused, reset, closed by the server).
        return sqlstate is None or sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES
    name = getattr(driver, "sqlite_errorname", None)
    if name is not None:
        return name.startswith(_TRANSIENT_SQLITE_ERRORS)
    return driver is error  # raised by Django itself (e.g. a closed connection), not a driver's


def unavailable_response() -> HttpResponse:
    response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """Turns a view's database-unavailable error into the 503 page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        log.error("database unavailable during %s %s", request.method, request.path, exc_info=exception)
        return unavailable_response()


def server_error(request):
    """handler500: the 503 page for a database-unavailable error raised outside a view,
    Django's plain 500 page (templates/500.html) for anything else."""
    if database_unavailable(sys.exc_info()[1]):
        return unavailable_response()
    return HttpResponseServerError(loader.get_template("500.html").render())
