"""The `posts_changed` receivers of a bulk import, run in a second process beside it.

On PostgreSQL the importer spends most of its time waiting: for its own rows, then for the
receivers' indicators and search index. Handing each committed batch's posts to a second
process lets the next batch be parsed, rendered and stored while the previous one is indexed,
so both cores work. At most one batch waits for the other process (memory stays flat), and
its receivers' errors are reported to the importer, as `send_robust` would log them.
"""

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from django.db import connection

log = logging.getLogger(__name__)


def _start(database_name: str) -> None:
    import django

    django.setup()
    from django.db import connections

    # The importer's database, which under the tests is not the one the settings name.
    connections["default"].settings_dict["NAME"] = database_name


def _send(post_ids: list[int]) -> list[str]:
    from .models import Post
    from .signals import posts_changed

    return [f"{receiver.__module__}.{receiver.__qualname__}: {result!r}"
            for receiver, result in posts_changed.send_robust(sender=Post, post_ids=post_ids)
            if isinstance(result, Exception)]


class BackgroundReceivers:
    """`deliver(ids)` queues a batch of changed posts for the other process; `close()` waits
    for the last one. Use as a context manager."""

    def __init__(self):
        # spawn, not fork: a forked child would share the importer's open database connection.
        self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                         initargs=(connection.settings_dict["NAME"],))
        self._pending = None
        self.errors: list[str] = []

    def deliver(self, post_ids: list[int]) -> None:
        self.wait()
        self._pending = self._pool.submit(_send, post_ids)

    def wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            for error in pending.result():
                log.error("posts_changed receiver failed in the background: %s", error)
                self.errors.append(error)

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._pool.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
