"""Tests for incidents.redact: a published quote must never show whom the mail was sent to."""
import base64
import json
import re
from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from incidents.redact import (
    CARD_NUMBER,
    FLAG_PERSONAL_NAME,
    FLAG_PERSONAL_PHONE,
    FLAG_POSTAL_ADDRESS,
    RECIPIENT_ADDRESS,
    RECIPIENT_NAME,
    REDACTED_ADDRESS,
    REDACTED_NAME,
    Mark,
    apply_redactions,
    find_flags,
    is_card_number,
    is_identifying_name,
    learn_from_quote_headers,
    learn_recipients,
    redact_mail,
    redact_text,
)


# --- stand-ins for incidents.mail's structures ------------------------------------------------

@dataclass(frozen=True)
class StandInRecipient:
    address: str
    display_name: str = ""
    source: str = "To"


@dataclass(frozen=True)
class StandInAttachment:
    filename: str
    content_type: str = "application/pdf"
    size: int = 0


@dataclass(frozen=True)
class StandInMail:
    headers: tuple = ()
    recipients: tuple = ()
    text: str = ""
    html: str = ""
    html_text: str = ""
    attachments: tuple = ()
    attached_messages: tuple = ()
    origin_ip: str | None = None
    problems: tuple = ()


def kinds(result):
    return [mark.kind for mark in result.marks]


def flagged(result):
    return {(mark.kind, result.text[mark.start:mark.end]) for mark in result.marks if mark.is_flag}


# --- rule 1: addresses ----------------------------------------------------------------------

ADDRESS = "chiyuki.t@example.jp"


@pytest.mark.parametrize("written", [
    "chiyuki.t@example.jp",
    "Chiyuki.T@EXAMPLE.JP",
    "chiyuki.t%40example.jp",        # query string
    "CHIYUKI.T%40EXAMPLE.JP",
    "chiyuki.t%2540example.jp",      # percent-encoded twice
    "chiyuki.t&#64;example.jp",      # HTML character reference
    "chiyuki.t&#x40;example.jp",
    "ｃｈｉｙｕｋｉ．ｔ＠ｅｘａｍｐｌｅ．ｊｐ",  # full width
])
def test_address_is_replaced_however_it_is_written(written):
    result = redact_text(f"mailto:{written}?subject=x", addresses=[ADDRESS])
    assert result.text == f"mailto:{REDACTED_ADDRESS}?subject=x"
    assert kinds(result) == [RECIPIENT_ADDRESS]


def test_address_in_url_query_strings():
    html = ('<a href="https://evil.example/login?e=chiyuki.t%40example.jp'
            '&amp;u=Chiyuki.T@Example.jp">'
            "https://evil.example/?id=chiyuki.t%40example.jp</a>")
    result = redact_text(html, addresses=[ADDRESS], field="html")
    assert "chiyuki" not in result.text.lower()
    assert result.text.count(REDACTED_ADDRESS) == 3
    assert {mark.field for mark in result.marks} == {"html"}


def test_percent_encoded_plus_in_local_part():
    result = redact_text("?to=taro%2Bshop%40example.jp", addresses=["taro+shop@example.jp"])
    assert result.text == f"?to={REDACTED_ADDRESS}"


def test_address_glued_into_a_tracking_token_is_still_removed():
    # world/sample-4279 carries the recipient inside URL tokens.
    text = "https://t.example/4KwtUM3phishing@potq10"
    redacted = redact_text(text, addresses=["phishing@pot"]).text
    assert redacted == f"https://t.example/4KwtUM3{REDACTED_ADDRESS}q10"


def base64_spellings(address):
    """The stretches of base64 that spell ``address`` at each of the three byte alignments, in
    both alphabets (characters partly made of neighbouring bytes left out)."""
    data = address.encode()
    spellings = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        first_whole = (8 * offset + 5) // 6
        last_whole = (8 * (offset + len(data))) // 6
        core = encoded[first_whole:last_whole]
        spellings |= {core, core.replace("+", "-").replace("/", "_")}
    return spellings


