"""Backups (issue 9, point 2): `manage.py backup` and `manage.py restore` (forum/backup.py).

The round trip runs the real commands in their own processes, as an operator would: a backup
of the populated test database, a restore into a database that does not exist yet (a new SQLite
file, or a new PostgreSQL database), and the same pages fetched from both compared byte for byte
(CSRF tokens and the composer's one-time tokens aside).
"""

import difflib
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.utils import timezone

from forum import actions, quoting
from forum.archive_io import import_volume
from forum.backup import (DATA, EXCLUDED, MANIFEST, BackupError, backed_up_models, compare_archive, load_rows,
                          make_backup, restore_backup)
from forum.figures import actions as figure_actions
from forum.figures.images import reencode
from forum.figures.tests.helpers import image_bytes
from forum.models import AllowedLinkHost, Board, Draft, LearnedRecipient, Post, SearchDocument, Thread
from forum.moderation import actions as moderation
from forum.moderation.models import Ban, BoardModerator, ModerationLog, PostRevision, Report, ThreadRedirect
from forum.tests.factories import UserFactory
from forum.tests.test_quoting import MAIL
from incidents.actions import review_indicator
from incidents.models import Indicator, IndicatorReview

REPO = Path(__file__).resolve().parents[2]
# Values that differ on every request by design.
VOLATILE = re.compile(r'(name="(?:csrfmiddlewaretoken|client_token|quotes_token|figures_token)" value=")[^"]*"')


def normalised(body: bytes, content_type: str) -> str:
    if not content_type.startswith(("text/", "application/json", "application/atom", "application/xml")):
        return "sha256:" + hashlib.sha256(body).hexdigest()
    return VOLATILE.sub(r'\1…"', body.decode("utf-8"))


def row_counts() -> dict[str, int]:
    counts = {model._meta.label_lower: model._base_manager.count() for model in backed_up_models()}
    counts["forum.searchdocument"] = SearchDocument.objects.count()
    return counts


def fetch_pages(requests) -> dict:
    """GET each (username or None, url) with a client logged in as that member; what came back.
    Runs in the test and in a process on the restored database."""
    from django.test import Client

    clients, pages = {}, []
    for username, url in requests:
        if username not in clients:
            clients[username] = Client(HTTP_ACCEPT_LANGUAGE="en")
            if username:
                clients[username].force_login(get_user_model().objects.get(username=username))
        response = clients[username].get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        content_type = response.get("Content-Type", "")
        pages.append({"who": username, "url": url, "status": response.status_code,
                      "location": response.get("Location", ""), "type": content_type,
                      "body": normalised(body, content_type)})
    return {"pages": pages, "rows": row_counts()}


FETCH = ("import django, json, os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
         "from django.test.utils import setup_test_environment; setup_test_environment(debug=False);"
         "from forum.tests.test_backup import fetch_pages;"
         "print(json.dumps(fetch_pages(json.load(open(sys.argv[1]))), ensure_ascii=False))")


def run(args, env, *, code=None):
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "manage.py", *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def database_url(settings_dict) -> str:
    if "postgresql" not in settings_dict["ENGINE"]:  # SQLite: Django's backend or config.sqlite
        return f"sqlite:///{settings_dict['NAME']}"
    host, port = settings_dict.get("HOST") or "127.0.0.1", settings_dict.get("PORT") or 5432
    return f"postgres://{settings_dict['USER']}@{host}:{port}/{settings_dict['NAME']}"


