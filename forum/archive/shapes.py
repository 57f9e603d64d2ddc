"""Character classes and small readers shared by the volume-page and body-block parsers.

The old forum's pages were typed by hand: brackets, digits, slashes and spaces turn up in
either width, so every shape accepts both and the line is kept as written.
"""

import re
from datetime import date

DIGIT = "[0-9０-９]"
# int() refuses digit strings past 4300 characters; no real number is longer than nine digits.
NUMBER = f"{DIGIT}{{1,9}}"
SPACE = "[ \u3000]"
SLASH = "[/／]"
SHORT_DATE = f"({DIGIT}{{2}}){SLASH}({DIGIT}{{1,2}}){SLASH}({DIGIT}{{1,2}})"
SPACE_CHARS = " \t\u3000"

_SHORT_DATE = re.compile(SHORT_DATE)


def read_short_date(text: str) -> date | None:
    """`20/09/11` → 2020-09-11 (two-digit years are 20YY); None if it is not a real date."""
    match = _SHORT_DATE.fullmatch(text)
    return short_date_of(*match.groups()) if match else None


def short_date_of(yy: str, mm: str, dd: str) -> date | None:
    try:
        return date(2000 + int(yy), int(mm), int(dd))  # int() reads full-width digits too
    except ValueError:
        return None
