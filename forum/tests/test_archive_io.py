import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings, strategies as st

from forum import actions
from forum.archive.member_body import check_member_body
from forum.archive.volume import ArchiveError
from forum.archive_io import ImportRefused, import_volume, volume_page
from forum.forms import SignupForm
from forum.models import ArchiveAuthor, Board, Post, Thread, Volume
from forum.tests import factories

pytestmark = pytest.mark.django_db
JAPAN = ZoneInfo("Asia/Tokyo")
REPAIRED_LINE = 611  # the header that lost its 【
REDACTED_LINES = {376: "To: xxxx <xxxx@xxxx.name>", 439: "xxxx様"}  # `To: chiyuki <…>`, `chiyuki様`
FIXTURES = Path(__file__).parent / "archive_fixtures"


def snapshot():
    return (list(Thread.objects.values_list("board_id", "number", "title", "post_count").order_by("pk")),
            list(Post.objects.values_list("thread_id", "position", "source", "html").order_by("pk")),
            list(Volume.objects.values_list("number", "archive_layout").order_by("pk")),
            list(Board.objects.values_list("last_thread_number", "last_volume_number").order_by("pk")))


@pytest.fixture
def seed_text(seed_path):
    return seed_path.read_text(encoding="utf-8")


def test_the_seed_imports_to_two_threads_with_their_posts(seed_text):
    report = import_volume(seed_text, "seed")
    assert report.created == {"volume": 1, "thread": 2, "post": 16}
    no916 = Thread.objects.get(number=916)
    no917 = Thread.objects.get(number=917)
    assert (no916.title, no916.originator_name, str(no916.started_on), no916.post_count) == \
        ("楽天市場を名乗るフィッシングメール", "磯津千由紀", "2020-09-08", 4)
    assert (no917.title, no917.originator_name, no917.post_count) == \
        ("<ドコモ口座>第三者の不正な預金引き出し発覚", "シバケン", 12)
    first = no916.posts.get(position=1)
    assert (first.author_name, first.handle, first.device, first.os) == \
        ("磯津千由紀", "寫眞機廢人", "ProOne 600 G1 AiO", "Win10Pro64")
    assert first.posted_at == datetime(2020, 9, 8, 14, 54, tzinfo=JAPAN)
    assert no916.posts.get(position=4).device == "ProOne 600 G1 AiO"
    repaired = no917.posts.get(posted_at=datetime(2020, 9, 11, 23, 34, tzinfo=JAPAN))
    assert (repaired.author_name, repaired.handle, repaired.device, repaired.subtitle) == \
        ("シバケン", "", "", "早速にも、便乗メール=迷惑メール")
    assert any(f"line {REPAIRED_LINE}" in line for line in report.repaired)
    board = Board.objects.get(slug="info")
    # The page links to 情報NO.71: Daiou's own threads go to volume 72 and NO.918.
    assert (board.last_volume_number, board.last_thread_number) == (71, 917)
    assert Volume.objects.get(number=70).imported


def test_export_reproduces_the_seed_byte_for_byte_but_the_repaired_lines(seed_text):
    report = import_volume(seed_text, "seed")
    exported = volume_page(Volume.objects.get(number=70))
    original_lines = seed_text.split("\n")
    exported_lines = exported.split("\n")
    assert len(original_lines) == len(exported_lines)
    differing = [i + 1 for i, (a, b) in enumerate(zip(original_lines, exported_lines)) if a != b]
    assert differing == sorted([REPAIRED_LINE, *REDACTED_LINES])
    assert [int(line.split(":")[0].removeprefix("line ")) for line in report.repaired] == differing
    assert exported_lines[REPAIRED_LINE - 1] == "【シバケン】 2020/09/11 (Fri) 23:34"
    for number, redacted in REDACTED_LINES.items():
        assert exported_lines[number - 1] == redacted
    expected = (seed_text.replace("\nシバケン】", "\n【シバケン】")
                .replace("\nTo: chiyuki <", "\nTo: xxxx <").replace("\nchiyuki様\n", "\nxxxx様\n"))
    assert exported.encode() == expected.encode()