def process_env(tmp_path: Path, database: str, media: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DAIOU_") and k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "MEDIA_ROOT"}}
    return {**env, "DATABASE_URL": database, "MEDIA_ROOT": str(media), "DAIOU_VAR_DIR": str(tmp_path / "var")}


# ---- a populated forum -----------------------------------------------------------------------------


def populate(seed_path) -> dict:
    """Everything the archive format does not hold, at least once."""
    import_volume(seed_path.read_text(encoding="utf-8"), "seed")
    info, news = Board.objects.get(slug="info"), Board.objects.exclude(slug="info").first()
    member = UserFactory(username="isozu", profile__display_name="磯津千由紀", profile__handle="寫眞機廢人")
    other = UserFactory(username="shibaken", profile__display_name="シバケン")
    spammer = UserFactory(username="spammer", profile__display_name="宣伝屋")
    newcomer = UserFactory(username="newcomer", profile__display_name="新入り", date_joined=timezone.now())
    moderator = UserFactory(username="moderator", profile__display_name="モデレーター")
    moderator.groups.add(Group.objects.get(name="moderators"))
    keeper = UserFactory(username="keeper", profile__display_name="情報板の番人")
    BoardModerator.objects.create(user=keeper, board=info)
    admin = UserFactory(username="admin", profile__display_name="管理者", is_staff=True, is_superuser=True)
    admin.save()
    for user in (member, other, spammer):  # established: their posts are published at once
        user.user_permissions.add(Permission.objects.get(codename="established"))

    quotes, addresses, names = quoting.quote_mail(MAIL, member)
    quoting.remember(member, addresses, names)
    figure = figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption="偽サイトの画面")
    thread = actions.create_thread(board=info, user=member, title="楽天を名乗るメールが来ました",
                                   fields=actions.PostFields(body="届きました。https://www.nikkei.com/ も見て。",
                                                             quotes=tuple(quotes), figures=(figure,)))
    reply = actions.create_reply(thread=thread, user=other, fields=actions.PostFields(body="うちにも来ました。"))
    actions.edit_post(post=reply, user=other, fields=actions.PostFields(body="うちにも来ました。同じ文面です。"))
    spam = actions.create_reply(thread=thread, user=spammer, fields=actions.PostFields(body="激安ブランド品はこちら"))
    moderation.hide_post(post=spam, actor=moderator, reason="宣伝", category="spam")
    actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body="承認待ちの投稿"), held=True)
    moved = actions.create_thread(board=info, user=other, title="板違いのスレッド",
                                  fields=actions.PostFields(body="ニュースの話です。"))
    old_number = moved.number
    moderation.move_thread(thread=moved, board=news, actor=moderator, reason="ニュース板へ")
    seed_post = Post.objects.filter(format=Post.Format.ARCHIVE).order_by("pk")[3]
    moderation.file_report(reporter=member, reason="personal_data", note="電話番号が出ています", post=seed_post,
                           thread=seed_post.thread)
    moderation.sanction_member(member=spammer, actor=moderator, reason="宣伝ばかり", kind="silence", days=7)
    moderation.ban_address(kind="domain", value="spam.example", actor=moderator, reason="使い捨てドメイン")
    indicator = Indicator.objects.filter(times_seen__gt=0).order_by("pk").first()
    review_indicator(indicator=indicator, actor=moderator, verdict="false_positive", reason="正規の窓口")
    actions.save_draft(user=member, key=f"reply:{thread.pk}", body="書きかけの返信")
    AllowedLinkHost.objects.create(host="example-news.jp", note="テスト")
    return {"thread": thread, "moved": moved, "old_number": old_number, "indicator": indicator, "figure": figure,
            "member": member, "spam": spam, "news": news}


def requests_for(made) -> list:
    thread, moved, indicator = made["thread"], Thread.objects.get(pk=made["moved"].pk), made["indicator"]
    anonymous = ["/", "/info/", f"/{made['news'].slug}/", "/info/vol/70/", "/info/916/", "/info/917/",
                 thread.get_absolute_url(), moved.get_absolute_url(), f"/info/{made['old_number']}/",
                 "/indicators/", f"/indicators/{indicator.pk}/", "/indicators/brands/", "/indicators/brands/rakuten/",
                 "/indicators/export.csv", f"/api/info/{thread.number}.json", "/feeds/info.atom",
                 "/feeds/indicators.atom", "/search/?q=楽天", "/search/?q=同じ文面", "/sitemap.xml",
                 f"/media/figures/{made['figure'].name}"]
    moderator = ["/moderation/", "/moderation/log/", "/moderation/bans/", f"/moderation/post/{made['spam'].pk}/",
                 f"/moderation/member/{made['spam'].author_id}/", f"/indicators/{indicator.pk}/",
                 thread.get_absolute_url()]
    member = [thread.get_absolute_url(), f"/info/{thread.number}/reply/", "/accounts/profile/"]
    return ([(None, url) for url in anonymous] + [("moderator", url) for url in moderator]
            + [("isozu", url) for url in member] + [("keeper", "/moderation/")])