@pytest.mark.parametrize("prefix", [b"", b"u=", b'{"r":"'])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_encoded_address_in_a_tracking_link_is_cut_out(prefix, encode):
    # world/sample-6518 carries its recipient like this.
    token = encode(prefix + b"joe.wakersen@yahoo.com&r=6g").decode()
    result = redact_text(f"https://t.example/{token}/x", addresses=["joe.wakersen@yahoo.com"])
    spellings = base64_spellings("joe.wakersen@yahoo.com")
    assert not any(spelling in result.text for spelling in spellings)
    assert kinds(result) == [RECIPIENT_ADDRESS]
    assert result.marks[0].replacement == REDACTED_NAME


def test_the_placeholder_is_not_redacted_again():
    text = f"To: xxxx <{REDACTED_ADDRESS}>"
    result = redact_text(text, addresses=[REDACTED_ADDRESS], names=[REDACTED_NAME])
    assert result.text == text and result.marks == ()


def test_a_placeholder_next_to_untouched_text_does_not_spell_the_address_again():
    result = redact_text("me@x.io@x.io", addresses=["me@x.io"])
    assert "me@x.io" not in result.text
    assert result.text == REDACTED_ADDRESS
    assert result.marks == (
        Mark("text", 0, len(REDACTED_ADDRESS), RECIPIENT_ADDRESS, REDACTED_ADDRESS),)


# --- rule 2: names ------------------------------------------------------------------------

def test_display_name_in_quotes_is_learned_whole_and_by_word():
    addresses, names = learn_from_quote_headers([("To", '"Yamada Taro" <taro.yamada@example.jp>')])
    assert addresses == {"taro.yamada@example.jp"}
    assert names == {"Yamada Taro", "Yamada", "Taro", "taro.yamada"}
    result = redact_text("Dear Yamada Taro, Taro-san, YAMADA様", names=names)
    assert result.text == "Dear xxxx, xxxx-san, xxxx様"
    assert kinds(result) == [RECIPIENT_NAME] * 3


def test_quote_header_teaches_the_name_next_to_an_already_redacted_address():
    assert learn_from_quote_headers([("To", f"chiyuki <{REDACTED_ADDRESS}>"), ("Cc", "")]) == (
        set(), {"chiyuki"})


def test_to_header_line_is_redacted_to_the_archive_form():
    result = redact_text(f"To: chiyuki <{REDACTED_ADDRESS}>", names={"chiyuki"})
    assert result.text == f"To: xxxx <{REDACTED_ADDRESS}>"


@pytest.mark.parametrize(("text", "expected"), [
    ("chiyuki様", "xxxx様"),
    ("Dear chiyuki,", "Dear xxxx,"),
    ("Chiyuki: hello", "xxxx: hello"),
    ("ｃｈｉｙｕｋｉ様", "xxxx様"),
    ("user=chiyuki&x=1", "user=xxxx&x=1"),
    ("chiyukis", "chiyukis"),        # another word
    ("mychiyuki", "mychiyuki"),
    ("chiyuki2", "chiyuki2"),
])
def test_ascii_names_respect_ascii_word_boundaries(text, expected):
    assert redact_text(text, names=["chiyuki"]).text == expected


def test_a_short_ascii_name_does_not_hit_longer_words():
    result = redact_text("Dear Ann, your annual fee. ANN.", names=["ann"])
    assert result.text == "Dear xxxx, your annual fee. xxxx."


@pytest.mark.parametrize(("text", "expected"), [
    ("山田太郎様", "xxxx様"),
    ("山田 太郎 様", "xxxx 様"),
    ("山田様へ", "xxxx様へ"),
    ("お客様各位(太郎)", "お客様各位(xxxx)"),
])
def test_japanese_names_match_as_substrings(text, expected):
    assert redact_text(text, names=["山田 太郎", "山田", "太郎"]).text == expected