def test_recipients_in_the_seeds_quotes_are_redacted_everywhere_and_reported_without_the_name(
        seed_text, client, django_capture_on_commit_callbacks):
    from forum.models import SearchDocument
    from incidents.models import Indicator, QuotedMail, Sighting

    with django_capture_on_commit_callbacks(execute=True):  # indicators and search index, as on the site
        report = import_volume(seed_text, "seed")
    assert [line for line in report.repaired if "recipient's name" in line] == [
        "line 376: quoted mail: recipient's name redacted → 'To: xxxx <xxxx@xxxx.name>'",
        "line 439: quoted mail: recipient's name redacted → 'xxxx様'",
    ]
    assert "chiyuki" not in "\n".join(report.lines())
    stored = [str(row) for row in Post.objects.values_list("source", "blocks", "html")]
    stored += [str(row) for row in SearchDocument.objects.values_list("head", "body")]
    stored += [str(row) for row in QuotedMail.objects.values_list("subject", "sender_name", "sender")]
    stored += [str(row) for row in Indicator.objects.values_list("value", "written", "defanged")]
    stored += [str(row) for row in Sighting.objects.values_list("written", flat=True)]
    assert QuotedMail.objects.exists() and SearchDocument.objects.exists(), "the receivers ran"
    assert not [row for row in stored if "chiyuki" in row.casefold()]
    page = client.get("/info/916/").content.decode()
    assert "chiyuki" not in page and "xxxx様" in page
    # Author names in post headers are not recipients: they stay as written.
    assert Post.objects.filter(author_name="磯津千由紀", handle="寫眞機廢人").count() == seed_text.count("\n【磯津千由紀(寫眞機廢人)@")


def test_reimporting_changes_nothing_and_duplicates_nothing(seed_text):
    first = import_volume(seed_text, "seed")
    before = snapshot()
    report = import_volume(seed_text, "seed")
    assert report.created == report.updated == {"volume": 0, "thread": 0, "post": 0}
    assert report.unchanged == {"volume": 1, "thread": 2, "post": 16}
    assert not report.conflicts
    assert report.repaired == first.repaired  # the page still holds what was redacted
    assert snapshot() == before


def test_dry_run_reports_without_writing(seed_text):
    before = snapshot()
    report = import_volume(seed_text, "seed", dry_run=True)
    assert report.created["post"] == 16
    assert snapshot() == before
    assert report.repaired == import_volume(seed_text, "seed").repaired
    assert len(report.repaired) == 1 + len(REDACTED_LINES)


def test_a_post_imported_before_redaction_is_redacted_by_a_reimport(seed_text):
    import_volume(seed_text, "seed")
    post = Post.objects.get(source__contains="To: xxxx <xxxx@xxxx.name>\nCc:\nSubject: [楽天]利用規約違反")
    # As an import before the safe-quoting rules stored it.
    Post.objects.filter(pk=post.pk).update(source=post.source.replace("To: xxxx <", "To: chiyuki <"))
    report = import_volume(seed_text, "seed")
    assert report.updated["post"] == 1 and not report.conflicts
    assert not Post.objects.filter(source__contains="chiyuki").exists()


def test_a_changed_page_updates_posts_not_edited_on_daiou(seed_text):
    import_volume(seed_text, "seed")
    changed = seed_text.replace(" こんにちは。", " こんにちは!", 1)
    report = import_volume(changed, "seed")
    assert report.updated["post"] == 1
    assert Post.objects.get(thread__number=916, position=1).source.startswith(" こんにちは!")