# ---- the round trip ----------------------------------------------------------------------------------


@pytest.fixture
def empty_database(tmp_path):
    """The URL of a database that does not exist yet (PostgreSQL: made empty, dropped afterwards)."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    name = f"daiou_restore_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    yield database_url({**connection.settings_dict, "NAME": name})
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_backup_restored_into_an_empty_database_gives_the_same_pages_and_rows(
        seed_path, tmp_path, settings, empty_database):
    settings.MEDIA_ROOT = tmp_path / "media"
    made = populate(seed_path)
    assert ModerationLog.objects.count() == 4 and ThreadRedirect.objects.count() == 1
    assert PostRevision.objects.exists() and Report.objects.exists() and Ban.objects.count() == 2
    assert IndicatorReview.objects.exists() and Draft.objects.exists() and LearnedRecipient.objects.exists()
    assert made["thread"].posts.first().quote_details, "the quoted mail's metadata is there to keep"
    requests = requests_for(made)
    (tmp_path / "requests.json").write_text(json.dumps(requests))
    before = fetch_pages(requests)
    assert [page["status"] for page in before["pages"]].count(200) == len(requests) - 1  # the moved thread: 301
    shown = {(page["who"], page["url"]): page["body"] for page in before["pages"]}
    # What the restored site must show too: a search hit (the index is rebuilt), the moderators' log.
    assert "うちにも来ました" in shown[None, "/search/?q=同じ文面"]
    assert "moved a thread" in shown["moderator", "/moderation/log/"] and "新入り" in shown["moderator", "/moderation/"]

    source = process_env(tmp_path, database_url(connection.settings_dict), settings.MEDIA_ROOT)
    backup = tmp_path / "backup"
    run(["backup", str(backup)], source)
    manifest = json.loads((backup / MANIFEST).read_text())
    assert manifest["rows"] == {k: v for k, v in before["rows"].items() if k not in EXCLUDED}
    assert manifest["media_files"] == 1 and manifest["volumes"] == Board.objects.get(slug="info").volumes.count() \
        + made["news"].volumes.count() and not manifest["missing_media"]

    restored = process_env(tmp_path, empty_database, tmp_path / "restored-media")
    output = run(["restore", str(backup)], restored)
    assert "restored" in output
    after = json.loads(run([str(tmp_path / "requests.json")], restored, code=FETCH))
    assert after["rows"] == before["rows"]
    for old, new in zip(before["pages"], after["pages"], strict=True):
        assert new == old, f"{old['who']} {old['url']}\n" + "\n".join(difflib.unified_diff(
            old["body"].replace("><", ">\n<").splitlines(), new["body"].replace("><", ">\n<").splitlines()))
    # The restored site goes on: a new post takes the next ids (PostgreSQL's sequences were reset).
    post_code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
                 "from forum import actions; from forum.models import Thread, Post;"
                 "from django.contrib.auth import get_user_model as u;"
                 "t = Thread.objects.get(pk=%d); p = actions.create_reply(thread=t, user=u().objects.get("
                 "username='isozu'), fields=actions.PostFields(body='復元後の返信')); print(p.pk, p.position)"
                 % made["thread"].pk)
    pk, position = map(int, run([], restored, code=post_code).split())
    assert pk == Post.objects.order_by("-pk").first().pk + 1 and position == made["thread"].posts.count() + 1


# ---- refusals: nothing changes -------------------------------------------------------------------------


@pytest.fixture
def small_backup(db, tmp_path, settings, member):
    settings.MEDIA_ROOT = tmp_path / "media"
    figure = figure_actions.store_upload(user=member, image=reencode(image_bytes()), caption="画面")
    actions.create_thread(board=Board.objects.get(slug="info"), user=member, title="題",
                          fields=actions.PostFields(body="本文", figures=(figure,)))
    make_backup(tmp_path / "backup")
    return tmp_path / "backup"


def test_a_backup_holds_every_row_but_the_derived_ones_and_checksums_every_file(small_backup, settings):
    manifest = json.loads((small_backup / MANIFEST).read_text())
    assert set(manifest["rows"]) == {m._meta.label_lower for m in backed_up_models()}
    assert not set(manifest["rows"]) & set(EXCLUDED) and "forum.searchdocument" in EXCLUDED
    assert manifest["rows"]["forum.post"] == 1 and manifest["rows"]["figures.figure"] == 1
    assert manifest["rows"]["moderation.moderationlog"] == 0 and "auth.user_groups" in manifest["rows"]
    with gzip.open(small_backup / DATA, "rt", encoding="utf-8") as stream:
        rows = [json.loads(line) for line in stream]
    models = [row["model"] for row in rows]
    assert len(models) == sum(manifest["rows"].values()) and "forum.searchdocument" not in models
    # Every microsecond (dumpdata's JSON keeps milliseconds only).
    (post,) = [row for row in rows if row["model"] == "forum.post"]
    assert post["fields"]["posted_at"] == Post.objects.get().posted_at.isoformat()
    figure_file = next(name for name in manifest["files"] if name.startswith("media/figures/"))
    assert (small_backup / figure_file).read_bytes() == (Path(settings.MEDIA_ROOT) / figure_file[6:]).read_bytes()
    assert manifest["files"][figure_file]["sha256"] == Path(figure_file).stem  # files are named by their hash
    assert manifest["migrations"]["forum"][-1] == sorted(manifest["migrations"]["forum"])[-1]
    assert small_backup.stat().st_mode & 0o077 == 0, "password hashes and addresses: the owner's only"


def test_a_volume_the_archive_format_cannot_hold_is_listed_and_its_rows_kept(small_backup, member, tmp_path):
    Board.objects.filter(slug="chat").update(name="雑 談")  # a name with a space cannot head a page
    actions.create_thread(board=Board.objects.get(slug="chat"), user=member, title="雑談", fields=actions.PostFields(
        body="こんにちは"))
    manifest = make_backup(tmp_path / "second")
    assert list(manifest["archive_errors"]) == ["chat-00001.txt"] and "spaces" in manifest["archive_errors"][
        "chat-00001.txt"]
    assert manifest["rows"]["forum.thread"] == 2 and manifest["volumes"] == 1
    # What the restore checks: the same volumes written, the same ones not.
    assert compare_archive(tmp_path / "second", manifest) == []
    assert compare_archive(tmp_path / "second", {**manifest, "archive_errors": {}}) == ["chat-00001.txt"]


def test_a_backup_never_writes_into_a_folder_that_has_files(small_backup, tmp_path):
    with pytest.raises(BackupError, match="not an empty folder"):
        make_backup(small_backup)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".backup.partial")]


def test_restore_refuses_a_database_that_is_not_empty(small_backup):
    with pytest.raises(BackupError, match="not empty .*auth.user: 1"):
        restore_backup(small_backup)
    assert Post.objects.count() == 1


def test_restore_refuses_a_damaged_or_foreign_backup_before_changing_anything(small_backup):
    figure = next(small_backup.glob("media/figures/*/*"))
    figure.write_bytes(figure.read_bytes() + b"x")
    with pytest.raises(BackupError, match="changed or damaged"):
        restore_backup(small_backup)
    figure.unlink()
    with pytest.raises(BackupError, match="missing"):
        restore_backup(small_backup)
    manifest = json.loads((small_backup / MANIFEST).read_text())
    manifest["migrations"]["forum"].append("0099_from_the_future")
    manifest["files"] = {DATA: manifest["files"][DATA]}
    (small_backup / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="0099_from_the_future"):
        restore_backup(small_backup)
    manifest["files"] = {"../../etc/passwd": {"bytes": 1, "sha256": "0"}}
    (small_backup / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match="outside the backup"):
        restore_backup(small_backup)
    (small_backup / MANIFEST).unlink()
    with pytest.raises(BackupError, match="no manifest.json"):
        restore_backup(small_backup)
    assert Post.objects.count() == 1


def test_rows_that_do_not_match_the_manifest_leave_the_database_as_it_was(small_backup):
    manifest = json.loads((small_backup / MANIFEST).read_text())
    boards = list(Board.objects.values_list("slug", flat=True))
    with pytest.raises(BackupError, match="forum.post 1/2"):
        load_rows(small_backup / DATA, {**manifest["rows"], "forum.post": 2})
    # The tables were emptied and refilled inside one transaction: rolled back whole.
    assert list(Board.objects.values_list("slug", flat=True)) == boards and Post.objects.count() == 1