def test_encoded_display_name_arrives_decoded_and_is_redacted_everywhere():
    # The parser decodes =?UTF-8?B?5bGx55SwIOWkqumDjg==?= to 山田 太郎 in both places.
    mail = StandInMail(
        headers=(("To", "山田 太郎 <taro@example.jp>"), ("Subject", "山田太郎様 アカウント停止")),
        recipients=(StandInRecipient("taro@example.jp", "山田 太郎"),),
        text="山田 太郎 様\nご利用ありがとうございます")
    redacted = redact_mail(mail)
    assert redacted.headers == (("To", f"xxxx <{REDACTED_ADDRESS}>"), ("Subject", "xxxx様 アカウント停止"))
    assert redacted.text.startswith("xxxx 様\n")


@pytest.mark.parametrize("name", [
    "info", "Support", "ADMIN", "user", "mail", "customer", "xxxx", "no-reply", "Valued Customer",
    "Undisclosed recipients", "al", "Bo", "林", "お客様", "会員様", "12345", "", "  ", "a@b.jp",
])
def test_generic_or_short_names_are_not_identifying(name):
    assert not is_identifying_name(name)


@pytest.mark.parametrize("name", [
    "chiyuki", "ann", "Yamada Taro", "山田", "ちゆき", "osst-users", "09012345678", "Karenzw",
])
def test_personal_names_are_identifying(name):
    assert is_identifying_name(name)


def test_generic_names_are_never_redacted():
    text = "Dear customer, contact support or info. お客様各位"
    assert redact_text(text, names=["customer", "support", "info", "お客様", "al"]).text == text


def test_generic_local_parts_are_not_learned_but_their_addresses_are():
    mail = StandInMail(recipients=(
        StandInRecipient("info@example.jp", "お客様"),
        StandInRecipient("support@example.jp", "Undisclosed recipients")))
    assert learn_recipients(mail) == ({"info@example.jp", "support@example.jp"}, set())


def test_received_for_clause_and_envelope_headers_are_recipients():
    addresses, names = learn_from_quote_headers([
        ("Received", "from mx.example by mx2.example for <Hanako.Sato@corp.example>; Tue"),
        ("Delivered-To", "lists+osst-users@lfdr.de"),
        ("From", "Shop <shop@rakuten.example>"),
    ])
    assert addresses == {"hanako.sato@corp.example", "lists+osst-users@lfdr.de"}
    assert names == {"hanako.sato", "lists+osst-users"}


def test_malformed_to_headers_still_yield_their_addresses():
    addresses, names = learn_from_quote_headers([
        ("To", '"phishing@pot" <phishing@pot@hotmail.com>, Undisclosed recipients:;'),
        ("To", "Taro (taro@example.jp); hanako@example.jp"),
    ])
    assert addresses == {"phishing@pot", "phishing@pot@hotmail.com", "taro@example.jp",
                         "hanako@example.jp"}
    assert names == {"phishing", "Taro", "taro", "hanako"}


# --- rule 3: known names and addresses --------------------------------------------------------

def test_known_names_and_addresses_are_redacted_and_learned_ones_returned():
    mail = StandInMail(headers=(("To", "Hanako <hanako@example.jp>"),),
                       recipients=(StandInRecipient("hanako@example.jp", "Hanako"),),
                       text="Hanako様, chiyuki様 (member@daiou.example)")
    redacted = redact_mail(mail, known_addresses=["member@daiou.example"], known_names=["chiyuki"])
    assert redacted.text == f"xxxx様, xxxx様 ({REDACTED_ADDRESS})"
    assert redacted.learned_addresses == {"hanako@example.jp"}
    assert redacted.learned_names == {"Hanako", "hanako"}


def test_the_local_part_of_a_known_address_is_a_name():
    result = redact_text("Dear taro.yamada,", addresses=["taro.yamada@example.jp"])
    assert result.text == "Dear xxxx,"


