"""Rate limits: how many times something may happen per window, counted in the cache.

    hit(scope, ident, rate)  counts one event and says whether it is within the limit;
    peek(scope, ident, rate) says the same without counting (login: is this account blocked?).

A window opens with the first event and lasts `rate.window` seconds; within it at most
`rate.limit` events pass, so a limit of one is a plain interval (the flood interval between
posts). The count lives in the cache: `cache.add` opens the window and `cache.incr` counts,
both atomic in Redis. Whenever the cache does not answer (Redis down or restarting) the count
is kept in the database instead (RateCounter, one UPSERT per event), so no limit lapses
while the cache is away; the cache is tried again a few seconds later.

Identifiers are hashed into the keys: no user name or IP address is stored in clear.
"""

import hashlib
import ipaddress
import logging
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

log = logging.getLogger("daiou.limits")

# A cache value holds the window's start and its count: start << SHIFT | count, so that one
# atomic INCR counts and still tells when the window opened.
SHIFT = 24
COUNT_MASK = (1 << SHIFT) - 1
# After the cache failed, the database holds the counts for this long before the cache is
# tried again (config.cache.ResilientRedisCache keeps its own, shorter, circuit).
CACHE_RETRY_SECONDS = 10
# Tests give every test its own namespace, so counts never carry over between tests.
NAMESPACE = ""


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    count: int  # events in the window, this one included when counted
    retry_after: int  # seconds until the window closes (0 when none is open)

    @property
    def wait_message(self) -> str:
        seconds = max(1, self.retry_after)
        if seconds < 120:
            return ngettext("Please wait %(n)d second and try again.",
                            "Please wait %(n)d seconds and try again.", seconds) % {"n": seconds}
        minutes = -(-seconds // 60)
        return ngettext("Please wait %(n)d minute and try again.",
                        "Please wait %(n)d minutes and try again.", minutes) % {"n": minutes}


def rate(scope: str) -> Rate:
    """The configured rate of a scope (settings.DAIOU_RATE_LIMITS)."""
    limit, window = settings.DAIOU_RATE_LIMITS[scope]
    return Rate(limit, window)


def _cache_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError]
    try:
        from redis.exceptions import RedisError

        errors.append(RedisError)
    except ImportError:  # pragma: no cover - redis is in requirements.txt
        pass
    try:
        from config.cache import CacheUnavailable

        errors.append(CacheUnavailable)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errors)


CACHE_ERRORS = _cache_errors()


class _Circuit:
    """When the cache last failed, per process: while it is known down, go to the database at once."""

    down_until = 0.0

    def usable(self) -> bool:
        if time.monotonic() < self.down_until:
            return False
        # The resilient Redis cache answers reads with a miss while Redis is down; ask it.
        available = getattr(cache, "cache_available", None)
        return available() if callable(available) else True

    def trip(self, error: BaseException) -> None:
        if time.monotonic() >= self.down_until:
            log.warning("rate limits counted in the database: the cache failed (%s)", error)
        self.down_until = time.monotonic() + CACHE_RETRY_SECONDS


circuit = _Circuit()


def clock() -> float:
    """Seconds since 1970: the time windows are counted in (tests move it)."""
    return time.time()


def _slot(scope: str, ident: str) -> str:
    digest = hashlib.sha256(str(ident).encode()).hexdigest()[:32]
    return f"rl:{NAMESPACE}{scope}:{digest}"


# --- the cache ----------------------------------------------------------------------------------

def _cache_hit(slot: str, now: int, window: int) -> tuple[int, int]:
    """(window start, count) after counting one event in the cache."""
    for _attempt in range(3):
        cache.add(slot, now << SHIFT, timeout=window)
        try:
            value = cache.incr(slot)
        except ValueError:  # the window closed between add and incr: open the next one
            continue
        started, count = value >> SHIFT, value & COUNT_MASK
        if started + window > now:
            return started, count
        # A stale value: Redis' INCR on a key that expired after Django checked it exists
        # makes a new key without expiry (value 1, start 0). Replace it with a fresh window.
        cache.set(slot, (now << SHIFT) | 1, timeout=window)
        return now, 1
    return now, 1


def _cache_peek(slot: str, now: int, window: int) -> tuple[int, int]:
    value = cache.get(slot)
    if not isinstance(value, int) or (value >> SHIFT) + window <= now:
        return now, 0
    return value >> SHIFT, value & COUNT_MASK


# --- the database, while the cache is down ------------------------------------------------------

