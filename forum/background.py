"""The `posts_changed` receivers of a bulk import, run in two processes beside it.

On PostgreSQL the importer spends most of its time waiting: for its own rows, then for the
receivers' indicators and search index. Handing each committed batch's posts to a second
processes lets the next batch be parsed, rendered and stored while the previous one is
indexed, so both cores work. At most one batch waits for them (memory stays flat), and the
receivers' errors are reported to the importer, as `send_robust` would log them.
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


def _send(post_ids: list[int], share: int, shares: int) -> list[str]:
    """Run this process's share of the receivers (every `shares`-th, from `share`)."""
    from .models import Post
    from .signals import posts_changed

    errors = []
    # Django keeps no public list of a signal's receivers; _live_receivers is what send() uses.
    for receiver in posts_changed._live_receivers(Post)[0][share::shares]:
        try:
            receiver(signal=posts_changed, sender=Post, post_ids=post_ids)
        except Exception as error:  # as send_robust: reported, never raised
            errors.append(f"{receiver.__module__}.{receiver.__qualname__}: {error!r}")
    return errors


class BackgroundReceivers:
    """`deliver(ids)` queues a batch of changed posts for the other processes; `close()` waits
    for the last one. Use as a context manager.

    The receivers are shared between `processes` processes (indicators in one, the search index
    in the other): each costs about as much as the import itself, so on two cores the three
    keep both busy; the database's locks keep their writes apart."""

    def __init__(self, processes: int = 2):
        # spawn, not fork: a forked child would share the importer's open database connection.
        context = multiprocessing.get_context("spawn")
        self._pools = [ProcessPoolExecutor(1, mp_context=context, initializer=_start,
                                           initargs=(connection.settings_dict["NAME"],)) for _ in range(processes)]
        self._pending = []
        self.errors: list[str] = []

    def deliver(self, post_ids: list[int]) -> None:
        self.wait()
        self._pending = [pool.submit(_send, post_ids, share, len(self._pools)) for share, pool in enumerate(self._pools)]

    def wait(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            for error in future.result():
                log.error("posts_changed receiver failed in the background: %s", error)
                self.errors.append(error)

    def close(self) -> None:
        try:
            self.wait()
        finally:
            for pool in self._pools:
                pool.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