# --- rule 4: card numbers -------------------------------------------------------------------

@pytest.mark.parametrize(("number", "masked"), [
    ("4111 1111 1111 1111", "**** **** **** 1111"),
    ("4111-1111-1111-1111", "****-****-****-1111"),
    ("4111111111111111", "************1111"),
    ("４１１１－１１１１－１１１１－１１１１", "＊＊＊＊－＊＊＊＊－＊＊＊＊－１１１１"),
    ("４１１１ １１１１ １１１１ １１１１", "＊＊＊＊ ＊＊＊＊ ＊＊＊＊ １１１１"),
    ("3782 822463 10005", "**** ****** *0005"),          # Amex, 15 digits
    ("378282246310005", "***********0005"),
    ("5555 5555 5555 4444", "**** **** **** 4444"),      # Mastercard
    ("2221 0000 0000 0009", "**** **** **** 0009"),      # Mastercard 2-series
    ("3530 1113 3330 0000", "**** **** **** 0000"),      # JCB
    ("3056 930902 5904", "**** ****** 5904"),            # Diners, 14 digits
    ("6011 1111 1111 1117", "**** **** **** 1117"),      # Discover
    ("6200 0000 0000 0005", "**** **** **** 0005"),      # UnionPay
    ("4222222222222", "*********2222"),                  # Visa, 13 digits
])
def test_card_numbers_keep_only_their_last_four_digits(number, masked):
    result = redact_text(f"カード番号: {number} 有効期限 12/25")
    assert result.text == f"カード番号: {masked} 有効期限 12/25"
    assert kinds(result) == [CARD_NUMBER]


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1112",              # fails Luhn
    "1234 5678 1234 5670",              # passes Luhn, no issuer prefix
    "注文番号 263126-20200829-00588807",  # order numbers from the seed
    "[注文番号] 249034-20200919-078",
    "[注文番号] 572268-20201008-273",
    "4111-1111-1111-1111-2222",         # a hyphenated identifier longer than a card
    "id=ABC4111111111111111",           # glued to letters: a token, not a typed number
    "4111111111111111abc",
    "91,600円 x 1個 = 91,600円",
])
def test_numbers_that_are_not_cards_are_left_alone(text):
    assert redact_text(text).text == text


def test_a_card_followed_by_other_numbers_is_found_on_its_own():
    assert redact_text("1 4111 1111 1111 1111 12 25").text == "1 **** **** **** 1111 12 25"


def test_is_card_number_needs_prefix_length_and_luhn():
    assert is_card_number("4111111111111111")
    assert not is_card_number("4111111111111112")
    assert not is_card_number("5555555555554444"[:15])  # Mastercard is always 16 digits
    assert not is_card_number("4abcdefghijklmno")


# --- rule 5: flags ------------------------------------------------------------------------

ORDER_BLOCK = """ご注文内容
注文者 山本 直男 (シャンベン ジーナン) 様
〒810-0011 福岡県福岡市中央区高砂2-8-20
080-3923-2042
"""


def test_order_block_name_postal_address_and_phone_are_flagged_not_redacted():
    result = redact_text(ORDER_BLOCK)
    assert result.text == ORDER_BLOCK
    assert flagged(result) == {
        (FLAG_PERSONAL_NAME, "山本 直男 (シャンベン ジーナン)"),
        (FLAG_POSTAL_ADDRESS, "〒810-0011 福岡県福岡市中央区高砂2-8-20"),
        (FLAG_PERSONAL_PHONE, "080-3923-2042"),
    }


def test_flags_carry_their_one_click_replacement():
    by_kind = {mark.kind: mark.replacement for mark in find_flags(ORDER_BLOCK)}
    assert by_kind == {FLAG_PERSONAL_NAME: REDACTED_NAME, FLAG_POSTAL_ADDRESS: "〒xxx-xxxx xxxx",
                       FLAG_PERSONAL_PHONE: "xxx-xxxx-xxxx"}


