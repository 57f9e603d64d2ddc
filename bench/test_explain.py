"""bench/explain.py: the hot pages' query plans (docs/query-plans.md)."""

import pytest

from bench import explain

PLAN = [
    "Sort  (cost=226.29..226.34 rows=20 width=1572) (actual time=1.116..1.119 rows=20 loops=1)",
    "  ->  Hash Join  (cost=122.33..224.98 rows=20 width=1496) (actual time=0.870..1.019 rows=20 loops=1)",
    "        ->  Index Scan using forum_post_thread_id on forum_post  (cost=0.29..880.03 rows=955 width=521)",
    "              Filter: ((NOT held) AND (\"position\" >= 1) AND (\"position\" <= 50))",
    "              Rows Removed by Filter: 950",
    "        ->  Seq Scan on forum_thread  (cost=0.00..97.02 rows=2002 width=148)",
    "        ->  Parallel Seq Scan on forum_board  (cost=0.00..1.02 rows=2 width=76)",
    "Planning Time: 0.322 ms",
    "Execution Time: 1.177 ms",
]


def test_a_seq_scan_is_flagged_on_a_big_table_only():
    rows = {"forum_thread": 20_000, "forum_board": 2, "forum_post": 1_000_000}
    assert explain.big_seq_scans(PLAN, rows, 10_000) == ["forum_thread"]
    assert explain.big_seq_scans(PLAN, rows, 30_000) == []
    assert explain.removed(PLAN) == 950
    assert explain.marks(["forum_thread"], 950, 500) == (
        " **SEQ SCAN** on forum_thread. **FILTERED**: a scan read and dropped 950 rows.")
    assert explain.marks([], 950, 1000) == ""


def test_times_costs_and_nodes_are_read_from_the_plan():
    assert explain.timing(PLAN, "Execution Time") == 1.177
    assert explain.timing(PLAN, "Planning Time") == 0.322
    assert explain.top_cost(PLAN) == "226.29..226.34"
    assert explain.plan_nodes(PLAN) == PLAN[:-2]
    assert explain.reads_table(PLAN, {"forum_thread": 1}) is True
    assert explain.reads_table(["Function Scan on forum_search_pass  (cost=0.25..10.25)"], {"forum_thread": 1}) is False


def test_the_outer_column_list_is_elided_not_a_subquery():
    sql = ('SELECT "t"."id", (SELECT max("p"."id") FROM "forum_post" "p" WHERE "p"."thread_id" = "t"."id") AS "last"\n'
           '  FROM "forum_thread" "t" WHERE "t"."number" = %s')
    assert explain.shorten(sql) == 'SELECT … FROM "forum_thread" "t" WHERE "t"."number" = %s'
    assert explain.shorten("SAVEPOINT s1") == "SAVEPOINT s1"
    assert explain.shorten("SELECT 1 FROM x WHERE " + "a" * 300, width=40).endswith("…")
    assert len(explain.shorten("SELECT 1 FROM x WHERE " + "a" * 300, width=40)) == 40


def test_an_auto_explain_notice_gives_the_query_and_its_plan():
    notice = ("duration: 0.095 ms  plan:\nQuery Text: SELECT array_agg(d.sort_key) FROM forum_searchdocument d\n"
              "    WHERE d.tsv @@ $1\nAggregate  (cost=228.00..228.01 rows=1 width=32)\n"
              "  ->  Bitmap Heap Scan on forum_searchdocument d  (cost=44.43..227.99 rows=1 width=8)\n")
    found = explain.AUTO_EXPLAIN_NOTICE.match(notice)
    assert found[1] == "0.095"
    assert found[2] == "SELECT array_agg(d.sort_key) FROM forum_searchdocument d\n    WHERE d.tsv @@ $1"
    assert found[3].splitlines()[0].startswith("Aggregate")


@pytest.mark.postgres
def test_a_search_is_captured_with_its_parameters_and_its_functions_are_explained_inside(client, db):
    status, statements = explain.capture(client, "/search/?q=口座")
    assert status == 200
    calls = [s for s in statements if "forum_search_hits(" in s.sql]
    assert len(calls) == 1 and calls[0].params  # the SQL as sent: placeholders, parameters apart
    assert "%s" in calls[0].sql
    rows = explain.table_rows()
    for statement in statements:
        if statement.select:
            explain.explain(statement, rows, 10_000, explain.user_functions())
            assert explain.timing(statement.plan, "Execution Time") is not None
    assert calls[0].plan[0].startswith("Function Scan on forum_search_hits")
    # auto_explain's notices: the function's own statements, the index it reads by
    assert any("forum_searchdocument" in n.text and explain.reads_table(n.plan, rows) for n in calls[0].nested)
    assert not calls[0].nested_note
