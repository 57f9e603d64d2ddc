"""The old board's header lines, written the same way on pages and in exported volumes."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

JAPAN = ZoneInfo("Asia/Tokyo")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def post_stamp(moment: datetime) -> str:
    """2020/09/08 (Tue) 14:54 — Japan time, English weekday, whatever the reader's language."""
    local = moment.astimezone(JAPAN) if moment.tzinfo else moment
    # Written out by hand: strftime twice was most of a thread page's time per post, and "%02d"
    # formatting still a tenth of its posts' HTML; two digits are looked up.
    two = _TWO_DIGITS
    return (f"{local.year:04d}/{two[local.month]}/{two[local.day]} ({WEEKDAYS[local.weekday()]}) "
            f"{two[local.hour]}:{two[local.minute]}")


def author_label(name: str, handle: str = "", device: str = "", os: str = "") -> str:
    """【name(handle)@device(os)】 with the parts a post lacks left out, never empty brackets."""
    label = name
    if handle:
        label += f"({handle})"
    if device:
        label += f"@{device}"
        if os:
            label += f"({os})"
    return f"【{label}】"


def short_date(day: date) -> str:
    return f"{day:%y/%m/%d}"


def thread_heading(number: int, title: str, originator: str, started_on: date) -> str:
    return f"NO.{number} {title}<起稿 {originator}>({short_date(started_on)})"
