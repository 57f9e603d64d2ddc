"""incidents.indexing: indicators follow the posts (signal, edits, hiding, rebuilds, brands)."""
import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Max

from forum import actions
from forum.archive.member_body import compose_body
from forum.blocks import blocks_to_json, parse_body
from forum.models import Post, Thread
from forum.signals import announce_posts_changed
from forum.tests import factories
from incidents.defang import find_indicators
from incidents.extract import ROLE_FROM, ROLE_PHONE_CONTACT, ROLE_PHONE_MENTIONED
from incidents.indexing import current_token, index_posts, rebuild
from incidents.mail import parse_mail
from incidents.models import (
    Assessment, Brand, Indicator, IndicatorState, QuotedMail, Sighting, Verdict, indicator_key, roles_of,
)
from incidents.redact import redact_mail

pytestmark = pytest.mark.django_db
JAPAN = ZoneInfo("Asia/Tokyo")
QUOTE_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Reply-To")


def get(kind, value):
    return Indicator.objects.get(key=indicator_key(kind, value))


def test_the_seed_import_fills_indicators_through_the_signal(seed):
    assert Indicator.objects.count() == 29
    assert QuotedMail.objects.count() == 11  # 8 quotes in post 1, one in each of posts 2 to 4
    myinfo = get("email", "myinfo@rakuten.co.jp")
    assert (myinfo.times_seen, myinfo.post_count, roles_of(myinfo.roles)) == (5, 2, [ROLE_FROM])
    assert myinfo.first_seen == datetime(2020, 9, 8, 14, 54, tzinfo=JAPAN)
    assert myinfo.last_seen == datetime(2020, 9, 21, 22, 26, tzinfo=JAPAN)
    assert (myinfo.assessment, myinfo.exported) == (Assessment.LEGITIMATE, False)
    assert myinfo.thread_ids == [Thread.objects.get(number=916).pk]

    baby = get("host", "grp01.id.rakuten.co.jp.baby")
    assert (baby.assessment, baby.brand.slug, baby.exported, baby.defanged) == (
        Assessment.LOOKALIKE, "rakuten", True, "grp01[.]id[.]rakuten[.]co[.]jp[.]baby")
    phone = get("phone", "+819030341000")
    assert (phone.times_seen, phone.written, roles_of(phone.roles), phone.exported) == (
        2, "090-3034-1000", [ROLE_PHONE_CONTACT], True)
    mentioned = get("phone", "+818039232042")
    assert (roles_of(mentioned.roles), mentioned.exported) == ([ROLE_PHONE_MENTIONED], False)
    namespace = get("url", "http://www.w3.org/TR/REC-html40")
    assert (namespace.exported, namespace.brand) == (False, None)
    for legitimate in (get("domain", "rakuten-card.co.jp"), get("host", "img.card.jp.rakuten-static.com")):
        assert (legitimate.assessment, legitimate.exported, legitimate.brand.slug) == (
            Assessment.LEGITIMATE, False, "rakuten")
    assert get("email", "ud@kto.net").exported  # a claimed sender on nobody's domain: exported, marked claimed
    assert not Indicator.objects.filter(value__icontains="xxxx").exists()
    assert not Indicator.objects.filter(kind="host", value__icontains="word").exists()


def test_reimporting_the_seed_changes_nothing(seed, seed_path, django_capture_on_commit_callbacks):
    from forum.archive_io import import_volume

    before = sorted(Sighting.objects.values_list("indicator__key", "post_id", "role", "count"))
    token = current_token()
    with django_capture_on_commit_callbacks(execute=True):
        import_volume(seed_path.read_text(encoding="utf-8"), "seed")
    assert sorted(Sighting.objects.values_list("indicator__key", "post_id", "role", "count")) == before
    assert current_token() == token  # nothing was announced, nothing recomputed