def test_postcode_alone_on_its_line_takes_the_next_line_as_address():
    text = "お届け先\n〒100-0001\n東京都千代田区千代田1-1\n"
    assert [text[m.start:m.end] for m in find_flags(text)] == ["〒100-0001\n東京都千代田区千代田1-1"]


@pytest.mark.parametrize("text", [
    "電話番号 : 090-3034-1000 (受付時間:日本時間9:00 - 21:00)",
    "<ご連絡先>\n楽天カード株式会社\n信用管理グループ\n電話番号 : 090-3034-1000",
    "※海外からの連絡の場合 :\n81(国コード)-090-3034-1100",
    "至急 03-1234-5678 までお電話ください。",
    "TEL: 06-6123-4567",
    "お問い合わせ先\n0570-000-000",
    "0120-123-456",                     # toll free: a business's number
])
def test_contact_numbers_are_not_flagged(text):
    assert not [mark for mark in find_flags(text) if mark.kind == FLAG_PERSONAL_PHONE]


@pytest.mark.parametrize("text", [
    "080-3923-2042",
    "お名前：佐藤 花子\n住所：東京都\n電話番号：090-1234-5678",  # the party label wins over 電話番号
    "０９０－１２３４－５６７８",
    "+81 90-1234-5678",
])
def test_personal_numbers_are_flagged(text):
    assert [mark.kind for mark in find_flags(text)].count(FLAG_PERSONAL_PHONE) == 1


@pytest.mark.parametrize("text", [
    "注文日時 2020-08-29 8:24:01", "注文番号 263126-20200829-00588807", "4111 1111 1111 1111",
    "お名前、住所、電話番号を確認してください。",
])
def test_dates_order_numbers_and_prose_are_not_flagged(text):
    assert find_flags(text) == []


def test_apply_redactions_applies_the_flags_one_click_action():
    result = redact_text(ORDER_BLOCK)
    flags = [mark for mark in result.marks if mark.is_flag]
    assert apply_redactions(result.text, flags) == (
        "ご注文内容\n注文者 xxxx 様\n〒xxx-xxxx xxxx\nxxx-xxxx-xxxx\n")


def test_apply_redactions_merges_overlaps_and_clamps():
    spans = [Mark("text", 2, 6, "x", "[a]"), Mark("text", 4, 8, "x", "[b]"),
             Mark("text", 20, 99, "x", "[c]"), Mark("text", 5, 5, "x", "[empty]")]
    assert apply_redactions("0123456789abcdef", spans) == "01[a]89abcdef"
    assert apply_redactions("0123456789", []) == "0123456789"


# --- rule 6: marks --------------------------------------------------------------------------

def test_marks_point_into_the_redacted_text():
    result = redact_text("To: Taro <taro@example.jp> 4111 1111 1111 1111\n注文者 花子 様",
                         addresses=["taro@example.jp"], names=["Taro"], field="headers[3]")
    assert result.text == "To: xxxx <xxxx@xxxx.name> **** **** **** 1111\n注文者 花子 様"
    assert [(m.kind, result.text[m.start:m.end]) for m in result.marks] == [
        (RECIPIENT_NAME, "xxxx"), (RECIPIENT_ADDRESS, REDACTED_ADDRESS),
        (CARD_NUMBER, "**** **** **** 1111"), (FLAG_PERSONAL_NAME, "花子")]
    assert {m.field for m in result.marks} == {"headers[3]"}


# --- whole mails ----------------------------------------------------------------------------

