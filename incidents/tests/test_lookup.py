"""incidents.lookup: what a pasted text is read as; Indicator.objects.matching on the seed."""
import pytest

from incidents.extract import indicator_key
from incidents.lookup import parse_query


@pytest.mark.parametrize("text", [
    "https://grp01.id.rakuten.co.jp.baby/",
    "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/",
    "hxxps[:]//grp01[.]id[.]rakuten[.]co[.]jp[.]baby/",
    "ｈｔｔｐｓ：／／ｇｒｐ０１．ｉｄ．ｒａｋｕｔｅｎ．ｃｏ．ｊｐ．ｂａｂｙ／",
    "  <https://grp01.id.rakuten.co.jp.baby>  ",
    "https://GRP01.id.rakuten.co.jp.baby",
    "https://grp01\u200b.id.rakuten.co.jp.baby/",
])
def test_urls_fanged_defanged_full_width(text):
    query = parse_query(text)
    assert query.kind == "url"
    assert indicator_key("url", "https://grp01.id.rakuten.co.jp.baby/") in query.keys
    assert (query.host, query.registrable_domain) == ("grp01.id.rakuten.co.jp.baby", "jp.baby")
    assert query.shown.rstrip("/") == "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby"


@pytest.mark.parametrize("text", [
    "grp01.id.rakuten.co.jp.baby", "grp01[.]id[.]rakuten[.]co[.]jp[.]baby", "grp01。id。rakuten。co。jp。baby",
    "ＧＲＰ０１．ｉｄ．ｒａｋｕｔｅｎ．ｃｏ．ｊｐ．ｂａｂｙ", "grp01(.)id(.)rakuten(.)co(.)jp(.)baby/login.php",
    "grp01.id.rakuten.co.jp.baby:443", "grp01.id.rakuten.co.jp.baby/",
])
def test_hosts(text):
    query = parse_query(text)
    assert query.kind == "host"
    assert indicator_key("host", "grp01.id.rakuten.co.jp.baby") in query.keys
    assert query.host == "grp01.id.rakuten.co.jp.baby"


def test_a_registrable_domain_reads_as_a_domain():
    query = parse_query("fuzhishop[.]com")
    assert (query.kind, query.host, query.registrable_domain) == ("domain", "fuzhishop.com", "fuzhishop.com")
    assert indicator_key("domain", "fuzhishop.com") in query.keys


@pytest.mark.parametrize("text", [
    "myinfo@rakuten.co.jp", "myinfo[@]rakuten[.]co[.]jp", "myinfo[at]rakuten.co.jp", "ＭＹＩＮＦＯ＠ｒａｋｕｔｅｎ．ｃｏ．ｊｐ",
    "mailto:myinfo@rakuten.co.jp", "【楽天市場】 <myinfo@rakuten.co.jp>",
])
def test_addresses(text):
    query = parse_query(text)
    assert query.kind == "email", text
    assert query.keys == (indicator_key("email", "myinfo@rakuten.co.jp"),)
    assert (query.host, query.registrable_domain, query.shown) == (
        "rakuten.co.jp", "rakuten.co.jp", "myinfo[@]rakuten[.]co[.]jp")


@pytest.mark.parametrize("text", ["090-3034-1000", "09030341000", "０９０－３０３４－１０００", "+81 90 3034 1000",
                                  "tel:+819030341000", "(090) 3034-1000"])
def test_phone_numbers(text):
    query = parse_query(text)
    assert query.kind == "phone"
    assert indicator_key("phone", "+819030341000") in query.keys
    assert query.shown == "090-3034-1000"


def test_an_invalid_number_is_looked_up_by_its_digits():
    query = parse_query("(01)-50-5830-6860")
    assert query.kind == "phone" and indicator_key("phone", "015058306860") in query.keys
    assert indicator_key("phone", "015058306860") in parse_query("01-5058-306860").keys


def test_ip_literals():
    query = parse_query("192[.]0[.]2[.]7")
    assert (query.kind, query.host, query.keys) == ("ip", "192.0.2.7", (indicator_key("ip", "192.0.2.7"),))


@pytest.mark.parametrize("text", ["", "   ", "こんにちは", "楽天", "a@b", "localhost", "\x00", "x" * 5000, "hxxp://",
                                  "[" * 3000 + "." + "]" * 3000, "http://[::1", None])
