"""How the PostgreSQL pool checks a connection before handing it out (DB_POOL_CHECK).

psycopg_pool's own check is an empty query: a round trip to the server on every request, as
much as a cached page's one real query. A connection the server has closed (a restart, a
failover, pg_terminate_backend) has something to read while it sits idle in the pool: the
server's termination notice, or the end of the stream. So the socket is polled first, without
waiting, and only a connection with something to read (or already known broken) gets the round
trip, which raises for a dead one: the pool drops it and hands out another. A connection cut
without a word (a cable pulled) is not caught by either check; its first query fails, the
request gets the 503 page (config/faults.py) and the pool drops the connection.
"""

import select


def check_connection(conn) -> None:
    """Raise if `conn` cannot be used (psycopg_pool's `check` callback)."""
    from psycopg_pool import ConnectionPool

    if not conn.closed and not conn.broken:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
        if not readable:
            return
    ConnectionPool.check_connection(conn)