def _db_hit(slot: str, now: int, window: int) -> tuple[int, int]:
    from .models import RateCounter

    table = connection.ops.quote_name(RateCounter._meta.db_table)
    # One statement, atomic on both databases: a new row, a fresh window over an expired one,
    # or one more in the open window. SET expressions all read the row as it was.
    sql = (
        f"INSERT INTO {table} (slot, started, count, expires) VALUES (%s, %s, 1, %s) "
        f"ON CONFLICT (slot) DO UPDATE SET "
        f"started = CASE WHEN {table}.expires <= %s THEN excluded.started ELSE {table}.started END, "
        f"count = CASE WHEN {table}.expires <= %s THEN 1 ELSE {table}.count + 1 END, "
        f"expires = CASE WHEN {table}.expires <= %s THEN excluded.expires ELSE {table}.expires END "
        f"RETURNING started, count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [slot, now, now + window, now, now, now])
        started, count = cursor.fetchone()
    return started, count


def _db_peek(slot: str, now: int, window: int) -> tuple[int, int]:
    from .models import RateCounter

    row = RateCounter.objects.filter(slot=slot, expires__gt=now).values_list("started", "count").first()
    return row if row else (now, 0)


def _sweep(now: int) -> None:
    """Forget closed windows; run once each time the cache is found down, not per event."""
    from .models import RateCounter

    RateCounter.objects.filter(expires__lte=now).delete()


def _count(scope: str, ident: str, rate_: Rate, now: float | None, *, counting: bool) -> Verdict:
    now_s = int(clock() if now is None else now)
    slot = _slot(scope, ident)
    started = count = None
    if circuit.usable():
        try:
            started, count = (_cache_hit if counting else _cache_peek)(slot, now_s, rate_.window)
        except CACHE_ERRORS as error:
            circuit.trip(error)
            _sweep(now_s)
    if count is None:
        started, count = (_db_hit if counting else _db_peek)(slot, now_s, rate_.window)
    allowed = count <= rate_.limit if counting else count < rate_.limit
    retry_after = max(0, started + rate_.window - now_s) if count else 0
    return Verdict(allowed=allowed, count=count, retry_after=retry_after)


def hit(scope: str, ident: str, rate_: Rate | None = None, *, now: float | None = None) -> Verdict:
    """Count one event of `scope` by `ident`; allowed while the window's count is within the limit."""
    return _count(scope, ident, rate_ or rate(scope), now, counting=True)


def peek(scope: str, ident: str, rate_: Rate | None = None, *, now: float | None = None) -> Verdict:
    """Whether one more event would be allowed, without counting it."""
    return _count(scope, ident, rate_ or rate(scope), now, counting=False)


# --- requests -------------------------------------------------------------------------------------

def client_ip(request) -> str:
    """The client's IP address: REMOTE_ADDR, or behind a reverse proxy (DAIOU_BEHIND_PROXY) the
    hop the proxy appended to X-Forwarded-For, the last one: what comes before it the client
    may have written itself."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.DAIOU_BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        address = forwarded or address
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return ""


def network_of(ip: str) -> str:
    """What one client counts as: an IPv4 address, or an IPv6 /64 (one household or server
    has a whole /64 and could otherwise step around any limit)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def requester(request) -> str:
    """Who a request counts for: the member, or the network of an anonymous reader."""
    if request.user.is_authenticated:
        return f"member:{request.user.pk}"
    return f"ip:{network_of(client_ip(request))}"


def too_many(request, verdict: Verdict, *, template: str = "429.html", context: dict | None = None,
             message: str | None = None):
    """The friendly answer to a limited request: HTTP 429, how long to wait, a Retry-After header."""
    text = message or _("You are doing this too often.")
    response = render(request, template, {**(context or {}), "limit_message": text,
                                          "wait_message": verdict.wait_message}, status=429)
    response["Retry-After"] = str(max(1, verdict.retry_after))
    return response


def too_many_json(verdict: Verdict):
    message = _("Too many requests.") + " " + verdict.wait_message
    response = JsonResponse({"error": message}, status=429,
                            json_dumps_params={"ensure_ascii": False})
    response["Retry-After"] = str(max(1, verdict.retry_after))
    response["Cache-Control"] = "no-store"
    return response


def rate_limited(scope: str, *, when=None, json: bool = False):
    """Count each request to a view (those for which `when(request)` is true) by requester;
    over the limit the view is not run and the request gets the 429 answer."""
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if when is None or when(request):
                verdict = hit(scope, requester(request))
                if not verdict.allowed:
                    return too_many_json(verdict) if json else too_many(request, verdict)
            return view(request, *args, **kwargs)
        return wrapper
    return decorator
