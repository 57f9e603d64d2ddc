"""The search index (ISSUE 7; docs/search.md): one SearchDocument per post, and each database's
own full-text index over it.

- SQLite: `forum_searchindex`, a contentless FTS5 table whose row id is the document's sort
  key. Its tokens are the bigrams that forum.search_text writes, separated by spaces: the
  `ascii` tokenizer with every printable ASCII character a token character splits on spaces
  only (and leaves non-ASCII alone); `prefix='1'` answers one-character queries.
- PostgreSQL: a `tsv` column of bigrams, characters and filter tokens (built by the app,
  no text search parser involved) with a GIN index, and `forum_search_hits` /
  `forum_search_count`, which walk the index month by month, newest first, so that a query
  matching half the archive stops after a page instead of sorting every hit.
- Both: partial indexes on hidden posts and hidden threads, which every reader's search
  leaves out (tiny: a handful of rows).
"""

import string

import django.db.models.deletion
from django.db import migrations, models

import forum.models

_TOKEN_CHARACTERS = string.punctuation.replace("'", "''")
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE forum_searchindex USING fts5(head, body, meta, "
    "tokenize='ascii tokenchars ''{chars}''', prefix='1', content='', columnsize=0)"
).format(chars=_TOKEN_CHARACTERS.replace("'", "''"))

HIDDEN_INDEXES = [
    "CREATE INDEX forum_post_hidden_ids ON forum_post (id) WHERE hidden",
    "CREATE INDEX forum_thread_hidden_ids ON forum_thread (id) WHERE hidden",
]
DROP_HIDDEN_INDEXES = ["DROP INDEX forum_post_hidden_ids", "DROP INDEX forum_thread_hidden_ids"]

POSTGRES_INDEX = [
    "ALTER TABLE forum_searchdocument ADD COLUMN tsv tsvector NOT NULL DEFAULT ''::tsvector",
    # Rows small enough that reading thousands of candidates' keys stays cheap: the texts
    # and the tsvector live in TOAST (fetched only for the few hits that need a check).
    "ALTER TABLE forum_searchdocument SET (toast_tuple_target = 128)",
    # No pending list: a search never scans unsorted recent entries.
    "CREATE INDEX forum_searchdocument_tsv ON forum_searchdocument USING gin (tsv) WITH (fastupdate = off)",
]

