"""A progress line for long commands (fill_corpus, rerender, rebuild_indicators, rebuild_search_index).

On a terminal the line is redrawn in place; in a log it is written every `every_log` seconds.
"""

import time


class ProgressBar:
    def __init__(self, stream, label: str, *, every_log: float = 10.0):
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.last_shown = 0.0
        self.tty = getattr(stream, "isatty", lambda: False)()
        self.every = 0.2 if self.tty else every_log
        self.shown = ""

    def __call__(self, done: int, total: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last_shown < self.every and (total is None or done < total):
            return
        self.last_shown = now
        self._show(self._line(done, total, now))

    def _line(self, done: int, total: int | None, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = done / elapsed
        line = f"{self.label}: {done:,}"
        if total:
            left = (total - done) / rate if rate and done < total else 0
            line += f"/{total:,} ({min(done / total, 1):.0%}), about {left:,.0f} s left"
        return f"{line}, {rate:,.0f}/s, {elapsed:,.0f} s"

    def _show(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r" + line.ljust(len(self.shown)), ending="")
        else:
            self.stream.write(line)
        self.stream.flush()
        self.shown = line

    def finish(self) -> float:
        """End the line; returns the seconds spent."""
        if self.tty and self.shown:
            self.stream.write("")
        return time.monotonic() - self.started