def test_redact_mail_redacts_every_field_recursively_and_drops_recipients():
    forwarded = StandInMail(
        headers=(("To", "Hanako <hanako@example.jp>"),),
        recipients=(StandInRecipient("hanako@example.jp", "Hanako"),),
        text="Hello Hanako")
    mail = StandInMail(
        headers=(("From", "Shop <shop@evil.example>"), ("To", "Taro <taro@example.jp>"),
                 ("Subject", "Taro様 hanako@example.jp")),
        recipients=(StandInRecipient("taro@example.jp", "Taro"),
                    StandInRecipient("taro@example.jp", "", "Delivered-To")),
        text="Dear Taro, card 4111 1111 1111 1111",
        html='<a href="https://evil.example/?u=taro%40example.jp">Taro</a>',
        html_text="Taro taro@example.jp",
        attachments=(StandInAttachment("invoice_taro@example.jp.pdf"),),
        attached_messages=(forwarded,),
        origin_ip="203.0.113.9",
        problems=("undecodable To: taro@example.jp",),
    )
    redacted = redact_mail(mail)
    assert not hasattr(redacted, "recipients")
    assert redacted.headers == (("From", "Shop <shop@evil.example>"),
                                ("To", f"xxxx <{REDACTED_ADDRESS}>"),
                                ("Subject", f"xxxx様 {REDACTED_ADDRESS}"))
    assert redacted.text == "Dear xxxx, card **** **** **** 1111"
    assert redacted.html == f'<a href="https://evil.example/?u={REDACTED_ADDRESS}">xxxx</a>'
    assert redacted.html_text == f"xxxx {REDACTED_ADDRESS}"
    assert redacted.attachments == (StandInAttachment(f"invoice_{REDACTED_ADDRESS}.pdf"),)
    assert redacted.attached_messages[0].text == "Hello xxxx"
    assert redacted.attached_messages[0].headers == (("To", f"xxxx <{REDACTED_ADDRESS}>"),)
    assert redacted.origin_ip == "203.0.113.9"
    assert redacted.problems == (f"undecodable To: {REDACTED_ADDRESS}",)
    assert redacted.learned_addresses == {"taro@example.jp", "hanako@example.jp"}
    assert redacted.learned_names == {"Taro", "taro", "Hanako", "hanako"}
    assert {mark.field for mark in redacted.marks} == {
        "headers[1]", "headers[2]", "text", "html", "html_text", "attachments[0].filename",
        "problems[0]"}
    assert {mark.field for mark in redacted.attached_messages[0].marks} == {"headers[0]", "text"}


def test_marks_of_a_redacted_mail_point_into_its_fields():
    mail = StandInMail(headers=(("To", "Taro <taro@example.jp>"),),
                       recipients=(StandInRecipient("taro@example.jp", "Taro"),),
                       text="Taro\n〒100-0001 東京都", html="<b>Taro</b>")
    redacted = redact_mail(mail)
    fields = {"headers[0]": redacted.headers[0][1], "text": redacted.text, "html": redacted.html}
    shown = [(mark.field, mark.kind, fields[mark.field][mark.start:mark.end])
             for mark in redacted.marks]
    assert sorted(shown) == [
        ("headers[0]", RECIPIENT_ADDRESS, REDACTED_ADDRESS), ("headers[0]", RECIPIENT_NAME, "xxxx"),
        ("html", RECIPIENT_NAME, "xxxx"), ("text", FLAG_POSTAL_ADDRESS, "〒100-0001 東京都"),
        ("text", RECIPIENT_NAME, "xxxx")]


# --- the seed page: thread NO.916 -------------------------------------------------------------

_POST_HEADER = re.compile(r"^.*】 \d{4}/\d\d/\d\d \(\w{3}\) \d\d:\d\d$", re.MULTILINE)
_QUOTE_MARK = re.compile(r"^\*{9,10} 以下引用\d* \*{9,10}$", re.MULTILINE)
_QUOTE_HEADER = re.compile(r"^(From|To|Cc|Subject|Date):\s?(.*)$")


@pytest.fixture(scope="module")
def no916_quotes(seed_path):
    """The quoted mails of thread NO.916, all posted by one member, in order."""
    page = seed_path.read_text(encoding="utf-8")
    thread = page[page.index("\nNO.916 "):page.index("\nNO.917 ")]
    return [quote for post in _POST_HEADER.split(thread)[1:]
            for quote in _QUOTE_MARK.split(post)[1:]]