# A search on PostgreSQL runs in forum_search_pass: the GIN index gives the candidates of a
# window of months (a `_m<YYYY-MM>` token per document), newest window first (1, 1, 2, 4 and 8
# months back from the newest key, then everything older), so that a query matching half the
# archive stops within its first month instead of sorting every hit. A candidate is a hit when
# it is visible (unless moderating), holds every term that bigrams cannot prove (`checks`,
# compared with the folded text) and has (head_mode 1) or has not (-1) a term in its title or
# subtitle. forum_search_hits strings passes into relevance buckets; forum_search_count counts.
POSTGRES_FUNCTIONS = r"""
CREATE FUNCTION forum_search_month_key(month date) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT (extract(epoch FROM month::timestamp AT TIME ZONE 'UTC')::bigint) << 30
$$;

CREATE FUNCTION forum_search_months(first_month date, last_month date) RETURNS tsquery
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(quote_literal(chr(65535) || '_m' || to_char(m, 'YYYY-MM')), ' | ')::tsquery
      FROM generate_series(first_month::timestamp, last_month::timestamp, interval '1 month') AS m
$$;

-- The windows of a search, newest first: 1, 1, 2, 4 and 8 months back from the month of
-- the newest key below `below` (or of the newest document), then everything older (months
-- NULL); none reaches below `from_key`.
CREATE FUNCTION forum_search_windows(below bigint, from_key bigint)
RETURNS TABLE (months tsquery, window_below bigint, window_from bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    sizes int[] := ARRAY[1, 1, 2, 4, 8];
    step int;
    newer date;
    older date;
BEGIN
    from_key := coalesce(from_key, 0);
    IF below IS NULL THEN
        SELECT max(d.sort_key) + 1 INTO below FROM forum_searchdocument d;
    END IF;
    IF below IS NULL OR below <= from_key THEN
        RETURN;
    END IF;
    newer := (date_trunc('month', to_timestamp((below - 1) >> 30) AT TIME ZONE 'UTC') + interval '1 month')::date;
    FOR step IN 1 .. cardinality(sizes) LOOP
        older := (newer - make_interval(months => sizes[step]))::date;
        months := forum_search_months(older, (newer - interval '1 month')::date);
        window_below := least(below, forum_search_month_key(newer));
        window_from := greatest(from_key, forum_search_month_key(older));
        RETURN NEXT;
        IF window_from <= from_key THEN
            RETURN;
        END IF;
        newer := older;
    END LOOP;
    months := NULL;
    window_below := least(below, forum_search_month_key(newer));
    window_from := from_key;
    RETURN NEXT;
END $$;

-- The conditions every hit meets besides the GIN query, as one SQL fragment over `d`
-- ($2 checks: all must be in the text; $3 any_checks: one must, when given; $4 visible_only).
CREATE FUNCTION forum_search_conditions() RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'NOT EXISTS (SELECT 1 FROM unnest($2) AS t WHERE strpos(d.head || chr(31) || d.body, t) = 0)'
        || ' AND (cardinality($3) = 0 OR EXISTS (SELECT 1 FROM unnest($3) AS t'
        || '      WHERE strpos(d.head || chr(31) || d.body, t) > 0))'
        || ' AND (NOT $4 OR (d.post_id NOT IN (SELECT id FROM forum_post WHERE hidden)'
        || '      AND d.thread_id NOT IN (SELECT id FROM forum_thread WHERE hidden)))'
$$;

-- Hits of one pass, newest first: for each window the GIN index gives the candidates' keys
-- (EXECUTE: planned with the actual query, never a generic plan; "+ 0" keeps the planner off
-- the primary key, whose walk would read every tsvector of the window), then candidates are
-- checked one by one, newest first, until `wanted` are hits: a dense query checks a page's
-- worth, not the window's thousands.
CREATE FUNCTION forum_search_pass(
    q tsquery, checks text[], any_checks text[], head_terms text[], head_mode int, visible_only boolean,
    below bigint, from_key bigint, wanted int)
RETURNS TABLE (sort_key bigint, post_id bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    w record;
    keys bigint[];
    k bigint;
    hits int := 0;
    doc record;
BEGIN
    IF wanted <= 0 THEN
        RETURN;
    END IF;
    FOR w IN SELECT * FROM forum_search_windows(below, from_key) LOOP
        EXECUTE 'SELECT array_agg(d.sort_key ORDER BY d.sort_key DESC) FROM forum_searchdocument d'
             || ' WHERE d.tsv @@ $1 AND d.sort_key + 0 < $2 AND d.sort_key + 0 >= $3'
            INTO keys
            USING CASE WHEN w.months IS NULL THEN q ELSE q && w.months END, w.window_below, w.window_from;
        CONTINUE WHEN keys IS NULL;
        FOREACH k IN ARRAY keys LOOP
            -- As forum_search_conditions, written out: static SQL keeps its plan between rows.
            SELECT d.post_id,
                   (head_mode = 0 OR EXISTS (SELECT 1 FROM unnest(head_terms) AS t WHERE strpos(d.head, t) > 0)
                                     = (head_mode > 0))
                   AND NOT EXISTS (SELECT 1 FROM unnest(checks) AS t WHERE strpos(d.head || chr(31) || d.body, t) = 0)
                   AND (cardinality(any_checks) = 0 OR EXISTS (
                       SELECT 1 FROM unnest(any_checks) AS t WHERE strpos(d.head || chr(31) || d.body, t) > 0))
                   AND (NOT visible_only OR (
                       NOT EXISTS (SELECT 1 FROM forum_post p WHERE p.id = d.post_id AND p.hidden)
                       AND NOT EXISTS (SELECT 1 FROM forum_thread th WHERE th.id = d.thread_id AND th.hidden))) AS ok
              INTO doc FROM forum_searchdocument d WHERE d.sort_key = k;
            CONTINUE WHEN NOT doc.ok;
            sort_key := k;
            post_id := doc.post_id;
            RETURN NEXT;
            hits := hits + 1;
            IF hits >= wanted THEN
                RETURN;
            END IF;
        END LOOP;
    END LOOP;
END $$;

-- Relevance: bucket 1 (a term in the title or subtitle; `head_q` asks for their marked
-- tokens) before bucket 0 (the rest), newest first in each; `start_bucket` and `below` are
-- the cursor left by the page before. Newest first: `head_q` is NULL, one pass, bucket 0.
CREATE FUNCTION forum_search_hits(
    q tsquery, head_q tsquery, checks text[], any_checks text[], head_terms text[], visible_only boolean,
    start_bucket int, below bigint, from_key bigint, until_key bigint, wanted int)
RETURNS TABLE (bucket int, sort_key bigint, post_id bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    hits int := 0;
    r record;
BEGIN
    IF head_q IS NOT NULL AND start_bucket >= 1 THEN
        FOR r IN SELECT * FROM forum_search_pass(q && head_q, checks, any_checks, head_terms, 1, visible_only,
                                                 least(below, until_key), from_key, wanted) LOOP
            bucket := 1; sort_key := r.sort_key; post_id := r.post_id;
            RETURN NEXT;
            hits := hits + 1;
        END LOOP;
        below := NULL;
    END IF;
    FOR r IN SELECT * FROM forum_search_pass(q, checks, any_checks, head_terms, CASE WHEN head_q IS NULL THEN 0 ELSE -1 END,
                                             visible_only, least(below, until_key), from_key, wanted - hits) LOOP
        bucket := 0; sort_key := r.sort_key; post_id := r.post_id;
        RETURN NEXT;
    END LOOP;
END $$;

-- How many hits, up to `cap`: window by window, set-based (no order needed, so each window's
-- scan stops as soon as the cap is reached).
CREATE FUNCTION forum_search_count(
    q tsquery, checks text[], any_checks text[], visible_only boolean, from_key bigint, until_key bigint, cap int)
RETURNS int
LANGUAGE plpgsql STABLE AS $$
DECLARE
    w record;
    n int;
    total int := 0;
BEGIN
    FOR w IN SELECT * FROM forum_search_windows(until_key, from_key) LOOP
        EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM forum_searchdocument d'
             || ' WHERE d.tsv @@ $1 AND d.sort_key + 0 < $5 AND d.sort_key + 0 >= $6 AND '
             || forum_search_conditions() || ' LIMIT $7) AS hit'
            INTO n
            USING CASE WHEN w.months IS NULL THEN q ELSE q && w.months END, checks, any_checks, visible_only,
                  w.window_below, w.window_from, cap - total;
        total := total + n;
        EXIT WHEN total >= cap;
    END LOOP;
    RETURN total;
END $$;
"""
DROP_POSTGRES_FUNCTIONS = """
DROP FUNCTION forum_search_count(tsquery, text[], text[], boolean, bigint, bigint, int);
DROP FUNCTION forum_search_hits(tsquery, tsquery, text[], text[], text[], boolean, int, bigint, bigint, bigint, int);
DROP FUNCTION forum_search_pass(tsquery, text[], text[], text[], int, boolean, bigint, bigint, int);
DROP FUNCTION forum_search_conditions();
DROP FUNCTION forum_search_windows(bigint, bigint);
DROP FUNCTION forum_search_months(date, date);
DROP FUNCTION forum_search_month_key(date);
"""


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": [SQLITE_FTS], "postgresql": POSTGRES_INDEX + [POSTGRES_FUNCTIONS]}.get(vendor)
    if statements is None:
        raise RuntimeError(f"search has no index for the {vendor} database")
    for statement in statements + HIDDEN_INDEXES:
        schema_editor.execute(statement, params=None)


def drop_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = DROP_HIDDEN_INDEXES + (
        ["DROP TABLE forum_searchindex"] if vendor == "sqlite" else [DROP_POSTGRES_FUNCTIONS]
    )
    for statement in statements:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('forum', '0004_archive'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchDocument',
            fields=[
                ('sort_key', forum.models.SortKeyField(primary_key=True, serialize=False)),
                ('thread_id', models.BigIntegerField()),
                ('head', models.TextField(blank=True)),
                ('body', models.TextField(blank=True)),
                ('meta', models.TextField(blank=True)),
                ('version', models.PositiveSmallIntegerField()),
                ('post', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='forum.post')),
            ],
        ),
        migrations.RunPython(create_index, drop_index),
    ]
