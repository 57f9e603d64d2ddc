"""Django's SQLite backend, with each statement's placeholders converted once.

Django writes SQL with %s placeholders and its SQLite cursor turns them into ? with a regular
expression at every execute. For the thread page's two statements (4 KB of SQL) that scan was
half a million instructions a request, about 4% of the page, for the same answer each time: it
is kept here for the 512 statements seen last (a precompiled query is the same string object
each time, whose hash Python keeps). Everything else is Django's backend (settings.py names this
package as the ENGINE for sqlite:// URLs).
"""

from functools import lru_cache

from django.db.backends.sqlite3 import base


@lru_cache(maxsize=512)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query, *, param_names=None):
        if param_names is None:
            return _qmark(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name=None):
        return self.connection.cursor(factory=SQLiteCursorWrapper)