def quote_headers(quote):
    headers = []
    for line in quote.strip("\n").split("\n"):
        if not (match := _QUOTE_HEADER.match(line)):
            break
        headers.append((match[1], match[2]))
    return headers


def test_seed_no916_learns_chiyuki_and_redacts_it_in_all_the_authors_quotes(no916_quotes):
    assert len(no916_quotes) == 11
    addresses, names = set(), set()
    for quote in no916_quotes:
        learned_addresses, learned_names = learn_from_quote_headers(quote_headers(quote))
        addresses |= learned_addresses
        names |= learned_names
    assert (addresses, names) == (set(), {"chiyuki"})

    redacted = [redact_text(quote, addresses=addresses, names=names) for quote in no916_quotes]
    assert f"To: xxxx <{REDACTED_ADDRESS}>" in redacted[9].text   # where chiyuki was learned
    assert "\nxxxx様\n" in redacted[10].text                       # a later quote
    assert not any("chiyuki" in result.text for result in redacted)
    assert all(kind == RECIPIENT_NAME for result in redacted
               for kind in kinds(result) if not kind.startswith("flag-"))


def test_seed_no916_order_block_is_flagged_and_contact_numbers_are_not(no916_quotes):
    flags = [flagged(redact_text(quote)) for quote in no916_quotes]
    assert flags[3] == {
        (FLAG_PERSONAL_NAME, "山本 直男 (シャンベン ジーナン)"),
        (FLAG_POSTAL_ADDRESS, "〒810-0011 福岡県福岡市中央区高砂2-8-20"),
        (FLAG_PERSONAL_PHONE, "080-3923-2042"),
    }
    # The scammers' call-back numbers (電話番号 : 090-3034-1000 …) are evidence, not personal.
    assert "090-3034-1000" in no916_quotes[9]
    assert all(not found for index, found in enumerate(flags) if index != 3)
    assert "263126-20200829-00588807" in redact_text(no916_quotes[3]).text


# --- properties -----------------------------------------------------------------------------

names_strategy = st.lists(st.text(max_size=12), max_size=4)
addresses_strategy = st.lists(st.text(max_size=20) | st.emails(), max_size=4)
# Text built from the characters redaction itself writes, to provoke placeholder collisions.
tricky_text = st.text(alphabet="xXnameNAME@.%40&#;* -\n〒0123456789ー様", max_size=80)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300) | tricky_text, addresses=addresses_strategy, names=names_strategy)
@example(text="\ud800 4111 1111 1111 1111 〒", addresses=["\ud800@x"], names=["\ud800"])
def test_redact_text_never_raises_and_its_marks_point_at_their_replacements(text, addresses, names):
    result = redact_text(text, addresses=addresses, names=names)
    redactions = [mark for mark in result.marks if not mark.is_flag]
    for mark in result.marks:
        assert 0 <= mark.start < mark.end <= len(result.text)
    for mark in redactions:
        assert result.text[mark.start:mark.end] == mark.replacement
    for before, after in zip(redactions, redactions[1:]):
        assert before.end <= after.start
    assert apply_redactions(result.text, redactions) == result.text


def _spellings(address, draw):
    at = draw(st.sampled_from(["@", "%40", "%2540", "&#64;", "＠"]))
    local, _, domain = address.partition("@")
    return draw(st.sampled_from([str.lower, str.upper, str.title]))(local) + at + domain


@st.composite
def texts_quoting(draw):
    addresses = draw(st.lists(st.emails(), min_size=1, max_size=3, unique=True))
    pieces = draw(st.lists(st.text(max_size=20) | tricky_text, min_size=1, max_size=6))
    text = ""
    for piece in pieces:
        text += piece + _spellings(draw(st.sampled_from(addresses)), draw)
    return text, addresses


