"""QuerySets of the busiest pages, built and compiled to SQL once per process, then run with
each request's values.

Building a QuerySet and compiling it cost far more than running it: the thread page's query
(its visibility test and the moderation note's subqueries) took 0.9 ms to build and compile
and 0.05 ms to run on SQLite. A `Precompiled` is made from a QuerySet whose varying values are
stand-ins (`Precompiled.stand_in(n)`, values no request sends); at each call the stand-ins are
replaced among the SQL's parameters by the call's values, and the rows go through Django's own
iterable (model instances with select_related and annotations, or named rows), so what comes
back is what the QuerySet itself would have returned.

It relies on three things Django does (pinned by forum/tests/test_precompiled.py): a compiler
runs `as_sql()` for its SQL and parameters, keeps after it what its iterable reads (`select`,
`klass_info`, `annotation_col_map`), and asks `get_converters()` for the converters of its
selected columns, which depend only on those columns and the connection: worked out once per
connection here (each time, they were half of the thread query's time on the Python side).
Each call works on its own copy of the compiler, bound to the calling thread's connection.
Named rows (`values_list(named=True)`) and plain model instances (with select_related and
annotations) skip Django's iterable: the SQL runs on the connection's cursor (so it is counted,
logged and wrapped as any query; on PostgreSQL with binary results unless a column is one Django
reads from text only), the rows get the same
converters, and become the same namedtuples, or instances made as ModelIterable makes them
(`Model.from_db`, Django's populators for the related rows, the annotations set). For the
thread page the iterable's chunking, copying and queryset cloning cost a third as much as the
queries themselves.
"""

from __future__ import annotations

import copy
import re
import weakref

from django.db import connections
from django.db.models.query import ModelIterable, NamedValuesListIterable, get_related_populators
from django.db.models.utils import create_namedtuple_class

# Stand-ins are values no request sends and no query holds as a constant; each kind (str or
# int) is told apart from a real value by its type and value together (False == 0 in Python).
_STAND_IN_BASE = 987_654_000

# Columns Django's PostgreSQL backend reads with text loaders only (jsonb, inet): a query
# selecting one keeps text results.
_TEXT_ONLY = {"JSONField", "GenericIPAddressField", "IPAddressField"}


def _slot(param, slots: dict) -> int | None:
    if isinstance(param, bool):
        return None
    if isinstance(param, int):
        return slots.get((int, int(param)))
    if isinstance(param, str):
        return slots.get((str, str(param)))
    return None


