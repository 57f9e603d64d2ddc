"""Fuzzing the archive importer with the seed volume page, damaged (issue 9, point 5).

Any page parses or is refused with ArchiveError (naming source and line), within the time cap;
an import that is refused leaves the database exactly as it was; one that succeeds leaves the
counters right."""
import pytest
from hypothesis import event, example, given

from forum import actions, counters
from forum.archive.volume import ArchiveError, parse_volume, write_volume
from forum.archive_io import MAX_PAGE_BYTES, import_volume
from forum.models import ArchiveAuthor, Board, Post, Thread, Volume
from forum.tests import factories
from incidents.tests.fuzzing import fuzz_settings, mutated, seed_volume, small_text, time_cap

PAGES = mutated([seed_volume()])


@fuzz_settings()
@given(PAGES | small_text())
@example("")
@example("\ufeff")
@example("情報<NO.70>\n")
@example(seed_volume().replace("\n", "\r"))
def test_any_page_parses_or_is_refused_with_archive_error(text):
    with time_cap():
        try:
            volume = parse_volume(text, "fuzz.txt")
        except ArchiveError as refusal:
            assert str(refusal).startswith("fuzz.txt")
            event("refused")
            return
        event("parsed")
        try:
            written = write_volume(volume)
        except ArchiveError:
            return  # parsed, but not writable back as it stands: refused, named
        parse_volume(written, "written.txt")  # what Daiou writes reads back


def database_state() -> list:
    """Every row the importer writes, every column."""
    return [list(model.objects.order_by("pk").values_list()) for model in (Board, Volume, Thread, Post, ArchiveAuthor)]


@pytest.fixture
def archive_with_history(member):
    """The seed imported, one post hidden since (a conflict for a changed page), and a thread
    written on Daiou (a collision for a page that claims its number)."""
    import_volume(seed_volume(), "seed.txt")
    Post.objects.filter(format=Post.Format.ARCHIVE).order_by("pk").filter(position=2).update(hidden=True)
    factories.thread(user=member, title="大王で書いたスレッド")
    return Board.objects.get(slug="info")


@pytest.mark.django_db
@fuzz_settings(share=0.25)
@given(PAGES)
@example(seed_volume().replace("NO.916", "NO.918", 1))  # the thread NO. Daiou gave
@example(seed_volume().replace("情報<NO.70>", "情報<NO.71>", 1))  # the thread moves volume
@example(seed_volume().replace("情報<NO.70>", "未知<NO.70>", 1))  # no such board
def test_an_import_is_whole_or_changes_nothing(archive_with_history, text):
    before = database_state()
    with time_cap():
        try:
            import_volume(text, "fuzz.txt")
        except ArchiveError as refusal:
            assert str(refusal).startswith("fuzz.txt")
            assert database_state() == before
            event(f"refused: {type(refusal).__name__}")
            return
    event("imported")
    assert counters.rebuild_counters() == {"threads": 0, "volumes": 0}
    board = Board.objects.get(slug="info")
    assert board.last_thread_number >= max(board.threads.values_list("number", flat=True))
    # Daiou's own thread is never touched by an import.
    assert Thread.objects.get(title="大王で書いたスレッド").posts.get().format == Post.Format.MARKDOWN


@pytest.mark.django_db
def test_an_oversized_page_is_refused_with_a_clear_message():
    before = database_state()
    text = seed_volume() + "あ" * (MAX_PAGE_BYTES // 3)
    with pytest.raises(ArchiveError, match="larger than 50 MB"):
        import_volume(text, "huge.txt")
    assert database_state() == before


@pytest.mark.django_db
@pytest.mark.parametrize("bad, what", [("\x00", "a NUL character"), ("\ud800", "a lone surrogate")])
def test_a_page_holding_what_no_database_stores_is_refused_naming_the_line(bad, what):
    # Found by the fuzzer: PostgreSQL refused the NUL with a DataError half-way through the import.
    before = database_state()
    text = seed_volume().replace("こんにちは", f"こん{bad}にちは", 1)
    line = seed_volume().split("\n").index(next(l for l in seed_volume().split("\n") if "こんにちは" in l)) + 1
    with pytest.raises(ArchiveError, match=f"^bad.txt: line {line}: holds .*{what}"):
        import_volume(text, "bad.txt")
    assert database_state() == before


@pytest.mark.django_db
def test_a_value_longer_than_its_column_is_refused_before_anything_is_written():
    # Found by the fuzzer on PostgreSQL: a title over 200 characters failed half-way through the
    # import with a DataError (SQLite kept it whole).
    before = database_state()
    text = seed_volume().replace("楽天市場を名乗るフィッシングメール", "楽" * 201)
    with pytest.raises(ArchiveError, match="^long.txt: thread NO.916: the title has 201 characters, more than the 200"):
        import_volume(text, "long.txt")
    text = seed_volume().replace("【シバケン】", "【" + "シ" * 101 + "】")
    with pytest.raises(ArchiveError, match=r"^long.txt: line \d+: the name has 101 characters"):
        import_volume(text, "long.txt")
    assert database_state() == before
