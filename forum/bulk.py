"""Multi-row INSERTs for the write paths that store rows by the hundred (archive import, indicators).

Django's `bulk_create` prepares every value of every row through the model's fields and builds
one model instance per row; for these rows that costs several times what the database spends
storing them. `insert` writes plain rows (dicts by attribute name; `row` makes one with the
model's defaults) in as few statements as the database's parameter limit allows, and returns
the columns asked for.
"""

from functools import cache

from django.db import connection
from django.db.models import NOT_PROVIDED

_PLAIN_TYPES = {"CharField", "TextField", "IntegerField", "PositiveIntegerField", "PositiveSmallIntegerField",
                "BigIntegerField", "ForeignKey", "BooleanField"}


def row(model, **values) -> dict:
    """A row to insert: the given values by attribute name (`thread_id`), the model's defaults
    for the rest."""
    static, dynamic = _defaults(model)
    made = static | values
    for name, default in dynamic.items():
        if name not in values:
            made[name] = default()
    return made


@cache
def _defaults(model) -> tuple[dict, dict]:
    fields = _fields(model)
    return ({f.attname: f.get_default() for f in fields if not callable(f.default)},
            {f.attname: f.get_default for f in fields if callable(f.default)})


@cache
def _fields(model) -> list:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for f in fields:
        # Such a field needs Django's own save (pre_save, a default the database computes).
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) or f.db_default is not NOT_PROVIDED:
            raise TypeError(f"forum.bulk cannot write {model.__name__}: {f.name} is filled in by Django's save")
    return fields


def insert(model, rows: list[dict], *, conflict: str | None = None, returning: tuple[str, ...] = ()) -> list[tuple]:
    """INSERT rows made by `row` (every concrete field but the id). With `conflict` (a unique
    column), rows whose value there is taken are skipped (ON CONFLICT DO NOTHING). Returns the
    `returning` columns of the rows inserted, in no promised order."""
    if not rows:
        return []
    fields = _fields(model)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    tail = f" ON CONFLICT ({quote(conflict)}) DO NOTHING" if conflict else ""
    if returning:
        tail += " RETURNING " + ", ".join(quote(column) for column in returning)
    prepare = [(f.attname, _preparer(f)) for f in fields]
    table = quote(model._meta.db_table)
    if connection.vendor == "postgresql":
        # One short statement for every row, sent in one pipeline and prepared once by the
        # server: a statement of a thousand placeholders is parsed again by psycopg each time,
        # which cost more than the server's work.
        params = [[value if prep is None else prep(value) for name, prep in prepare for value in (item[name],)]
                  for item in rows]
        with connection.cursor() as cursor:
            sql = f"INSERT INTO {table} ({columns}) VALUES {placeholders}{tail}"
            if not returning:
                cursor.executemany(sql, params)
                return []
            raw = cursor.cursor  # Django's executemany drops what each row returns
            raw.executemany(sql, params, returning=True)
            result = []
            while True:
                result += raw.fetchall()
                if not raw.nextset():
                    return result
    size = max(1, connection.ops.bulk_batch_size(fields, rows))
    result = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            params = [value if prep is None else prep(value)
                      for item in chunk for name, prep in prepare for value in (item[name],)]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES "
                           + ", ".join([placeholders] * len(chunk)) + tail, params)
            if returning:
                result += cursor.fetchall()
    return result


def _preparer(model_field):
    """How a value goes to the database: None for as is (text, numbers, keys); aware datetimes
    as the field's own preparation ends (remembered: a batch's rows share a few moments);
    anything else (JSON) through the field."""
    kind = model_field.get_internal_type()
    if kind in _PLAIN_TYPES:
        return None
    if kind == "DateTimeField":
        return cache(connection.ops.adapt_datetimefield_value)
    return lambda value: model_field.get_db_prep_save(value, connection)


def update(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """UPDATE the given fields (attribute names) of many rows, given as (pk, value, …) in that
    order, in one executemany: Django's `bulk_update` builds a CASE of every row per field,
    which cost several times the rendering it stored (`rerender`)."""
    if not rows:
        return
    quote = connection.ops.quote_name
    by_name = {f.attname: f for f in model._meta.concrete_fields}
    prepare = [_preparer(by_name[name]) for name in fields]
    assignments = ", ".join(f"{quote(by_name[name].column)} = %s" for name in fields)
    params = [[value if prep is None else prep(value) for prep, value in zip(prepare, values)] + [pk]
              for pk, *values in rows]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {quote(model._meta.db_table)} SET {assignments} "
                           f"WHERE {quote(model._meta.pk.column)} = %s", params)
