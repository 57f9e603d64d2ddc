"""/healthz: whether the database and the cache answer, for a load balancer or a monitor.

JSON, never cached, no secrets (no host names, URLs or error texts). 200 while the database
answers; 503 when it does not (this process cannot serve pages then). The cache being down
makes the status "degraded" but keeps 200: the site works without it (config/cache.py), and
every process shares the one Redis, so taking processes out of service would not help.
Rate limits leave this path alone (it is cheap: one query and one cache round trip).
"""

import time
import uuid

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.faults import UNAVAILABLE


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        ok = check()
    except (*UNAVAILABLE, DatabaseError, OSError):
        ok = False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _cache() -> bool:
    # A round trip that only a working cache completes: the resilient Redis cache turns a
    # failure into a dropped write and a miss, so the value does not come back.
    key, token = "healthz", uuid.uuid4().hex
    cache.set(key, token, 10)
    return cache.get(key) == token


@never_cache
@require_GET
def healthz(request):
    database, cache_state = _timed(_database), _timed(_cache)
    status = "ok" if database["ok"] and cache_state["ok"] else "degraded" if database["ok"] else "unavailable"
    return JsonResponse({"status": status, "database": database, "cache": cache_state},
                        status=200 if database["ok"] else 503)
