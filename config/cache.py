"""Django's Redis cache, made to degrade instead of failing when Redis does not answer.

Used as the default cache when REDIS_URL is set (config/settings.py). Django's RedisCache
raises redis' ConnectionError or TimeoutError from every call while Redis is down or
restarting; a cache must never take the site down with it, so this subclass logs the error
once and answers as follows while Redis is unavailable:

- reads are misses: `get` returns the default, `get_many` {}, `has_key` False;
- writes are dropped: `set`, `set_many` (every key reported as not set), `delete`,
  `delete_many`, `touch` and `clear` do nothing and return what "nothing happened" means
  (`delete` and `touch` return False);
- `get_or_set` returns the default without storing it;
- `add`, `incr` and `decr` raise **CacheUnavailable**. Their callers count or lock (rate
  limits, throttles), and any answer made up here would be a lie in one direction: `add`
  returning False means "someone holds it", True "you got it", `incr` a wrong count. A
  caller that must work without Redis catches CacheUnavailable and falls back (e.g. to the
  database); one that does not lets the error through, which is not a ValueError, so it is
  never mistaken for "the key does not exist". `cache_available()` tells without raising
  whether the last call found Redis down.

After a failure Redis is not asked again for RETRY_AFTER seconds (per process): a page that
makes several cache calls does not wait out the socket timeout for each of them, and a
restarting Redis is not hammered. The next call after that tries again, so the cache comes
back by itself. The socket timeouts are set short in settings (a cache answers in
milliseconds or not at all).
"""

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache

log = logging.getLogger("daiou.cache")

RETRY_AFTER = 5.0  # seconds


class CacheUnavailable(Exception):
    """The cache cannot answer now; raised by add, incr and decr only (see the module)."""


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        import redis

        # ConnectionError covers refused and reset connections, TimeoutError a hung server;
        # ResponseError (a wrong type, a full memory) is Redis answering, not Redis gone,
        # but it must not fail a page either.
        self._errors = (redis.exceptions.RedisError, OSError)
        self._lock = threading.Lock()
        self._down_until = 0.0

    # --- the circuit: skip Redis for a while after it failed ---------------------------------

    def cache_available(self) -> bool:
        """False while Redis is known to be down (until RETRY_AFTER has passed)."""
        return time.monotonic() >= self._down_until

    def _call(self, operation: str, method, *args, **kwargs):
        """Run one call to Redis; raise CacheUnavailable if Redis fails or is known down."""
        if not self.cache_available():
            raise CacheUnavailable(f"the cache is down; {operation} not tried")
        try:
            return method(*args, **kwargs)
        except self._errors as error:
            with self._lock:
                first = self.cache_available()
                self._down_until = time.monotonic() + RETRY_AFTER
            if first:  # once per outage window, not once per call
                log.warning("cache unavailable (%s failed: %s); working without it for %.0f s",
                            operation, error, RETRY_AFTER)
            raise CacheUnavailable(f"{operation}: {error}") from error

    def _quietly(self, operation: str, fallback, method, *args, **kwargs):
        try:
            return self._call(operation, method, *args, **kwargs)
        except CacheUnavailable:
            return fallback

    # --- reads: a miss ------------------------------------------------------------------------

    def get(self, key, default=None, version=None):
        return self._quietly("get", default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return self._quietly("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._quietly("has_key", False, super().has_key, key, version)

    # --- writes: dropped ----------------------------------------------------------------------

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._quietly("set", None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._quietly("set_many", list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._quietly("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._quietly("delete", False, super().delete, key, version)

    def delete_many(self, keys, version=None):
        self._quietly("delete_many", None, super().delete_many, keys, version)

    def clear(self):
        return self._quietly("clear", False, super().clear)

    def get_or_set(self, key, default, timeout=DEFAULT_TIMEOUT, version=None):
        # BaseCache's, with add() allowed to fail: the default is then returned unstored.
        value = self.get(key, self._missing_key, version)
        if value is not self._missing_key:
            return value
        if callable(default):
            default = default()
        try:
            self.add(key, default, timeout, version)
        except CacheUnavailable:
            return default
        return self.get(key, default, version)

    # --- counting and locking: the caller decides ---------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", super().add, key, value, timeout, version)

    def incr(self, key, delta=1, version=None):
        return self._call("incr", super().incr, key, delta, version)

    # decr() is BaseCache's: incr() with -delta, so it raises as incr() does.