@settings(max_examples=300, deadline=None)
@given(texts_quoting())
@example(("me@x.io@x.io", ["me@x.io"]))
@example(("xx@xxxx.nameqq", ["xx@xxxx.nameq"]))
def test_no_given_address_survives_in_any_case_or_encoding(case):
    text, addresses = case
    redacted = redact_text(text, addresses=addresses).text.lower()
    for address in addresses:
        if set(address.lower()) <= set(REDACTED_ADDRESS):
            continue  # spelled with the placeholder's letters only: documented as unredactable
        assert address.lower() not in redacted
        assert address.lower().replace("@", "%40") not in redacted


# --- the corpus, through the real parser ------------------------------------------------------

_ADDRESS_LIKE = re.compile(r"[^\s<>(),;:\"']+@[^\s<>(),;:\"']+")


def text_fields(mail):
    yield from (value for _, value in mail.headers)
    yield from (mail.text, mail.html, mail.html_text, *mail.problems)
    yield from (attachment.filename for attachment in mail.attachments if attachment.filename)
    for attached in mail.attached_messages:
        yield from text_fields(attached)


def recipient_addresses(mail):
    for recipient in mail.recipients:
        yield from _ADDRESS_LIKE.findall(recipient.address)
    for attached in mail.attached_messages:
        yield from recipient_addresses(attached)


def test_no_recipient_address_survives_in_any_corpus_mail(shared_dir):
    from incidents.mail import parse_mail

    corpus = shared_dir / "corpus" / "eml"
    manifest = json.loads((corpus / "MANIFEST.json").read_text(encoding="utf-8"))
    assert len(manifest) == 142
    leaks = []
    for record in manifest:
        mail = parse_mail((corpus / record["file"]).read_bytes())
        published = "\n".join(text_fields(redact_mail(mail))).lower()
        addresses = {a.lower() for a in (*_ADDRESS_LIKE.findall(record["to_header"]),
                                         *recipient_addresses(mail))}
        for address in addresses - {REDACTED_ADDRESS}:
            spellings = {address, address.replace("@", "%40"), *base64_spellings(address)}
            leaks += [(record["file"], spelling) for spelling in spellings
                      if spelling.lower() in published]
    assert leaks == []


# --- phone numbers for incidents' indicators (find_phone_numbers, phone_context) ----------------

def test_phone_numbers_with_their_context():
    from incidents.redact import PHONE_CONTACT, PHONE_OTHER, PHONE_PARTY, find_phone_numbers

    text = ("電話番号 : 090-3034-1000 (受付時間:9:00 - 21:00)\n※海外からの連絡の場合 :\n81(国コード)-090-3034-1100\n"
            "至急(01)-50-5830-6860までお電話ください。\n\n\n\nMSHTML 11.00.10570.1001\n\n\n\n"
            "注文者 山本 直男 様\n〒810-0011 福岡県福岡市中央区高砂2-8-20\n080-3923-2042\n\n\n\n"
            "注文番号 263126-20200825-004\n\n\n\nお店の番号は 03-1234-5678 です")
    found = [(p.raw, p.e164, p.context) for p in find_phone_numbers(text)]
    assert found == [
        ("090-3034-1000", "+819030341000", PHONE_CONTACT),
        ("090-3034-1100", "+819030341100", PHONE_CONTACT),
        ("(01)-50-5830-6860", None, PHONE_CONTACT),   # not valid, but where the mail says to call
        ("080-3923-2042", "+818039232042", PHONE_PARTY),
        ("03-1234-5678", "+81312345678", PHONE_OTHER),
    ]
    assert all(text[p.start:p.end] == p.raw for p in find_phone_numbers(text))


def test_invalid_numbers_away_from_a_contact_context_are_not_phone_numbers():
    from incidents.redact import find_phone_numbers

    assert find_phone_numbers("番号 (01)-50-5830-6860 のご案内") == []
    assert find_phone_numbers("お電話は 11.00.10570.1001 まで") == []
