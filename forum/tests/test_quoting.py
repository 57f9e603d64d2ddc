import io
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.core.signing import dumps

from forum import quoting
from forum.models import LearnedRecipient, Post, Thread
from forum.tests.test_render import audit_archive

pytestmark = pytest.mark.django_db

MAIL = """From: "楽天市場" <info@rakuten-secure.top>
To: "Chiyuki Isozu" <chiyuki@example.net>
Subject: =?UTF-8?B?44CQ5qW95aSp5biC5aC044CR44GK5pSv5omV44GE5oOF5aCx44Gu56K66KqN?=
Date: Mon, 1 Jan 2024 10:00:00 +0900
Content-Type: text/plain; charset=utf-8

chiyuki様
下記URLからログインしてください。
https://grp01.id.rakuten.co.jp.baby/login?mail=chiyuki@example.net
電話番号 : 090-3034-1000
注文者 山本 直男 様
〒810-0011 福岡県福岡市中央区高砂2-8-20
"""
SECRETS = ["chiyuki@example.net", "chiyuki", "Isozu"]


def stored_text(post: Post) -> str:
    return "\n".join([post.source, json.dumps(post.blocks, ensure_ascii=False),
                      json.dumps(post.quote_details, ensure_ascii=False), post.html])


def add_mail(client, url, data=None, **extra):
    response = client.post(url, {"title": "題", "body": "", "step": "add_mail", "mail_source": MAIL, **(data or {})},
                           **extra)
    token = re.search(r'name="quotes_token" value="([^"]*)"', response.content.decode())
    return response, token.group(1) if token else ""


def test_a_pasted_mail_is_redacted_at_once_and_published_as_shown(member_client, member):
    response, token = add_mail(member_client, "/info/new/")
    page = response.content.decode()
    assert response.status_code == 200 and token
    for secret in SECRETS:
        assert secret not in page, secret
        assert secret not in token, "the form carries only the redacted form"
    assert "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/login?mail=xxxx@xxxx.name" in page
    assert "redaction" in page or "伏せ字" in page or "件の伏せ" in page or "redacted" in page
    preview = member_client.post("/info/new/", {"title": "楽天の偽メール", "body": "届きました。", "step": "preview",
                                                "quotes_token": token})
    assert preview.status_code == 200 and 'class="preview"' in preview.content.decode()
    posted = member_client.post("/info/new/", {"title": "楽天の偽メール", "body": "届きました。", "step": "post",
                                               "quotes_token": token})
    assert posted.status_code == 302
    post = Post.objects.get()
    assert "届きました。" in post.html and 'class="mail-quote"' in post.html
    for secret in SECRETS:
        assert secret not in stored_text(post)
    page = member_client.get(posted["Location"]).content.decode()
    assert "<a href=\"https://grp01" not in page and "hxxps://grp01[.]id" in page
    assert LearnedRecipient.objects.filter(user=member, value="chiyuki@example.net").exists()


def test_an_uploaded_eml_file_is_quoted(member_client):
    upload = io.BytesIO(MAIL.encode())
    upload.name = "scam.eml"
    response = member_client.post("/info/new/", {"title": "題", "body": "", "step": "add_mail", "mail_file": upload})
    assert response.status_code == 200 and "rakuten-secure[.]top" in response.content.decode()


def test_flagged_personal_data_is_redacted_with_one_click(member_client):
    response, token = add_mail(member_client, "/info/new/")
    page = response.content.decode()
    steps = re.findall(r'name="step" value="(redact:0:\d+)"', page)
    assert steps, "the order block's name, postal address are flagged"
    assert "〒810-0011" in page
    while steps:
        response = member_client.post("/info/new/", {"title": "題", "body": "", "step": steps[0], "quotes_token": token})
        page = response.content.decode()
        token = re.search(r'name="quotes_token" value="([^"]*)"', page).group(1)
        steps = re.findall(r'name="step" value="(redact:0:\d+)"', page)
    assert "〒810-0011" not in page and "高砂2-8-20" not in page
    assert "090-3034-1000" in page, "a contact number in a contact context stays"


