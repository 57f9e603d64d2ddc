"""What the fuzz tests share (issue 9, point 5; docs/reliability.md).

- `fuzz_settings()`: hypothesis settings with FUZZ_EXAMPLES examples per target (a few hundred
  by default, for CI; `FUZZ_EXAMPLES=20000` for a long run). No hypothesis deadline: a slow
  input is judged by `time_cap` instead, which stops any input after FUZZ_CAP_SECONDS (5 s)
  with a SIGALRM timer and fails the test with that input (Python's regex engine checks for
  signals, so a runaway regex is caught too).
- Seeds: the real material in ../shared (read in place, never copied): the XSS vectors, the
  phishing mails, the seed volume page; `mutated()` draws one and damages it: bytes flipped,
  inserted, deleted, repeated (thousands of times, to find quadratic paths), spliced from
  another seed, or a token that means something to a parser put somewhere; then cut to
  MAX_INPUT. Each entry point's own size cap is tested apart, at the cap.
"""

import json
import os
import signal
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("DAIOU_SHARED", REPO.parent / "shared")).resolve()

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "") or 200)
CAP_SECONDS = float(os.environ.get("FUZZ_CAP_SECONDS", "") or 5)


def fuzz_settings(share: float = 1.0) -> settings:
    """`share` of FUZZ_EXAMPLES examples (for targets that cost a database round trip)."""
    return settings(max_examples=max(10, int(FUZZ_EXAMPLES * share)), deadline=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


class Hang(BaseException):
    """An input that took longer than the cap. A BaseException, so that code under test that
    catches Exception cannot swallow it."""


@contextmanager
def time_cap(seconds: float = CAP_SECONDS):
    def on_alarm(signum, frame):
        raise Hang(f"no answer within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- the real material ---------------------------------------------------------------------------

def _shared(path: str) -> Path:
    found = SHARED / path
    if not found.exists():  # never a skip: fuzzing without its seeds has failed
        raise FileNotFoundError(f"fuzz seeds not found at {found} (set DAIOU_SHARED)")
    return found


@cache
def xss_payloads() -> tuple[str, ...]:
    return tuple(item["payload"] for item in json.loads(_shared("corpus/xss-vectors.json").read_text()))


@cache
def mails() -> tuple[bytes, ...]:
    return tuple(path.read_bytes() for path in sorted(_shared("corpus/eml").rglob("*.eml")))


@cache
def seed_volume() -> str:
    return _shared("seeds/000_b76d7b869b75e23a.txt").read_text(encoding="utf-8")


# Pieces that mean something to one of the parsers: archive structure, MIME, encoded words,
# defanging tokens, Unicode that changes length or direction when folded.
TOKENS = (
    "\n", "\r\n", "\r", "\x00", "\ufeff", "\u202e", "\u200b", "\ufffd", "\ud800", "ﾊﾟ", "ｱ", "㌔", "ß", "İ",
    "【", "】", "【名前】 2020/09/08 (Tue) 14:54", "<NO.", "情報<NO.70>", "NO.916 題<起稿 名>(20/09/08)",
    "表題一覧表", "********** 以下引用1 **********", "********** 引用終わり **********", "(20/99/99)",
    "Content-Type: multipart/mixed; boundary=\"b\"\n", "--b\n", "--b--\n", "Content-Transfer-Encoding: base64\n",
    "=?utf-8?B?", "=?iso-2022-jp?q?", "?=", "\x1b$B", "\x1b(B", "charset=\"utf-7\"", "+ADw-script+AD4-",
    "Content-Type: message/rfc822\n\n", "To: a@b.example, \"x\" <y@z.example>\n",
    "hxxp://", "http://", "https://xn--", "[.]", "(.)", "[:]", "@", "＠", "%40", "4111 1111 1111 1111", "〒100-0001",
    "090-1234-5678", "\"", "\"\"", "NEAR(", "*", "OR", "-", "'", "\\", "%", "_", "&amp;", "<script>", "javascript:",
)


def _element(data):
    return st.binary(min_size=1, max_size=8) if isinstance(data, bytes) else st.text(min_size=1, max_size=8)


def _token(data, token: str):
    return token.encode("utf-8", "surrogatepass") if isinstance(data, bytes) else token


@st.composite
def _mutated(draw, seeds, max_steps: int, max_size: int):
    data = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(0, max_steps))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(("flip", "insert", "delete", "repeat", "splice", "token", "cut")))
        if op == "flip" and at < len(data):
            data = data[:at] + draw(_element(data)) + data[at + 1:]
        elif op == "insert":
            data = data[:at] + draw(_element(data)) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 200)):]
        elif op == "repeat":
            piece = data[at:at + draw(st.integers(1, 40))]
            data = data[:at] + piece * draw(st.sampled_from((2, 10, 1000, 5000))) + data[at:]
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            start = draw(st.integers(0, len(other)))
            data = data[:at] + other[start:start + draw(st.integers(1, 2000))] + data[at:]
        elif op == "token":
            data = data[:at] + _token(data, draw(st.sampled_from(TOKENS))) + data[at:]
        elif op == "cut":
            data = data[:at]
    return data[:max_size]


# Inputs stay below this size: large enough that a quadratic path shows (100,000² steps are
# hours), small enough that a linear one answers well within the cap on a busy machine.
MAX_INPUT = 100_000


class _Seeds(tuple):
    """Seeds that print short: hypothesis shows strategies in its reports."""

    def __repr__(self):
        return f"<{len(self)} seeds>"


def mutated(seeds, max_steps: int = 8, max_size: int = MAX_INPUT):
    """A seed damaged in up to `max_steps` ways (seeds are all str or all bytes)."""
    return _mutated(_Seeds(seeds), max_steps, max_size)


def small_text(max_size: int = 400):
    """Arbitrary text, with the parser tokens mixed in often."""
    return st.lists(st.text(max_size=20) | st.sampled_from(TOKENS), max_size=max_size // 10).map("".join)
