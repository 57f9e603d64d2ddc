"""incidents.brands: which brand a mail names, what a host is to a brand."""
import pytest
from django.core.exceptions import ValidationError

from incidents.brands import BrandCatalogue, BrandEntry, clean_domain, clean_keyword, fold


@pytest.mark.parametrize("text, slug", [
    ("【楽天市場】", "rakuten"),
    ("【樂天市場】", "rakuten"),                    # the traditional form the seed's quote 4 uses
    ("Rakutenお客様", "rakuten"),
    ("Ama\u200bzon.co.jp からのお知らせ", "amazon"),  # split by an invisible character
    ("Ａｍａｚｏｎ", "amazon"),                       # full width
    ("Aamzon Support", "amazon"),
    ("ＮＴＴドコモ", "docomo"),
    ("ゆうちょ銀行より", "yucho"),
    ("国税庁 未払い税金のお知らせ", "nta"),
])
def test_brand_named_in_text(catalogue, brand_ids, text, slug):
    assert catalogue.brand_of_text(text) == brand_ids[slug]


def test_ascii_aliases_match_whole_words_only(catalogue, brand_ids):
    assert catalogue.brand_of_text("Pineapple juice") is None
    assert catalogue.brand_of_text("Your Apple ID") == brand_ids["apple"]
    assert catalogue.brand_of_text("names, addresses, etc.") is None


def test_the_brand_named_most_wins_then_the_first(catalogue, brand_ids):
    assert catalogue.brand_of_text("Apple iPhone を楽天で。楽天ポイント") == brand_ids["rakuten"]
    assert catalogue.brand_of_text("Apple と 楽天") == brand_ids["apple"]


@pytest.mark.parametrize("host, verdict, slug", [
    ("grp01.id.rakuten.co.jp.baby", "lookalike", "rakuten"),
    ("img.card.jp.rakuten-static.com", "legitimate", "rakuten"),
    ("www.rakuten-card.co.jp", "legitimate", "rakuten"),
    ("rakuten.co.jp", "legitimate", "rakuten"),
    ("my-jcb-co-jp.diezdesigngroup.com", "lookalike", "jcb"),
    ("www-aeon-co-jp.rocknrollunderground.com", "lookalike", "aeon"),
    ("mercari.kcramy.com", "lookalike", "mercari"),
    ("xn--rkuten-3nf.com", "lookalike", "rakuten"),        # rаkuten.com with a Cyrillic а
    ("amaz0n-security.top", "lookalike", "amazon"),         # a digit for a letter
    ("bucket-amazon-login.s3.amazonaws.com", "lookalike", "amazon"),
    ("jp-bank.japanpost.jp", "legitimate", "yucho"),        # a host listed under a shared domain
    ("post.japanpost.jp", "legitimate", "japanpost"),
    ("nta-go-jp.top", "lookalike", "nta"),
])
def test_hosts_judged(catalogue, brand_ids, host, verdict, slug):
    assert catalogue.assess_host(host) == (verdict, brand_ids[slug])


@pytest.mark.parametrize("host", [
    "example.com.au",          # "au" is the public suffix, nobody's own label
    "santa.example",           # "nta" only as a whole part of a label
    "s3.amazonaws.com",        # only a public suffix: no owner's name at all
    "www.fuzhishop.com",
    "192.0.2.1",
    "www.w3.org",
])
def test_hosts_that_are_nobodys(catalogue, host):
    assert catalogue.assess_host(host) == (None, None)


def test_an_empty_catalogue_knows_nothing():
    empty = BrandCatalogue([])
    assert empty.brand_of_text("楽天") is None
    assert empty.assess_host("grp01.id.rakuten.co.jp.baby") == (None, None)


def test_the_first_brand_keeps_a_shared_alias():
    catalogue = BrandCatalogue([BrandEntry(2, "B", ("Shared",)), BrandEntry(1, "A", ("shared",))])
    assert catalogue.brand_of_text("SHARED") == 1


def test_cleaning_admin_lines():
    assert clean_domain(" *.Rakuten.CO.JP. ") == "rakuten.co.jp"
    assert clean_domain("ｒａｋｕｔｅｎ。co。jp") == "rakuten.co.jp"
    assert clean_domain("localhost") is None
    assert clean_domain("192.0.2.1") is None
    assert clean_keyword(" Rakuten ") == "rakuten"
    assert clean_keyword("楽天") is None
    assert fold("Ｒａｋｕ\u200bｔｅｎ") == "rakuten"


@pytest.mark.django_db
def test_brand_rows_are_stored_as_compared_and_refuse_what_is_no_domain():
    from incidents.models import Brand

    brand = Brand(name="テスト銀行", name_en="Test Bank", slug="test-bank",
                  aliases=" テスト銀行\n\nTESTBANK \n", domains="WWW.Test-Bank.example\ntest-bank.example",
                  host_keywords="TestBank\n")
    brand.full_clean()
    brand.save()
    brand.refresh_from_db()
    assert brand.domain_list == ["www.test-bank.example", "test-bank.example"]
    assert brand.host_keywords == "testbank"
    assert brand.alias_list == ["テスト銀行", "TESTBANK"]
    brand.domains = "not a domain\nexample..com"
    with pytest.raises(ValidationError) as error:
        brand.full_clean()
    assert "domains" in error.value.message_dict


@pytest.mark.django_db
def test_the_seeded_brands_are_there():
    from incidents.models import Brand

    names = set(Brand.objects.values_list("name", flat=True))
    assert {"楽天", "Amazon", "ドコモ", "ゆうちょ", "三井住友", "JCB", "Apple", "佐川", "ヤマト", "日本郵便",
            "国税庁"} <= names
