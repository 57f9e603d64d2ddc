"""incidents.extract: what a post's blocks name, in which role, tagged with which brand."""
import pytest

from forum.archive.volume import parse_volume
from forum.blocks import parse_body
from incidents import extract as x
from incidents.extract import extract_post


@pytest.fixture(scope="module")
def seed_posts(seed_path):
    volume = parse_volume(seed_path.read_text(encoding="utf-8"), "seed")
    return {(thread.number, n): post for thread in volume.threads for n, post in enumerate(thread.posts, 1)}


def findings(body, catalogue):
    return extract_post(parse_body(body), catalogue)


def triples(found):
    return {(r.kind, r.value, r.role) for r in found.indicators}


def test_seed_no916_post1(seed_posts, catalogue, brand_ids):
    found = extract_post(parse_body(seed_posts[916, 1].body), catalogue)
    got = triples(found)
    assert ("email", "mktvchjwn@rakuten.co.jp", x.ROLE_FROM) in got
    assert ("email", "myinfo@rakuten.co.jp", x.ROLE_FROM) in got
    assert ("email", "rakuten@rakuten.co.jp", x.ROLE_FROM) in got
    # Quote 7's HTML: the namespace, the link and the hot-linked logo each in their role.
    assert ("url", "http://www.w3.org/TR/REC-html40", x.ROLE_NAMESPACE) in got
    assert ("url", "https://www.rakuten-card.co.jp/?scid=mi_rkc_oo_htmlml_logo10001", x.ROLE_HTML_LINK) in got
    assert ("url", "https://img.card.jp.rakuten-static.com/corp/pc/common/mail/rc-logo_Card_175x32@2x.png",
            x.ROLE_IMAGE) in got
    assert ("host", "img.card.jp.rakuten-static.com", x.ROLE_IMAGE) in got
    assert ("domain", "rakuten-static.com", x.ROLE_IMAGE) in got
    # Quote 6: an invalid number where the mail says to call, kept as its digits and as written.
    phone = next(r for r in found.indicators if r.kind == "phone" and r.role == x.ROLE_PHONE_CONTACT)
    assert (phone.value, phone.written, phone.defanged) == ("015058306860", "(01)-50-5830-6860", "(01)-50-5830-6860")
    # Quote 4: the customer's number under 注文者 is mentioned, never a contact.
    assert ("phone", "+818039232042", x.ROLE_PHONE_MENTIONED) in got
    # "Word.Document" and "MSHTML 11.00.10570.1001" are no hosts or phones.
    assert not any("word" in value.lower() or "10570" in value for _, value, _ in got)
    # No recipient ever: To holds the redaction placeholder, which is never an indicator.
    assert not any("xxxx" in value for _, value, _ in got)
    assert [q.brand_id for q in found.quotes] == [brand_ids["rakuten"]] * 8
    assert [q.number for q in found.quotes] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert found.quotes[0].sender_name == "【楽天市場】"
    assert {r.part for r in found.indicators} <= set(range(1, 9))


def test_seed_no916_posts_2_to_4(seed_posts, catalogue, brand_ids):
    second = triples(findings(seed_posts[916, 2].body, catalogue))
    assert {("email", "ud@kto.net", x.ROLE_FROM), ("url", "https://www.fuzhishop.com/", x.ROLE_BODY),
            ("host", "www.fuzhishop.com", x.ROLE_BODY), ("domain", "fuzhishop.com", x.ROLE_BODY)} <= second
    third = findings(seed_posts[916, 3].body, catalogue)
    got = triples(third)
    assert {("url", "https://grp01.id.rakuten.co.jp.baby/", x.ROLE_BODY),
            ("host", "grp01.id.rakuten.co.jp.baby", x.ROLE_BODY), ("domain", "jp.baby", x.ROLE_BODY),
            ("phone", "+819030341000", x.ROLE_PHONE_CONTACT), ("phone", "+819030341100", x.ROLE_PHONE_CONTACT),
            ("url", "https://www.rakuten-card.co.jp/", x.ROLE_BODY)} <= got
    phone = next(r for r in third.indicators if r.value == "+819030341000")
    assert (phone.written, phone.defanged, phone.host) == ("090-3034-1000", "090-3034-1000", "")
    url = next(r for r in third.indicators if r.kind == "url" and "baby" in r.value)
    assert (url.defanged, url.registrable_domain, url.host) == (
        "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/", "jp.baby", "grp01.id.rakuten.co.jp.baby")
    assert third.quotes[0].brand_id == brand_ids["rakuten"]


def test_news_and_the_members_own_text_are_commentary(seed_posts, catalogue):
    body = "詳しくは https://www.antiphishing.jp/news/ を。\n\n>記事 https://news.example.jp/a\n"
    found = findings(body, catalogue)
    assert {(r.value, r.role, r.part) for r in found.indicators if r.kind == "url"} == {
        ("https://www.antiphishing.jp/news/", x.ROLE_POST_TEXT, 0), ("https://news.example.jp/a", x.ROLE_POST_TEXT, 0)}
    assert found.quotes == []
    assert extract_post(parse_body(seed_posts[917, 1].body), catalogue).indicators == []


