"""config/db_pool.py: the pool's check makes a round trip only for a connection the server spoke on."""

import psycopg
import pytest
from django.db import connection
from psycopg_pool import ConnectionPool

from config import db_pool

pytestmark = pytest.mark.postgres


def _connect():
    s = connection.settings_dict
    return psycopg.connect(host=s["HOST"] or None, port=s["PORT"] or None, user=s["USER"] or None,
                           password=s["PASSWORD"] or None, dbname="postgres", autocommit=True)


def test_an_idle_live_connection_passes_without_a_round_trip_a_killed_one_fails(monkeypatch):
    trips = []
    real = ConnectionPool.check_connection
    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(lambda conn: (trips.append(1), real(conn))))
    with _connect() as conn, _connect() as killer:
        db_pool.check_connection(conn)
        assert trips == []
        killer.execute("SELECT pg_terminate_backend(%s, 5000)", [conn.info.backend_pid])
        with pytest.raises(psycopg.OperationalError):
            db_pool.check_connection(conn)
        assert trips == [1]
    closed = _connect()
    closed.close()
    with pytest.raises(psycopg.OperationalError):
        db_pool.check_connection(closed)


def test_the_settings_give_the_pool_this_check():
    assert connection.settings_dict["OPTIONS"]["pool"]["check"] is db_pool.check_connection
