import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from forum import actions
from forum.counters import rebuild_counters
from forum.models import RESERVED_BOARD_SLUGS, Board, Post, Profile, Thread, Volume, name_key
from forum.tests import factories

pytestmark = pytest.mark.django_db


def test_default_boards_come_from_the_data_migration():
    assert list(Board.objects.values_list("name", "slug")) == [("情報", "info"), ("雑談", "chat")]


@pytest.mark.parametrize("slug", sorted(RESERVED_BOARD_SLUGS))
def test_a_board_slug_may_not_shadow_the_sites_own_paths(slug):
    with pytest.raises(ValidationError):
        Board.objects.create(name=f"b-{slug}", slug=slug)


def test_reserved_slugs_are_refused_by_the_database_too():
    with pytest.raises(IntegrityError), transaction.atomic():
        Board.objects.bulk_create([Board(name="管理", slug="admin")])


def test_thread_numbers_follow_the_highest_known_number_and_are_never_reused(member):
    board = factories.board()
    Board.objects.filter(pk=board.pk).update(last_thread_number=917)
    first = factories.thread(user=member)
    second = factories.thread(user=member)
    assert (first.number, second.number) == (918, 919)
    second.delete()
    assert factories.thread(user=member).number == 920


def test_a_new_volume_opens_when_the_newest_is_full(member):
    board = factories.board()
    board.threads_per_volume = 3
    board.save()
    numbers = [factories.thread(user=member).volume.number for _ in range(7)]
    assert numbers == [1, 1, 1, 2, 2, 2, 3]
    assert list(Volume.objects.filter(board=board).order_by("number").values_list("thread_count", flat=True)) == [3, 3, 1]


def test_threads_written_on_daiou_never_go_into_an_imported_volume(member):
    board = factories.board()
    Volume.objects.create(board=board, number=70, imported=True)
    # An archive page of volume 70 names 情報NO.71 as newer: Daiou's own volumes come after it.
    Board.objects.filter(pk=board.pk).update(last_volume_number=71, last_thread_number=917)
    thread = factories.thread(user=member)
    assert (thread.volume.number, thread.number) == (72, 918)
    assert not thread.volume.imported


def test_a_volume_never_changes_once_given(member):
    board = factories.board()
    board.threads_per_volume = 1
    board.save()
    first = factories.thread(user=member)
    factories.thread(user=member)
    first.refresh_from_db()
    assert first.volume.number == 1


def test_post_positions_and_counters(member, other_member):
    thread = factories.thread(user=member, replies=2)
    post = actions.create_reply(thread=thread, user=other_member, fields=actions.PostFields(body="三つ目"))
    thread.refresh_from_db()
    assert post.position == 4
    assert (thread.post_count, thread.last_position, thread.last_posted_at) == (4, 4, post.posted_at)
    assert list(thread.posts.values_list("position", flat=True)) == [1, 2, 3, 4]


def test_rebuild_counters_repairs_what_went_wrong(member):
    thread = factories.thread(user=member, replies=4)
    Thread.objects.filter(pk=thread.pk).update(post_count=99, last_position=1)
    Volume.objects.filter(pk=thread.volume_id).update(thread_count=7)
    assert rebuild_counters() == {"threads": 1, "volumes": 1}
    thread.refresh_from_db()
    thread.volume.refresh_from_db()
    assert (thread.post_count, thread.last_position, thread.volume.thread_count) == (5, 5, 1)
    assert rebuild_counters() == {"threads": 0, "volumes": 0}


def test_display_names_are_one_name_whatever_their_width_or_case(member):
    assert name_key("ＡＢＣ") == name_key("abc")
    from django.contrib.auth import get_user_model

    newcomer = get_user_model().objects.create_user("newcomer")
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.create(user=newcomer, display_name="磯津千由紀 ")  # differs only by a space
    Profile.objects.create(user=newcomer, display_name="磯津千由紀さん")


def test_the_first_post_carries_the_members_name_and_the_threads_originator(member):
    thread = factories.thread(user=member, device="ThinkPad T520", os="Win10Pro64bit")
    post = thread.posts.get()
    assert thread.originator_name == post.author_name == "磯津千由紀"
    assert (post.handle, post.device, post.os) == ("寫眞機廢人", "ThinkPad T520", "Win10Pro64bit")


def test_page_rows_carry_each_posts_html_as_the_utf8_the_page_sends(member):
    """PostQuerySet.page_rows reads the HTML as bytes (forum.models.Utf8Bytes): on PostgreSQL by
    convert_to(), not ::bytea, which would take the backslashes of the text for escapes."""
    thread = factories.thread(user=member, replies=1)
    html = '<p>楽天 \\x41 \\\\ \\001 “引用” 𠮷 &amp;</p>'
    Post.objects.filter(thread=thread, position=2).update(html=html)
    rows = {row.position: row for row in Post.objects.filter(thread=thread).page_rows()}
    assert rows[2].html_utf8 == html.encode("utf-8")
    first = Post.objects.get(thread=thread, position=1)
    assert bytes(rows[1].html_utf8) == first.html.encode("utf-8")
