"""forum.limits.ratelimit: windows, the cache, the database while the cache is down, client addresses."""

import threading
import time
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory

from forum.limits import ratelimit
from forum.limits.models import RateCounter
from forum.limits.ratelimit import Rate

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000  # a fixed "now", seconds since 1970


def test_a_window_lets_the_limit_through_then_refuses_until_it_closes():
    rate = Rate(3, 60)
    verdicts = [ratelimit.hit("test", "a", rate, now=T0 + i) for i in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.count for v in verdicts] == [1, 2, 3, 4]
    assert verdicts[-1].retry_after == 57  # the window opened at T0 and lasts 60 s
    assert not ratelimit.peek("test", "a", rate, now=T0 + 59).allowed
    assert ratelimit.peek("test", "a", rate, now=T0 + 60).allowed
    again = ratelimit.hit("test", "a", rate, now=T0 + 60)
    assert (again.allowed, again.count, again.retry_after) == (True, 1, 60)


def test_a_limit_of_one_is_an_interval_from_the_first_event():
    rate = Rate(1, 15)
    assert ratelimit.hit("test", "a", rate, now=T0).allowed
    assert not ratelimit.hit("test", "a", rate, now=T0 + 14).allowed
    assert ratelimit.hit("test", "a", rate, now=T0 + 15).allowed


def test_scopes_and_identifiers_count_apart():
    rate = Rate(1, 60)
    assert ratelimit.hit("test", "a", rate, now=T0).allowed
    assert ratelimit.hit("test", "b", rate, now=T0).allowed
    assert ratelimit.hit("other", "a", rate, now=T0).allowed
    assert not ratelimit.hit("test", "a", rate, now=T0).allowed


def test_peek_does_not_count():
    rate = Rate(1, 60)
    for _ in range(5):
        assert ratelimit.peek("test", "a", rate, now=T0).allowed
    assert ratelimit.hit("test", "a", rate, now=T0).allowed


def test_identifiers_are_hashed_in_the_keys():
    slot = ratelimit._slot("login_ip", "203.0.113.9")
    assert "203.0.113.9" not in slot and slot.startswith("rl:")


def test_the_configured_rates_come_from_settings(settings):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "search": (2, 30)}
    assert ratelimit.rate("search") == Rate(2, 30)
    assert [ratelimit.hit("search", "x").allowed for _ in range(3)] == [True, True, False]


def test_a_stale_value_without_expiry_is_replaced():
    # Redis' INCR on a key that expired between Django's EXISTS and INCR makes a key of value 1
    # and no expiry: read as a window opened in 1970, it must not block anyone for ever.
    slot = ratelimit._slot("test", "a")
    cache.set(slot, 1, timeout=None)
    verdict = ratelimit.hit("test", "a", Rate(1, 60), now=T0)
    assert (verdict.allowed, verdict.count) == (True, 1)
    assert not ratelimit.hit("test", "a", Rate(1, 60), now=T0 + 1).allowed


def test_the_database_counts_in_one_upsert():
    slot = "rl:test:direct"
    assert ratelimit._db_hit(slot, T0, 60) == (T0, 1)
    assert ratelimit._db_hit(slot, T0 + 5, 60) == (T0, 2)
    assert ratelimit._db_peek(slot, T0 + 59, 60) == (T0, 2)
    assert ratelimit._db_peek(slot, T0 + 60, 60) == (T0 + 60, 0)
    assert ratelimit._db_hit(slot, T0 + 60, 60) == (T0 + 60, 1)  # a fresh window over the expired one
    row = RateCounter.objects.get(slot=slot)
    assert (row.started, row.count, row.expires) == (T0 + 60, 1, T0 + 120)


# --- the cache down ------------------------------------------------------------------------------

