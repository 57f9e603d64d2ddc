"""config/sqlite: Django's SQLite backend with each statement's placeholders converted once."""

import sqlite3

from config.sqlite.base import SQLiteCursorWrapper, _qmark


def test_placeholders_are_converted_as_djangos_cursor_converts_them_and_kept():
    cursor = sqlite3.connect(":memory:").cursor(factory=SQLiteCursorWrapper)
    sql = "SELECT %s || '%%s' || %s"  # a literal %s is written %%s, as in Django
    assert cursor.execute(sql, ("a", "b")).fetchone() == ("a%sb",)
    hits = _qmark.cache_info().hits
    assert cursor.execute(sql, ("c", "d")).fetchone() == ("c%sd",)
    assert _qmark.cache_info().hits == hits + 1
    assert cursor.execute("SELECT %(x)s * 2", {"x": 21}).fetchone() == (42,)  # named style: Django's own
    assert cursor.execute("SELECT 'no parameters'").fetchone() == ("no parameters",)