def test_posting_and_editing_follow(member, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        thread = factories.thread(user=member, body="偽サイト https://evil-shop.com/login に注意")
    post = thread.posts.get()
    url = get("url", "https://evil-shop.com/login")
    assert (roles_of(url.roles), url.exported, url.thread_ids) == (["post_text"], False, [thread.pk])
    token = current_token()
    with django_capture_on_commit_callbacks(execute=True):
        actions.edit_post(post=post, user=member, fields=actions.PostFields(body="別の https://other-shop.com/ です"))
    assert not Indicator.objects.filter(key=indicator_key("url", "https://evil-shop.com/login")).exists()
    assert get("url", "https://other-shop.com/").post_count == 1
    assert current_token() != token


def test_hidden_posts_and_threads_show_nothing(seed):
    post = Post.objects.get(thread__number=916, position=3)
    post.hidden = True
    post.save()
    index_posts([post.pk])
    assert not Indicator.objects.filter(key=indicator_key("url", "https://grp01.id.rakuten.co.jp.baby/")).exists()
    phone = get("phone", "+819030341000")
    assert phone.times_seen == 1  # post 4 still quotes it
    Thread.objects.filter(number=916).update(hidden=True)
    rebuild()
    assert not Indicator.objects.filter(kind="phone").exists()


def test_a_reviewed_indicator_outlives_its_sightings(seed, moderator):
    from incidents.actions import review_indicator

    post = Post.objects.get(thread__number=916, position=2)
    review_indicator(indicator=get("domain", "fuzhishop.com"), actor=moderator, verdict=Verdict.FALSE_POSITIVE,
                     reason="テスト")
    Post.objects.filter(pk=post.pk).update(blocks=[])
    index_posts([post.pk])
    kept = get("domain", "fuzhishop.com")
    assert (kept.times_seen, kept.verdict, kept.exported, kept.first_seen) == (0, Verdict.FALSE_POSITIVE, False, None)
    assert not Indicator.objects.filter(key=indicator_key("host", "www.fuzhishop.com")).exists()


def test_rebuild_gives_what_the_signal_gave(seed):
    def state():
        return (sorted(Indicator.objects.values_list("key", "times_seen", "post_count", "roles", "assessment",
                                                     "brand_id", "exported")),
                sorted(Sighting.objects.values_list("indicator__key", "post_id", "part", "role", "count")),
                sorted(QuotedMail.objects.values_list("post_id", "part", "number", "brand_id", "sender")))
    before = state()
    Indicator.objects.update(times_seen=0, exported=False, defanged="stale")
    Sighting.objects.all().delete()
    counts = rebuild()
    assert state() == before
    assert counts == {"posts": 16, "indicators": 29, "sightings": Sighting.objects.count()}
    assert not Indicator.objects.filter(defanged="stale").exists()  # display forms written again


def test_new_posts_read_after_a_bulk_fill_give_what_a_rebuild_gives_and_go_on_where_they_stopped(monkeypatch):
    from forum import corpus_fill
    from incidents import indexing

    def state():
        return (sorted(Indicator.objects.values_list("key", "times_seen", "post_count", "roles", "first_seen",
                                                     "last_seen", "thread_ids", "assessment", "brand_id", "exported")),
                sorted(Sighting.objects.values_list("indicator__key", "post_id", "part", "role", "count")))

    corpus_fill.fill(300, long_threads=())
    stored = []
    real = indexing._index_batch

    def stop_after_one(ids, catalogue):
        if stored:
            raise KeyboardInterrupt
        real(ids, catalogue)
        stored.append(ids)

    monkeypatch.setattr(indexing, "_index_batch", stop_after_one)
    with pytest.raises(KeyboardInterrupt):
        indexing.index_new_posts(batch_size=100)
    monkeypatch.undo()
    assert Sighting.objects.aggregate(last=Max("post_id"))["last"] <= stored[0][-1]
    counts = indexing.index_new_posts()
    assert 0 < counts["posts"] < 300  # went on after the posts the stopped run stored
    taken_in = state()
    assert taken_in[0]
    rebuild()
    assert state() == taken_in
    again = indexing.index_new_posts()  # only trailing posts that hold no indicator are read again
    assert again["posts"] < 10 and state() == taken_in


def test_stored_blocks_that_cannot_be_read_give_nothing_and_raise_nothing(member):
    thread = factories.thread(user=member, body="https://evil-shop.com/")
    post = thread.posts.get()
    Post.objects.filter(pk=post.pk).update(blocks={"not": "blocks"})
    index_posts([post.pk])
    assert not Sighting.objects.filter(post=post).exists()


def test_a_failing_extraction_never_breaks_posting(member, monkeypatch, django_capture_on_commit_callbacks, caplog):
    from incidents import indexing

    def broken(ids):
        raise RuntimeError("boom")

    monkeypatch.setattr(indexing, "index_posts", broken)
    with django_capture_on_commit_callbacks(execute=True):
        thread = factories.thread(user=member, body="https://evil-shop.com/")
    assert thread.posts.count() == 1
    assert "rebuild_indicators" in caplog.text


def test_brand_changes_judge_hosts_again(seed, django_capture_on_commit_callbacks):
    rakuten = Brand.objects.get(slug="rakuten")
    shop = get("domain", "fuzhishop.com")
    assert shop.assessment == Assessment.SUSPICIOUS
    with django_capture_on_commit_callbacks(execute=True):
        rakuten.domains += "\nfuzhishop.com"
        rakuten.save()
    assert get("domain", "fuzhishop.com").assessment == Assessment.LEGITIMATE
    assert get("url", "https://www.fuzhishop.com/").exported is False
    with django_capture_on_commit_callbacks(execute=True):
        rakuten.host_keywords = "nothing-like-it"
        rakuten.save()
    assert get("host", "grp01.id.rakuten.co.jp.baby").assessment == Assessment.SUSPICIOUS
    with django_capture_on_commit_callbacks(execute=True):
        rakuten.delete()
    baby = get("host", "grp01.id.rakuten.co.jp.baby")
    assert (baby.brand, baby.assessment) == (None, Assessment.SUSPICIOUS)


def test_the_token_changes_with_every_change(seed):
    token = current_token()
    index_posts([Post.objects.get(thread__number=916, position=1).pk])
    assert current_token() != token
    IndicatorState.objects.all().delete()
    assert current_token()  # made again when missing


# --- the corpus ---------------------------------------------------------------------------------

def _quote_body(redacted) -> str:
    return redacted.text or redacted.html


@pytest.fixture(scope="module")
def corpus_bodies(shared_dir):
    """Every corpus mail parsed, redacted and quoted in a post body, as the composer will do."""
    eml = shared_dir / "corpus" / "eml"
    bodies = []
    for record in json.loads((eml / "MANIFEST.json").read_text(encoding="utf-8")):
        mail = parse_mail((eml / record["file"]).read_bytes())
        redacted = redact_mail(mail)
        headers = [(name, value) for name, value in redacted.headers if name in QUOTE_HEADERS]
        bodies.append((record, mail, redacted, compose_body("", mails=[(headers, _quote_body(redacted))])))
    return bodies


@pytest.fixture
def corpus_posts(corpus_bodies, member, django_capture_on_commit_callbacks):
    """The corpus bodies as posts of one thread, announced to incidents as the forum does."""
    thread = factories.thread(user=member)
    made = []
    with django_capture_on_commit_callbacks(execute=True):
        for position, (record, mail, redacted, text) in enumerate(corpus_bodies, 2):
            post = Post.objects.create(thread=thread, position=position, author_name="会員", source=text,
                                       format=Post.Format.ARCHIVE, blocks=blocks_to_json(parse_body(text)), html="",
                                       posted_at=datetime(2024, 1, 1, tzinfo=JAPAN))
            made.append((record, mail, redacted, post))
        announce_posts_changed([post.pk for _, _, _, post in made])
    return made


def test_every_url_in_a_corpus_quote_becomes_an_indicator(corpus_posts):
    import html as html_module

    values = set(Indicator.objects.filter(kind="url").values_list("value", flat=True))
    missing = []
    for record, _, redacted, post in corpus_posts:
        body = parse_body(post.source)[0].body  # the quote block's body, as stored
        for span in find_indicators(body):
            if span.kind != "url" or len(span.value.url) > 4096:
                continue
            # In HTML source the stored value is the decoded one ("…webp&quot;" is "…webp").
            decoded = {s.value.url for s in find_indicators(html_module.unescape(span.raw)) if s.kind == "url"}
            if span.value.url not in values and not decoded & values:
                missing.append((record["file"], span.value.url))
    assert missing == []
    assert len(values) > 300


def test_no_recipient_address_of_the_corpus_ever_becomes_an_indicator(corpus_posts):
    recipients = set()
    for _, mail, _, _ in corpus_posts:
        recipients |= {r.address.strip("<> ").lower() for r in mail.recipients if "@" in r.address}
    recipients.discard("")
    assert len(recipients) > 50
    values = [value.lower() for value in Indicator.objects.values_list("value", flat=True)]
    leaked = sorted({address for address in recipients for value in values if address in value})
    assert leaked == []
    assert Indicator.objects.filter(kind="email").exists()


def test_corpus_quotes_are_tagged_with_brands(corpus_posts):
    tagged = dict(QuotedMail.objects.filter(post__in=[p for *_, p in corpus_posts])
                  .values_list("post__position", "brand__slug"))
    jp = [post.position for record, _, _, post in corpus_posts if record["file"].startswith("jp/")]
    assert sum(tagged[position] is not None for position in jp) >= 40  # of 50 Japanese scam mails
    assert Indicator.objects.filter(assessment=Assessment.LOOKALIKE).count() >= 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_posts_quoting_one_link_at_once_are_all_counted(member):
    from forum.tests.test_concurrency import run_at_once

    thread = factories.thread(user=member)
    writers = 10
    results = run_at_once(writers, lambda i: actions.create_reply(
        thread=thread, user=member, fields=actions.PostFields(body=f"同じ詐欺サイト https://same-scam.com/ {i}")).pk)
    assert all(isinstance(pk, int) for pk in results), results
    url = get("url", "https://same-scam.com/")
    assert (url.times_seen, url.post_count) == (writers, writers)
    assert Sighting.objects.filter(indicator=url).count() == writers


def test_a_quote_without_indicators_is_still_a_quoted_mail(member):
    from forum.tests import factories as f

    thread = f.thread(user=member)
    post = thread.posts.get()
    Post.objects.filter(pk=post.pk).update(blocks=blocks_to_json(parse_body(
        "********** 以下引用 **********\n\nSubject: 【ヤマト運輸】お届けのお知らせ\n\n本文だけ")))
    index_posts([post.pk])
    assert list(QuotedMail.objects.values_list("subject", "brand__slug")) == [("【ヤマト運輸】お届けのお知らせ", "yamato")]
    assert not Sighting.objects.exists()


@pytest.mark.sqlite
def test_a_post_edited_between_extraction_and_writing_is_read_again(member, monkeypatch):
    """On SQLite findings of a batch are made before the write transaction (its one writer waits
    less); a post that changed meanwhile is read again inside it, so older findings never win."""
    from incidents import indexing

    thread = factories.thread(user=member, body="古いリンク https://old-scam.example/ に注意")
    post = thread.posts.get()
    other = factories.thread(user=member, body="別の投稿").posts.get()  # a batch: one post is read once
    new_blocks = blocks_to_json(parse_body("新しいリンク https://new-scam.example/ に注意"))
    real, calls = indexing._posts, []

    def posts_then_edit(ids):
        calls.append(ids)
        result = list(real(ids))
        if len(calls) == 1:  # the edit commits right after the extraction read the post
            Post.objects.filter(pk=post.pk).update(blocks=new_blocks)
        return result

    monkeypatch.setattr(indexing, "_posts", posts_then_edit)
    indexing.index_posts([post.pk, other.pk])
    assert len(calls) == 2
    values = set(Sighting.objects.filter(post=post).values_list("indicator__value", flat=True))
    assert any("new-scam.example" in v for v in values), values
    assert not any("old-scam.example" in v for v in values), values


def test_one_post_is_read_once_inside_the_transaction(member, monkeypatch):
    """A reply or an edit: its extraction costs less than reading it twice."""
    from incidents import indexing

    post = factories.thread(user=member, body="リンク https://one-scam.example/ に注意").posts.get()
    real, calls = indexing._posts, []
    monkeypatch.setattr(indexing, "_posts", lambda ids: calls.append(ids) or real(ids))
    indexing.index_posts([post.pk])
    assert calls == [[post.pk]]
    assert Sighting.objects.filter(post=post, indicator__value="one-scam.example").exists()