def quote(headers, body):
    lines = ["********** 以下引用 **********", ""] + [f"{n}: {v}" for n, v in headers] + ["", body]
    return "\n".join(lines)


def test_recipients_are_never_indicators_wherever_they_appear(catalogue):
    body = quote([("From", "Amazon <scam@evil-shop.com>"), ("To", "Taro <taro@victim-mail.jp>"),
                  ("Cc", "hanako@victim-mail.jp"), ("Reply-To", "taro@victim-mail.jp")],
                 "taro@victim-mail.jp 様\nお問い合わせ: help@evil-shop.com\n"
                 "このメールは次のアドレス宛に送信されました: jiro@victim-mail.jp\n"
                 "https://evil-shop.com/login?user=taro@victim-mail.jp\n")
    values = {r.value for r in findings(body, catalogue).indicators}
    # A link that carries the recipient keeps its evidence with the placeholder in the address's place.
    assert {"scam@evil-shop.com", "help@evil-shop.com", "https://evil-shop.com/login?user=xxxx@xxxx.name"} <= values
    assert not any("taro" in v or "hanako" in v or "jiro" in v for v in values)


def test_a_pasted_header_block_gives_senders_and_no_relays(catalogue):
    pasted = ("Return-Path: <bounce@mailer.evil-shop.com>\n"
              "Received: from mx.victim-provider.ne.jp ([198.51.100.7])\n"
              "\tby mx.victim-provider.ne.jp; Tue, 1 Sep 2020 10:00:00 +0900\n"
              "Sender: agent@sender.evil-shop.com\n"
              "From: 楽天 <info@rakuten.co.jp>\n"
              "Delivered-To: taro@victim-mail.jp\n"
              "List-Unsubscribe: <https://unsub.evil-shop.com/u>\n"
              "\n"
              "HP: https://evil-shop.com/\n")
    found = findings("********** 以下引用 **********\n\n" + pasted, catalogue)
    got = triples(found)
    assert {("email", "bounce@mailer.evil-shop.com", x.ROLE_RETURN_PATH),
            ("email", "agent@sender.evil-shop.com", x.ROLE_SENDER), ("email", "info@rakuten.co.jp", x.ROLE_FROM),
            ("url", "https://unsub.evil-shop.com/u", x.ROLE_BODY), ("url", "https://evil-shop.com/", x.ROLE_BODY)} <= got
    values = {value for _, value, _ in got}
    assert not any("victim" in value or "198.51.100.7" in value for value in values)


def test_lines_that_only_look_like_headers_stay_text(catalogue):
    got = triples(findings(quote([("From", "a@evil-shop.com")], "HP: https://shop.evil-shop.com/\nURL: x"), catalogue))
    assert ("url", "https://shop.evil-shop.com/", x.ROLE_BODY) in got


def test_ip_literals_and_idn_hosts(catalogue):
    got = findings(quote([("From", "x@evil-shop.com")], "http://192.0.2.7/login\nhttps://rаkuten.com/ (а is Cyrillic)"),
                   catalogue)
    kinds = {(r.kind, r.value) for r in got.indicators}
    assert ("ip", "192.0.2.7") in kinds and ("url", "http://192.0.2.7/login") in kinds
    idn = next(r for r in got.indicators if r.kind == "domain" and r.value.startswith("xn--"))
    assert idn.defanged == "rаkuten[.]com" and idn.punycode == idn.value.replace(".", "[.]")


def test_the_subject_names_the_brand_when_the_sender_does_not(catalogue, brand_ids):
    found = findings(quote([("From", "support <a@evil-shop.com>"), ("Subject", "【ヤマト運輸】お荷物のお届けについて")],
                           "Amazon と 楽天"), catalogue)
    assert found.quotes[0].brand_id == brand_ids["yamato"]
    found = findings(quote([("From", "a@evil-shop.com")], "https://mercari.kcramy.com/"), catalogue)
    assert found.quotes[0].brand_id == brand_ids["mercari"]  # only a look-alike link names it
    found = findings(quote([("From", "a@evil-shop.com")], "こんにちは"), catalogue)
    assert found.quotes[0].brand_id is None


def test_overlong_urls_are_left_out(catalogue):
    long_url = "https://evil-shop.com/" + "a" * 5000
    values = {r.value for r in findings(quote([("From", "a@evil-shop.com")], long_url), catalogue).indicators}
    assert long_url not in values and "evil-shop.com" in values


def test_keys_are_stable_and_kind_specific():
    assert x.indicator_key("host", "a.example") == x.indicator_key("host", "a.example")
    assert x.indicator_key("host", "a.example") != x.indicator_key("domain", "a.example")
    assert len(x.indicator_key("url", "https://" + "a" * 10000)) == 64
