"""config/cache.py: Django's Redis cache that degrades to "no cache" while Redis is down."""
import logging
import time
import uuid

import pytest

from config import cache as resilient
from config.cache import CacheUnavailable, ResilientRedisCache

LIVE = "redis://127.0.0.1:6379/0"
DEAD = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused
OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def make(location: str) -> ResilientRedisCache:
    # A prefix of its own: tests side by side never share keys.
    return ResilientRedisCache(location, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}", "OPTIONS": OPTIONS})


def test_with_redis_up_it_is_djangos_redis_cache():
    cache = make(LIVE)
    try:
        cache.set("k", {"a": 1}, 30)
        assert cache.get("k") == {"a": 1}
        assert cache.add("n", 1, 30) is True and cache.add("n", 5, 30) is False
        assert cache.incr("n") == 2 and cache.decr("n") == 1
        with pytest.raises(ValueError):  # Django's "no such key", unchanged
            cache.incr("missing")
        assert cache.get_or_set("g", lambda: "made", 30) == "made" and cache.get("g") == "made"
        assert cache.get_many(["k", "n"]) == {"k": {"a": 1}, "n": 1}
        assert cache.delete("k") is True and cache.get("k") is None
        assert cache.cache_available()
    finally:
        cache.clear()


def test_with_redis_down_reads_miss_writes_drop_and_counting_raises(caplog):
    cache = make(DEAD)
    with caplog.at_level(logging.WARNING, logger="daiou.cache"):
        assert cache.get("k", "default") == "default"
    assert "cache unavailable" in caplog.text
    assert cache.cache_available() is False
    assert cache.set("k", 1) is None
    assert cache.get_many(["a", "b"]) == {}
    assert cache.has_key("k") is False
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # reported as not set
    assert cache.delete("k") is False and cache.touch("k") is False
    cache.delete_many(["a"])
    cache.clear()
    calls = []
    assert cache.get_or_set("g", lambda: calls.append(1) or "made") == "made" and calls == [1]
    for count in (lambda: cache.add("n", 1), lambda: cache.incr("n"), lambda: cache.decr("n")):
        with pytest.raises(CacheUnavailable):
            count()
    # CacheUnavailable is not ValueError: never mistaken for "the key does not exist".
    assert not issubclass(CacheUnavailable, ValueError)


def test_after_a_failure_redis_is_left_alone_for_a_while_then_tried_again(monkeypatch):
    cache = make(LIVE)
    tries = []
    real_get = ResilientRedisCache.__mro__[1].get

    def counting_get(self, *args, **kwargs):
        tries.append(1)
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(ResilientRedisCache.__mro__[1], "get", counting_get)
    cache.set("k", "v", 30)
    # As if the last call had failed: Redis is not asked, the answer is a miss at once.
    cache._down_until = time.monotonic() + resilient.RETRY_AFTER
    assert cache.get("k") is None and tries == []
    with pytest.raises(CacheUnavailable):
        cache.incr("k")
    # Once the pause is over the cache answers again: it comes back by itself.
    cache._down_until = time.monotonic() - 0.001
    assert cache.get("k") == "v" and tries == [1]
    cache.clear()


def test_a_dead_redis_costs_little_time():
    cache = make(DEAD)
    started = time.perf_counter()
    for _ in range(100):
        cache.get("k")
        cache.set("k", 1)
    # The first call finds Redis down; the circuit answers the other 199 without a socket.
    assert time.perf_counter() - started < 1.0
