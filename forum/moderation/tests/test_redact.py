"""Redaction: personal data the automatic redaction missed goes from every stored copy — the
post (source, blocks, quotes and their HTML source, rendered HTML), its revisions, reports' notes,
the search index, indicators and sightings (reviewed ones too), and cached pages."""

import json
import re

import pytest

from forum import actions
from forum.models import Post, SearchDocument, Thread
from forum.moderation import actions as moderation
from forum.moderation.models import ModerationLog, PostRevision, Report
from forum.quoting import PendingQuote
from forum.tests import factories
from incidents.actions import review_indicator
from incidents.models import Indicator, QuotedMail, Sighting

pytestmark = pytest.mark.django_db

VICTIM = "taro.yamada@example.jp"
HIT = re.compile(r'class="search-hit-title"><a href="/(\w+)/(\d+)/')


def quote() -> PendingQuote:
    return PendingQuote(
        kind="mail",
        headers=[("From", "楽天市場 <info@rakuten-secure.xyz>"), ("Subject", "お支払い情報の確認")],
        body=f"{VICTIM} 様\nお客様のアカウントで異常な行為が検出されました。\nhttps://rakuten-secure.xyz/login\n",
        html=f"<p>{VICTIM} 様</p><p><a href=\"https://rakuten-secure.xyz/login\">ログイン</a></p>",
        html_text=f"{VICTIM} 様 ログイン")


@pytest.fixture
def leaked(member, other_member, moderator, django_capture_on_commit_callbacks):
    """A post quoting a mail that names its recipient, edited once, reported with the address in
    the note, indexed for search and indicators; the victim's address reviewed by a moderator."""
    with django_capture_on_commit_callbacks(execute=True):
        thread = factories.thread(user=member, title="楽天を名乗るメール", body=f"届きました（宛先 {VICTIM}）",
                                  quotes=(quote(),))
        post = thread.posts.get()
        actions.edit_post(post=post, user=member,
                          fields=actions.PostFields(body=f"届きました。宛先は {VICTIM} です", quotes=(quote(),)))
    moderation.file_report(reporter=other_member, reason="personal_data", note=f"{VICTIM} が見えています", post=post)
    victim = Indicator.objects.get(value=VICTIM)
    review_indicator(indicator=victim, actor=moderator, verdict="false_positive", reason=f"{VICTIM} は被害者")
    return Thread.objects.get(pk=thread.pk)


def every_copy(post: Post) -> dict[str, str]:
    post.refresh_from_db()
    stored = {name: json.dumps(getattr(post, name), ensure_ascii=False)
              for name in ("source", "subtitle", "blocks", "quote_details", "html")}
    for revision in PostRevision.objects.filter(post=post):
        stored[f"revision {revision.number}"] = json.dumps(
            [revision.source, revision.blocks, revision.quote_details], ensure_ascii=False)
    stored["search documents"] = json.dumps(list(SearchDocument.objects.values_list("head", "body", "meta")),
                                            ensure_ascii=False)
    stored["indicators"] = json.dumps(list(Indicator.objects.values_list("value", "written", "defanged",
                                                                         "review_reason")), ensure_ascii=False)
    stored["sightings"] = json.dumps(list(Sighting.objects.values_list("written", flat=True)), ensure_ascii=False)
    stored["quoted mails"] = json.dumps(list(QuotedMail.objects.values_list("subject", "sender_name", "sender")),
                                        ensure_ascii=False)
    stored["report notes"] = json.dumps(list(Report.objects.values_list("note", "url")), ensure_ascii=False)
    stored["log"] = json.dumps(list(ModerationLog.objects.values_list("reason", "target", "details")),
                               ensure_ascii=False)
    return stored


def holding(post: Post, text: str) -> list[str]:
    return [where for where, value in every_copy(post).items() if text in value]


def test_redaction_removes_the_text_from_every_copy(client, moderator, moderator_client, leaked):
    post = leaked.posts.get()
    search = {"q": "yamada"}
    # Before: the text is everywhere the test looks, so each check below can fail (the page and
    # the indicators show it defanged: taro.yamada[@]example[.]jp).
    assert set(holding(post, "yamada")) >= {"source", "blocks", "quote_details", "html", "revision 1",
                                            "indicators", "search documents", "report notes"}
    assert HIT.findall(client.get("/search/", search).content.decode())
    assert VICTIM in client.get(leaked.get_absolute_url()).content.decode().replace("[.]", ".").replace("[@]", "@")
    version = leaked.version

    response = moderator_client.post(f"/moderation/post/{post.pk}/redact/",
                                     {"text": VICTIM, "reason": f"被害者の {VICTIM} を消す"})
    assert response.status_code == 302

    assert holding(post, VICTIM) == []
    assert holding(post, "yamada") == []
    assert "xxxx" in Post.objects.get(pk=post.pk).source
    assert HIT.findall(client.get("/search/", search).content.decode()) == []
    page = client.get(leaked.get_absolute_url()).content.decode()
    assert "yamada" not in page and "rakuten-secure" in page  # the rest of the evidence stays
    assert Thread.objects.get(pk=leaked.pk).version > version
    assert Indicator.objects.filter(value__contains="rakuten-secure.xyz").exists()
    entry = ModerationLog.objects.get(action=ModerationLog.Action.REDACT_POST)
    assert entry.actor == moderator and entry.details["places"] >= 2
    # The archive importer will not bring the text back: the post counts as changed on Daiou.
    assert Post.objects.get(pk=post.pk).edited_at


def test_redaction_of_text_not_in_the_post_is_refused_and_changes_nothing(moderator, leaked):
    post = leaked.posts.get()
    before = every_copy(post)
    for text in ["nowhere@example.jp", "", " ", "x"]:
        with pytest.raises(moderation.ModerationRefused):
            moderation.redact_post(post=post, actor=moderator, reason="個人情報", text=text)
    assert every_copy(post) == before


def test_a_redaction_that_fails_half_way_keeps_everything(monkeypatch, moderator, leaked):
    post = leaked.posts.get()
    before = every_copy(post)

    def broken(*args, **kwargs):
        raise RuntimeError("indicators could not be re-read")

    monkeypatch.setattr("incidents.indexing.purge_posts", broken)
    with pytest.raises(RuntimeError):
        moderation.redact_post(post=post, actor=moderator, reason="個人情報", text=VICTIM)
    assert every_copy(post) == before


def test_an_archived_post_is_redacted_too(client, moderator, seed_path, django_capture_on_commit_callbacks):
    from forum.archive_io import import_volume

    with django_capture_on_commit_callbacks(execute=True):
        import_volume(seed_path.read_text(encoding="utf-8"), "seed")
    post = Post.objects.filter(format="archive").exclude(source="").order_by("pk")[1]
    others = "".join(Post.objects.filter(thread=post.thread).exclude(pk=post.pk).values_list("source", flat=True))
    text = next(w for w in re.findall(r"[^\s　、。「」（）()]{4,}", post.source)
                if w not in others and w not in post.thread.title)
    moderation.redact_post(post=post, actor=moderator, reason="個人情報", text=text)
    post.refresh_from_db()
    assert text not in post.source and text not in json.dumps(post.blocks, ensure_ascii=False)
    assert text not in client.get(post.thread.get_absolute_url()).content.decode()