def test_a_post_edited_or_hidden_on_daiou_is_never_overwritten(seed_text):
    import_volume(seed_text, "seed")
    Post.objects.filter(thread__number=916, position=1).update(hidden=True)
    report = import_volume(seed_text.replace(" こんにちは。", " 上書き", 1), "seed")
    assert report.conflicts and "NO.916 post 1" in report.conflicts[0]
    assert Post.objects.get(thread__number=916, position=1).source.startswith(" こんにちは。")


def test_a_thread_number_written_on_daiou_is_refused_and_nothing_is_written(seed_text, member):
    Board.objects.filter(slug="info").update(last_thread_number=915)
    factories.thread(user=member, title="Daiou の NO.916")
    before = snapshot()
    with pytest.raises(ImportRefused, match="NO.916 collides"):
        import_volume(seed_text, "seed")
    assert snapshot() == before


@pytest.mark.parametrize("text", [
    "", "<html><body>not a volume</body></html>", "ただの文章です。\n二行目。\n",
    "情報<NO.70>\n\nごみ\n\x00\x01\n", "\ufeff" * 3,
])
def test_a_page_that_is_not_a_volume_page_is_refused_and_nothing_is_written(text):
    before = snapshot()
    with pytest.raises(ArchiveError, match="line"):
        import_volume(text, "bad.txt")
    assert snapshot() == before