def test_a_quote_can_be_removed(member_client):
    _, token = add_mail(member_client, "/info/new/")
    response = member_client.post("/info/new/", {"title": "題", "body": "", "step": "remove:0", "quotes_token": token})
    assert 'name="quotes_token" value=""' in response.content.decode()


def test_an_sms_is_quoted_with_the_same_redaction(member_client, member):
    response = member_client.post("/info/new/", {
        "title": "題", "body": "", "step": "add_sms", "sms_sender": "+81 90-1234-5678", "sms_received": "2024/05/01 10:00",
        "sms_text": f"{member.profile.display_name}様 お荷物のお届けにあがりましたが不在のため持ち帰りました。"
                    f"http://sagawa-xx.top/?c={member.email}",
    })
    page = response.content.decode()
    assert response.status_code == 200
    assert member.email not in page and f"{member.profile.display_name}様" not in page
    assert "hxxp://sagawa-xx[.]top/" in page


@pytest.mark.parametrize("source", ["", "   ", "ただの文章\n二行目", "\x89PNG\r\n\x1a\n" + "\x00" * 50, '{"a": 1}'])
def test_what_is_not_a_mail_gets_a_clear_message_and_nothing_is_saved(member_client, source):
    response, token = add_mail(member_client, "/info/new/", {"mail_source": source})
    assert response.status_code == 400 and token == ""
    assert 'role="alert"' in response.content.decode()
    assert Post.objects.count() == 0


def test_a_tampered_quote_token_is_refused(member_client):
    forged = dumps([{"kind": "mail", "headers": [], "body": "<script>", "html": "", "html_text": "",
                     "attachments": [], "redactions": [], "flags": []}], salt="wrong")
    response = member_client.post("/info/new/", {"title": "題", "body": "本文", "step": "post", "quotes_token": forged})
    assert response.status_code == 400 and Post.objects.count() == 0


def test_a_post_of_only_a_quote_is_allowed_but_an_empty_one_is_not(member_client):
    _, token = add_mail(member_client, "/info/new/")
    assert member_client.post("/info/new/", {"title": "題", "body": "", "quotes_token": token}).status_code == 302
    assert member_client.post("/info/new/", {"title": "題", "body": ""}).status_code == 400


def test_ingest_email_posts_a_thread_or_a_reply(member, tmp_path, capsys):
    path = tmp_path / "scam.eml"
    path.write_text(MAIL, encoding="utf-8")
    call_command("ingest_email", str(path), "--board", "info", "--user", member.username)
    thread = Thread.objects.get()
    assert thread.title == "【楽天市場】お支払い情報の確認"
    call_command("ingest_email", str(path), "--board", "info", "--thread", str(thread.number), "--user", member.username)
    assert thread.posts.count() == 2
    for post in Post.objects.all():
        for secret in SECRETS:
            assert secret not in stored_text(post)


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"\x00\x01\x02garbage" * 10, "not"),
                                              (b"x" * (10 * 1024 * 1024 + 1), "10 MB")])
def test_ingest_email_refuses_bad_input_with_a_clear_message(member, tmp_path, content, message):
    path = tmp_path / "bad.eml"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message):
        call_command("ingest_email", str(path), "--board", "info", "--user", member.username)
    assert Post.objects.count() == 0


def test_every_corpus_mail_is_posted_redacted_and_defanged_or_refused_clearly(member, shared_dir):
    from incidents.mail import parse_mail

    files = sorted((shared_dir / "corpus" / "eml").rglob("*.eml"))
    assert len(files) == 142
    posted = refused = 0
    for path in files:
        recipients = {r.address.lower() for r in parse_mail(path.read_bytes()).recipients if "@" in r.address}
        try:
            call_command("ingest_email", str(path), "--board", "info", "--user", member.username, stdout=io.StringIO())
        except CommandError as error:
            assert str(error).startswith(str(path)) and "Traceback" not in str(error)
            refused += 1
            continue
        posted += 1
        post = Post.objects.order_by("-pk").first()
        stored = stored_text(post).lower()
        leaked = {r for r in recipients if r in stored and r != "xxxx@xxxx.name"}
        assert not leaked, (path.name, leaked)
        assert audit_archive(post.html) == [], path.name
        assert not re.search(r"(?i)\bhttps?://", post.html), path.name
    assert (posted, refused) == (142, 0)