class Precompiled:
    def __init__(self, queryset, alias: str, stand_ins: tuple):
        self.queryset = queryset.using(alias)
        self.alias = alias
        compiler = self.queryset.query.get_compiler(alias)
        self.sql, params = compiler.as_sql()
        self._compiler = compiler
        slots = {(type(s), s): i for i, s in enumerate(stand_ins)}
        # (position among the parameters, index of the call's value, the parameter's type) of
        # each stand-in: PostgreSQL's backend passes integers typed (psycopg's Int4, an int).
        self._places = [(at, slot, type(p)) for at, p in enumerate(params)
                        if (slot := _slot(p, slots)) is not None]
        placed = {slot for _, slot, _ in self._places}
        if missing := [s for i, s in enumerate(stand_ins) if i not in placed]:
            raise ValueError(f"stand-ins not among the query's parameters: {missing!r}")
        self._params = list(params)
        self._arity = len(stand_ins)
        # connection → the converters of the selected columns (one connection per thread)
        self._converters: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._row_class = self._model = None
        # Binary results from PostgreSQL, unless a column is one Django reads from text only
        # (its psycopg loaders for jsonb and inet are text loaders).
        self._binary = not any(
            column[0].output_field.get_internal_type() in _TEXT_ONLY for column in compiler.select[:compiler.col_count])
        queryset = self.queryset
        if queryset._iterable_class is NamedValuesListIterable:
            query = queryset.query
            self._row_class = create_namedtuple_class(
                *(queryset._fields or (*query.extra_select, *query.values_select, *query.annotation_select)))
        elif (queryset._iterable_class is ModelIterable and not queryset._known_related_objects
              and not queryset._prefetch_related_lookups and not queryset._fetch_mode.track_peers):
            # What ModelIterable works out before its loop, once (its populators keep no row).
            klass_info, select = compiler.klass_info, compiler.select
            fields = klass_info["select_fields"]
            self._model = klass_info["model"]
            self._model_columns = slice(fields[0], fields[-1] + 1)
            self._init_list = [column[0].target.attname for column in select[self._model_columns]]
            self._fetch_mode = queryset._fetch_mode
            self._populators = get_related_populators(klass_info, select, alias, self._fetch_mode)
            self._annotations = list(compiler.annotation_col_map.items())

    @staticmethod
    def stand_in(n: int, kind: type = int):
        """The n-th stand-in of a kind (int or str)."""
        return _STAND_IN_BASE + n if kind is int else f"\x00stand-in-{n}"

    def params(self, values) -> list:
        params = self._params.copy()
        for at, slot, kind in self._places:
            params[at] = values[slot] if kind is int or kind is str else kind(values[slot])
        return params

    def numbered_sql(self) -> str:
        """The SQL with PostgreSQL's own placeholders ($1, $2…) for `params()`, as libpq's
        prepare takes it (the client-side %s and %% are psycopg's)."""
        numbers = iter(range(1, len(self._params) + 1))
        return re.sub(r"%[s%]", lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", self.sql)

    def __call__(self, *values) -> list:
        """The QuerySet's results (a list) with `values` in place of the stand-ins, in order."""
        if len(values) != self._arity:
            raise TypeError(f"{self._arity} values expected, {len(values)} given")
        sql, params = self.sql, self.params(values)
        connection = connections[self.alias]
        if self._row_class is not None:
            return self._named_rows(connection, params)
        if self._model is not None:
            return self._instances(connection, params)
        compiler = copy.copy(self._compiler)
        compiler.connection = connection
        compiler.as_sql = lambda *args, **kwargs: (sql, params)
        converters = self._converters_for(connection)
        compiler.get_converters = lambda expressions: converters
        queryset = self.queryset._chain()
        queryset.query.get_compiler = lambda *args, **kwargs: compiler
        return list(queryset)

    def _converters_for(self, connection) -> dict:
        if (converters := self._converters.get(connection)) is None:
            compiler = copy.copy(self._compiler)
            compiler.connection = connection
            converters = self._converters[connection] = compiler.get_converters(
                [s[0] for s in compiler.select[0: compiler.col_count]])
        return converters

    def _rows(self, connection, params) -> list:
        """The rows, converted as SQLCompiler.apply_converters converts them (as lists)."""
        with connection.cursor() as cursor:
            if self._binary and connection.vendor == "postgresql":
                from psycopg.pq import Format

                # Rows in binary: bytea as it is stored (in text results it comes as hex, and
                # libpq's unescaping of a thread page's 55 KB of posts cost more than reading
                # the rest of their rows), numbers and times without parsing or formatting.
                cursor.cursor.format = Format.BINARY
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        converters = [(at, convs, expression) for at, (convs, expression) in self._converters_for(connection).items()]
        if not converters:
            return rows
        converted = []
        for row in rows:
            row = list(row)
            for at, convs, expression in converters:
                value = row[at]
                for convert in convs:
                    value = convert(value, expression, connection)
                row[at] = value
            converted.append(row)
        return converted

    def _named_rows(self, connection, params) -> list:
        """What NamedValuesListIterable yields."""
        row_class, new = self._row_class, tuple.__new__
        return [new(row_class, row) for row in self._rows(connection, params)]

    def _instances(self, connection, params) -> list:
        """What ModelIterable yields (for a queryset without known related objects, prefetches
        or peers)."""
        model, columns, init_list, alias = self._model, self._model_columns, self._init_list, self.alias
        fetch_mode = self._fetch_mode
        instances = []
        for row in self._rows(connection, params):
            instance = model.from_db(alias, init_list, row[columns], fetch_mode=fetch_mode)
            for populator in self._populators:
                populator.populate(row, instance)
            for name, at in self._annotations:
                setattr(instance, name, row[at])
            instances.append(instance)
        return instances