def test_the_command_imports_folders_reports_and_fails_clearly(seed_path, tmp_path, capsys):
    (tmp_path / "bad.txt").write_text("not a page\n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError, match="2 file"):
        call_command("import_archive", str(seed_path), str(tmp_path))
    captured = capsys.readouterr()
    assert "created 1 volumes, 2 threads, 16 posts" in captured.out
    assert "bad.txt, line 1" in captured.err and "not UTF-8" in captured.err
    assert "repaired line 376: quoted mail: recipient's name redacted" in captured.out
    assert "chiyuki" not in captured.out + captured.err
    assert Thread.objects.count() == 2
    call_command("import_archive", "--dry-run", str(seed_path))
    assert "(dry run)" in capsys.readouterr().out


def test_the_export_command_writes_one_volume_or_all(seed_path, tmp_path):
    call_command("import_archive", str(seed_path), stdout=io.StringIO())
    call_command("export_archive", "info", "70", "-o", str(tmp_path / "70.txt"))
    assert (tmp_path / "70.txt").read_text(encoding="utf-8").startswith("情報<NO.70>\n")
    call_command("export_archive", "--all", str(tmp_path / "all"), stdout=io.StringIO())
    assert [p.name for p in (tmp_path / "all").iterdir()] == ["info-00070.txt"]
    with pytest.raises(CommandError):
        call_command("export_archive", "info", "99")


def test_threads_written_on_daiou_export_and_import_back_identically(member, other_member, tmp_path):
    thread = factories.thread(user=member, title="<新手口>楽天を名乗るSMS", subtitle="副題", body="本文\n\n【注意】\n<!>",
                              device="iPhone", os="iOS 18")
    actions.create_reply(thread=thread, user=other_member, fields=actions.PostFields(body="> 引用風の行\n返信"))
    first = volume_page(thread.volume)
    # Into an empty database: the volume comes back as an archive page and writes the same.
    Post.objects.all().delete(); Thread.objects.all().delete(); Volume.objects.all().delete()
    Board.objects.update(last_thread_number=0, last_volume_number=0)
    import_volume(first, "exported")
    assert volume_page(Volume.objects.get()) == first


def test_imported_author_names_are_reserved(seed_text):
    import_volume(seed_text, "seed")
    assert set(ArchiveAuthor.objects.values_list("name", "handle")) >= {("磯津千由紀", "寫眞機廢人"), ("シバケン", "")}
    for name in ("磯津千由紀", "寫眞機廢人", "ｼﾊﾞｹﾝ"):
        form = SignupForm({"username": "someone", "display_name": name, "email": "a@example.org",
                           "password1": "long pass phrase 1", "password2": "long pass phrase 1"})
        assert not form.is_valid() and "display_name" in form.errors, name


def test_thread_page_shows_the_structure_of_imported_posts(client, seed_text):
    import_volume(seed_text, "seed")
    page = client.get("/info/916/").content.decode()
    assert page.count('class="mail-quote"') == 11  # eight in the first post, one in each other
    assert "hxxps://grp01[.]id[.]rakuten[.]co[.]jp[.]baby/" in page
    assert "https://grp01" not in page and "<a href=\"https://" not in page
    assert '<table class="mail-headers">' in page and "&lt;以下省略&gt;" in page
    assert "&lt;HTML xmlns=" in page, "HTML source is shown as text"
    page917 = client.get("/info/917/").content.decode()
    assert page917.count('<blockquote class="news">') >= 5
    assert 'class="deadlink"' in page917 and "figure-placeholder" in page917 and "&lt;図1&gt;" in page917
    assert '<p class="note">&lt;注=ドコモ発表&gt;</p>' in page917
    assert "<図>" not in page917


def test_the_thread_page_of_an_import_runs_a_fixed_number_of_queries(client, seed_text, django_assert_num_queries):
    import_volume(seed_text, "seed")
    with django_assert_num_queries(3):  # the version (for the page cache), the thread, its posts
        client.get("/info/917/")


member_text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffd"), max_size=200)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=member_text.filter(lambda t: t.strip() and not check_member_body(t)))
def test_any_body_a_member_can_submit_survives_export_import_export(member, body):
    from forum.forms import BodyField

    body = BodyField(max_length=100_000).clean(body)
    Post.objects.all().delete(); Thread.objects.all().delete(); Volume.objects.all().delete()
    Board.objects.update(last_thread_number=0, last_volume_number=0)
    thread = factories.thread(user=member, body=body)
    first = volume_page(thread.volume)
    Post.objects.all().delete(); Thread.objects.all().delete(); Volume.objects.all().delete()
    import_volume(first, "exported")
    assert volume_page(Volume.objects.get()) == first


def test_an_admin_links_spellings_and_a_member_account(seed_text, admin_client, member):
    import_volume(seed_text, "seed")
    spelling = ArchiveAuthor.objects.get(name="磯津千由紀", handle="寫眞機廢人")
    other = ArchiveAuthor.objects.get(name="磯津千由紀", handle="")
    response = admin_client.post(f"/admin/forum/archiveauthor/{other.pk}/change/",
                                 {"name": other.name, "handle": "", "same_as": spelling.pk, "member": member.pk})
    assert response.status_code == 302
    other.refresh_from_db()
    assert (other.same_as, other.member) == (spelling, member)
    # The linked member may take the name; anybody else may not.
    from forum.forms import ProfileForm

    assert not ProfileForm({"display_name": "磯津千由紀"}, instance=member.profile).is_valid()
    ArchiveAuthor.objects.filter(name="磯津千由紀").update(member=member)
    assert ProfileForm({"display_name": "磯津千由紀"}, instance=member.profile).is_valid()
    assert not SignupForm({"username": "x", "display_name": "磯津千由紀", "email": "x@example.org",
                           "password1": "long pass phrase 1", "password2": "long pass phrase 1"}).is_valid()


@pytest.mark.parametrize("name", ["author_spellings.txt", "extra_site_line.txt", "full_width.txt",
                                  "header_variants.txt", "no_final_newline.txt", "odd_layout.txt",
                                  "title_brackets.txt", "recipients.txt"])
def test_every_messy_fixture_page_imports_and_exports_back(name):
    from forum.archive.safe_quotes import redact_quotes
    from forum.archive.volume import parse_volume

    text = (FIXTURES / name).read_text(encoding="utf-8")
    board_name = parse_volume(text).board
    if not Board.objects.filter(name=board_name).exists():
        Board.objects.create(name=board_name, slug="fixture")
    report = import_volume(text, name)
    assert report.created["post"] > 0
    exported = volume_page(Volume.objects.get())
    repaired = {r.line for r in redact_quotes(parse_volume(text)).repairs}
    assert len(report.repaired) == len(repaired)
    original, written = text.split("\n"), exported.split("\n")
    assert [i + 1 for i, (a, b) in enumerate(zip(original, written)) if a != b] == sorted(repaired) or \
        exported.replace("\r\n", "\n") == text.replace("\r\n", "\n")
    again = import_volume(exported, name)
    assert again.created["post"] == again.updated["post"] == 0 and not again.conflicts


RECIPIENT_SECRETS = ("hanako.yamada", "Hanako Yamada", "Yamada", "kenji.sato", "4111 1111 1111 1111", "example.jp",
                     "example.ne.jp")


def import_recipients_fixture():
    Board.objects.create(name="情報" if not Board.objects.filter(name="情報").exists() else "x", slug="x-fixture")
    text = (FIXTURES / "recipients.txt").read_text(encoding="utf-8")
    return text, import_volume(text, "recipients.txt")


def test_recipient_names_addresses_and_card_numbers_in_imported_quotes_are_redacted(
        client, django_capture_on_commit_callbacks):
    from forum.models import SearchDocument
    from incidents.models import Indicator, QuotedMail, Sighting

    with django_capture_on_commit_callbacks(execute=True):
        text, report = import_recipients_fixture()
    assert report.repaired == [
        "line 22: quoted mail: recipient's address and recipient's name redacted → 'To: xxxx <xxxx@xxxx.name>'",
        "line 23: quoted mail: recipient's address redacted → 'Cc: xxxx@xxxx.name'",
        "line 24: quoted mail: recipient's name redacted → 'Subject: xxxx様 ご利用確認のお願い'",
        "line 28: quoted mail: recipient's name redacted → 'xxxx様'",
        "line 30: quoted mail: card number (last four digits kept) redacted → "
        "'ご利用のカード **** **** **** 1111 に不正利用の疑いがあります。'",
        "line 31: quoted mail: recipient's address redacted → '同じ内容を xxxx@xxxx.name 様にもお送りしています。'",
        "line 34: quoted mail: recipient's address redacted → "
        "'https://smbc-card-verify.top/login?mail=xxxx@xxxx.name'",
        # A name learned from one of Hanako's quotes is redacted in all of Hanako's quotes.
        "line 68: quoted mail: recipient's name redacted → 'xxxx 様'",
    ]
    stored = [str(row) for row in Post.objects.values_list("source", "blocks", "html")]
    stored += [str(row) for row in SearchDocument.objects.values_list("head", "body")]
    stored += [str(row) for row in QuotedMail.objects.values_list("subject", "sender_name", "sender")]
    stored += [str(row) for row in Indicator.objects.values_list("value", "written", "defanged")]
    stored += [str(row) for row in Sighting.objects.values_list("written", flat=True)]
    assert Indicator.objects.filter(value__contains="smbc-card-verify.top").exists(), "the receivers ran"
    page = client.get(f"/{Board.objects.get(slug='x-fixture').slug}/50/").content.decode()
    for secret in RECIPIENT_SECRETS:
        assert not [row for row in stored if secret in row], secret
        assert secret not in page and secret not in "\n".join(report.lines()), secret
    # Forum names in headers, words that merely contain a local part, and generic salutations stay.
    assert set(Post.objects.values_list("author_name", flat=True)) == {"Hanako", "佐藤"}
    first = Post.objects.get(thread__number=50, position=1).source
    assert "kenjiro様、announcement、お客様各位の皆様へ。" in first and "From: 三井住友カード <info@smbc-card-verify" in first
    assert "\nお客様\n" in Post.objects.get(thread__number=50, position=2).source
    assert "カード番号末尾 1111 のカード" in Post.objects.get(thread__number=50, position=3).source


def test_redacted_imports_export_byte_for_byte_but_the_repaired_lines_and_reimport_idempotently():
    text, report = import_recipients_fixture()
    before = snapshot()
    exported = volume_page(Volume.objects.get(number=5))
    repaired = [int(line.split(":")[0].removeprefix("line ")) for line in report.repaired]
    original, written = text.split("\n"), exported.split("\n")
    assert len(original) == len(written)
    assert [i + 1 for i, (a, b) in enumerate(zip(original, written)) if a != b] == repaired
    again = import_volume(text, "recipients.txt")
    assert (again.created, again.updated, again.conflicts) == ({"volume": 0, "thread": 0, "post": 0},) * 2 + ([],)
    assert again.repaired == report.repaired and snapshot() == before
    dry = import_volume(text, "recipients.txt", dry_run=True)
    assert dry.repaired == report.repaired and snapshot() == before
    # The export is what was stored: importing it finds nothing left to redact.
    assert import_volume(exported, "exported").repaired == []


def test_a_redaction_that_would_change_how_the_page_reads_is_refused_and_nothing_is_written():
    Board.objects.create(name="x", slug="x-fixture")
    text = (FIXTURES / "recipients.txt").read_text(encoding="utf-8").replace(
        "To: Hanako Yamada <hanako.yamada@example.jp>", "To: abc【def <x@example.jp>").replace(
        "kenjiro様、", "abc【def】 2021/03/01 (Mon) 09:00\n")
    before = snapshot()
    with pytest.raises(ArchiveError, match=r"recipients.txt, line 32: .* would make it read as a post header"):
        import_volume(text, "recipients.txt")
    assert snapshot() == before


@pytest.mark.parametrize("name", ["empty.txt", "garbage_after_board_line.txt", "not_volume.html",
                                  "random_text.txt", "thread_without_header.txt"])
def test_messy_fixture_pages_that_are_not_volumes_are_refused(name):
    before = snapshot()
    with pytest.raises(ArchiveError, match="line"):
        import_volume((FIXTURES / name).read_text(encoding="utf-8"), name)
    assert snapshot() == before


def shared_scam_page(board: str, number: int, start: datetime) -> str:
    """A volume of 3 threads × 3 posts whose quotes share a look-alike host, a sender on nobody's
    domain and a contact phone (no host names its brand: the quotes' brands decide)."""
    from datetime import timedelta

    from forum.archive import volume as v

    threads = []
    for t in range(3):
        posts = []
        for p in range(3):
            when = start + timedelta(hours=10 * t + p)
            brand = "Amazon" if (t + p + number) % 3 else "楽天市場"  # most quotes name the later brand
            body = (f"また来ました。\n\n\n********** 以下引用 **********\n\nFrom: 【{brand}】 <info@mail-notice.top>\n"
                    f"To: xxxx <xxxx@xxxx.name>\nSubject: 【{brand}】ご本人様確認\n\n\nお客様\n"
                    f"https://rakuten-login.top/verify?id={number}{t}{p}\n電話番号 : 090-3034-1000 までお電話ください")
            posts.append(v.Post(name="山田", posted_at=when, body=body))
        threads.append(v.Thread(number=number * 10 + t, title="楽天を名乗るメール", originator="山田",
                                started=posts[0].posted_at.date(), posts=posts))
    return v.write_volume(v.Volume(board=board, number=number, threads=threads, title_rows=v.title_rows_for(threads)))


def test_indicators_taken_in_page_by_page_in_any_order_are_what_a_rebuild_counts(
        monkeypatch, django_capture_on_commit_callbacks):
    """Each page's posts only add sightings, so the indicators they touch take them in (counts,
    dates, roles, latest threads, brand) instead of being counted again from every sighting;
    out of order (older pages after newer ones, a second board on the same dates) included."""
    from forum.corpus import CorpusWriter
    from incidents.indexing import rebuild
    from incidents.models import Indicator

    monkeypatch.setattr(Indicator, "THREADS_KEPT", 4)  # so the latest threads are a choice
    pages = [page for board in ("情報", "雑談") for _, page in
             CorpusWriter(seed=7).pages(board, 4, threads_per_volume=3, posts_per_thread=4)]
    pages += [shared_scam_page("情報", number, datetime(2021, 1, day)) for number, day in ((50, 20), (51, 5), (52, 12))]
    pages += [shared_scam_page("雑談", 50, datetime(2021, 1, 8))]
    for index in (2, 8, 0, 7, 3, 11, 5, 1, 9, 6, 4, 10):
        with django_capture_on_commit_callbacks(execute=True):
            import_volume(pages[index], f"page {index}")

    def state():
        return sorted(Indicator.objects.values_list(
            "key", "times_seen", "post_count", "roles", "first_seen", "last_seen", "thread_ids", "assessment",
            "brand_id", "exported"))

    taken_in = state()
    shared = Indicator.objects.filter(value__in=["rakuten-login.top", "info@mail-notice.top", "+819030341000"])
    assert sorted(shared.values_list("post_count", flat=True)) == [36, 36, 36]  # 12 threads, 4 pages
    assert all(len(ids) == 4 for ids in shared.values_list("thread_ids", flat=True))
    assert set(shared.exclude(value="rakuten-login.top").values_list("brand__slug", flat=True)) == {"amazon"}
    rebuild()
    assert state() == taken_in


# ---- many pages at once: import_volumes --------------------------------------------------------


def corpus_pages(volumes: int, board: str = "情報") -> list[tuple[str, object]]:
    from forum.corpus import CorpusWriter

    return [(f"{board}NO.{volume.number}", lambda page=page: page)
            for volume, page in CorpusWriter(seed=3).pages(board, volumes, threads_per_volume=2, posts_per_thread=3)]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_are_committed_together_and_a_refused_page_rolls_back_alone():
    from forum.archive_io import import_volumes
    from forum.signals import posts_changed

    heard = []

    def receiver(sender, post_ids, **kwargs):
        heard.append(sorted(post_ids))

    pages = corpus_pages(5)

    def refused():
        raise ArchiveError("broken.txt: byte 3: not UTF-8 text")

    pages.insert(2, ("broken.txt", refused))
    pages.insert(4, ("html.txt", lambda: "<html>not a page</html>\n"))
    posts_changed.connect(receiver)
    try:
        outcomes = list(import_volumes(pages, posts_per_commit=12, background=False))
    finally:
        posts_changed.disconnect(receiver)
    assert [source for source, _ in outcomes] == [source for source, _ in pages]
    refused_sources = [source for source, outcome in outcomes if isinstance(outcome, ArchiveError)]
    assert refused_sources == ["broken.txt", "html.txt"]
    assert Thread.objects.count() == 10 and Post.objects.count() == 30
    # Two pages (12 posts) per commit: the receivers hear each commit's posts as one batch.
    assert [len(ids) for ids in heard] == [12, 12, 6]
    assert sorted(pk for ids in heard for pk in ids) == sorted(Post.objects.values_list("pk", flat=True))


def test_a_page_that_fails_half_way_leaves_nothing_of_itself_but_the_batch_goes_on(seed_text, member):
    from forum.archive_io import import_volumes

    Board.objects.filter(slug="info").update(last_thread_number=915)
    factories.thread(user=member, title="Daiou の NO.916")
    outcomes = list(import_volumes([("clash.txt", lambda: seed_text), *corpus_pages(1, board="雑談")],
                                   background=False))
    assert isinstance(outcomes[0][1], ImportRefused)
    assert "NO.916 collides" in str(outcomes[0][1])
    assert not isinstance(outcomes[1][1], ArchiveError), str(outcomes[1][1])
    assert outcomes[1][1].created["post"] == 6
    assert not Thread.objects.filter(number=917).exists(), "nothing of the refused page stays"
    assert Thread.objects.filter(imported=True).count() == 2