DEAD_REDIS = {"LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}


@pytest.fixture(params=["django.core.cache.backends.redis.RedisCache", "config.cache.ResilientRedisCache"])
def dead_cache(request, settings):
    """The default cache pointed at a port where no Redis listens."""
    settings.CACHES = {"default": {"BACKEND": request.param, "KEY_PREFIX": uuid.uuid4().hex, **DEAD_REDIS}}
    return request.param


def test_limits_hold_in_the_database_while_the_cache_is_down(dead_cache):
    rate = Rate(2, 60)
    verdicts = [ratelimit.hit("test", "a", rate, now=T0 + i) for i in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].retry_after == 58
    assert not ratelimit.peek("test", "a", rate, now=T0 + 3).allowed
    assert RateCounter.objects.get(slot=ratelimit._slot("test", "a")).count == 3
    # A peek finds the database too when it comes first after the cache went down.
    ratelimit.circuit.down_until = 0.0
    assert not ratelimit.peek("test", "a", rate, now=T0 + 3).allowed


def test_the_cache_is_not_waited_for_on_every_event_while_it_is_down(dead_cache):
    ratelimit.hit("test", "a", Rate(100, 60))
    started = time.monotonic()
    for _ in range(20):
        ratelimit.hit("test", "a", Rate(100, 60))
    assert time.monotonic() - started < 0.5  # no socket timeout each time: the circuit is open
    assert RateCounter.objects.get(slot=ratelimit._slot("test", "a")).count == 21


def test_closed_windows_are_swept_when_the_cache_is_found_down(dead_cache):
    RateCounter.objects.create(slot="rl:old", started=T0 - 7200, count=9, expires=T0 - 3600)
    ratelimit.hit("test", "a", Rate(1, 60), now=T0)
    assert not RateCounter.objects.filter(slot="rl:old").exists()


def test_a_page_with_a_limit_answers_while_the_cache_is_down(client, settings):
    # The site's own Redis backend (config/settings.py): the page's other cache calls miss quietly.
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", **DEAD_REDIS}}
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "lookup": (2, 60)}
    statuses = [client.get("/api/indicators.json", {"q": "example.com"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_with_a_live_redis_the_counts_are_in_redis(settings):
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis is not running at 127.0.0.1:6379 (the tests' Redis)")
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": "redis://127.0.0.1:6379/0",
                                   "KEY_PREFIX": f"daiou-test-{uuid.uuid4().hex}"}}
    try:
        verdicts = [ratelimit.hit("test", "a", Rate(2, 60)).allowed for _ in range(3)]
        assert verdicts == [True, True, False]
        assert not RateCounter.objects.exists()
        assert cache.get(ratelimit._slot("test", "a")) & ratelimit.COUNT_MASK == 3
    finally:
        cache.delete(ratelimit._slot("test", "a"))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_events_in_the_database_are_all_counted(dead_cache):
    """Threads counting one key at once: the UPSERT loses none (each thread its own connection)."""
    rate, threads, each = Rate(1000, 60), 8, 10
    errors = []

    def work():
        try:
            for _ in range(each):
                ratelimit.hit("test", "shared", rate, now=T0)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert RateCounter.objects.get(slot=ratelimit._slot("test", "shared")).count == threads * each


# --- client addresses -------------------------------------------------------------------------------

def _request(remote="198.51.100.7", forwarded=None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_the_client_address_is_remote_addr_unless_behind_a_proxy(settings):
    settings.DAIOU_BEHIND_PROXY = False
    assert ratelimit.client_ip(_request(forwarded="203.0.113.1")) == "198.51.100.7"
    settings.DAIOU_BEHIND_PROXY = True
    # The proxy appends the address it saw; what comes before, the client may have written.
    assert ratelimit.client_ip(_request(forwarded="6.6.6.6, 203.0.113.1")) == "203.0.113.1"
    assert ratelimit.client_ip(_request(forwarded="")) == "198.51.100.7"
    assert ratelimit.client_ip(_request(remote="garbage")) == ""


def test_an_ipv6_client_counts_as_its_slash_64():
    assert ratelimit.network_of("2001:db8:1:2:aaaa::1") == ratelimit.network_of("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert ratelimit.network_of("::ffff:203.0.113.5") == "203.0.113.5"
    assert ratelimit.network_of("203.0.113.5") == "203.0.113.5"
    assert ratelimit.network_of("") == "unknown"