def test_what_reads_as_nothing(text):
    query = parse_query(text)
    assert query.kind is None and not query.understood and query.keys == ()


# --- on the seed -------------------------------------------------------------------------------

def match(text):
    from incidents.models import Indicator

    found = Indicator.objects.matching(parse_query(text))
    return {name: [(row.kind, row.value) for row in rows] for name, rows in found.items()}, found


@pytest.mark.django_db
def test_the_seed_answers_what_the_issue_asks(seed):
    result, found = match("hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/")
    assert result["exact"] == [("url", "https://grp01.id.rakuten.co.jp.baby/")]
    assert ("host", "grp01.id.rakuten.co.jp.baby") in result["same_host"]
    assert ("domain", "jp.baby") in result["same_domain"]
    host = next(row for row in found["same_host"] if row.kind == "host")
    assert (host.assessment, host.brand.name) == ("lookalike", "楽天")
    assert host.thread_ids and len(host.thread_ids) == 1

    result, _ = match("fuzhishop.com")
    assert result["exact"] == [("domain", "fuzhishop.com")]
    assert set(result["same_domain"]) == {("host", "www.fuzhishop.com"), ("url", "https://www.fuzhishop.com/")}

    for sender in ("mktvchjwn@rakuten.co.jp", "myinfo[@]rakuten.co.jp", "ud＠kto.net"):
        result, found = match(sender)
        assert len(result["exact"]) == 1 and result["exact"][0][0] == "email", sender
        assert found["exact"][0].claimed_sender_only

    result, found = match("090-3034-1000")
    assert result["exact"] == [("phone", "+819030341000")]
    assert found["exact"][0].exported

    result, found = match("rakuten-card.co.jp")
    assert result["exact"] == [("domain", "rakuten-card.co.jp")]
    every = found["exact"] + found["same_host"] + found["same_domain"]
    assert {row.assessment for row in every} == {"legitimate"}
    assert not any(row.exported for row in every)


@pytest.mark.django_db
def test_same_registrable_domain_excludes_what_the_host_already_lists(seed):
    result, _ = match("www.rakuten-card.co.jp")
    assert result["exact"] == [("host", "www.rakuten-card.co.jp")]
    assert {kind for kind, _ in result["same_host"]} == {"url"}
    assert result["same_domain"] == [("domain", "rakuten-card.co.jp")]


# --- the lookup's queries use their indexes ------------------------------------------------------

def _plan(sql_and_params):
    from django.db import connection

    sql, params = sql_and_params
    with connection.cursor() as cursor:
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        cursor.execute(prefix + sql, params)
        return " ".join(str(row) for row in cursor.fetchall())


def _lookup_sql(query_text):
    from incidents.models import LOOKUP_LIMIT, Indicator

    query = parse_query(query_text)
    base = Indicator.objects.seen().for_list()
    return {
        "exact": base.filter(key__in=query.keys).order_by("-last_seen", "-id")[:LOOKUP_LIMIT],
        "same_host": base.filter(host=query.host).order_by("-last_seen", "-id")[:LOOKUP_LIMIT],
        "same_domain": base.filter(registrable_domain=query.registrable_domain)
        .exclude(host=query.host).order_by("-last_seen", "-id")[:LOOKUP_LIMIT],
    }


@pytest.mark.sqlite
@pytest.mark.django_db
def test_sqlite_lookup_plans_search_by_index(seed):
    plans = {name: _plan(qs.query.sql_with_params()) for name, qs in _lookup_sql("https://a.example.com/").items()}
    assert "SEARCH incidents_indicator USING INDEX sqlite_autoindex_incidents_indicator_1 (key=?)" in plans["exact"]
    assert "SEARCH incidents_indicator USING INDEX indicator_host_recent (host=?)" in plans["same_host"]
    assert ("SEARCH incidents_indicator USING INDEX indicator_domain_recent (registrable_domain=?)"
            in plans["same_domain"])
    assert "SCAN incidents_indicator" not in " ".join(plans.values()).replace("SCAN incidents_brand", "")


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_lookup_plans_can_use_the_indexes(seed):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table would be scanned anyway
        plans = {name: _plan(qs.query.sql_with_params())
                 for name, qs in _lookup_sql("https://a.example.com/").items()}
    assert "incidents_indicator_key" in plans["exact"]
    assert "indicator_host_recent" in plans["same_host"]
    assert "indicator_domain_recent" in plans["same_domain"]
