"""forum.bulk: the multi-row INSERTs of the import and indicator paths."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from forum import bulk
from forum.models import Draft, Post
from forum.tests import factories
from incidents.models import Indicator

pytestmark = pytest.mark.django_db


def test_rows_take_the_models_defaults_and_come_back_as_django_writes_them(member):
    thread = factories.thread(user=member)
    when = datetime(2020, 9, 8, 14, 54, tzinfo=ZoneInfo("Asia/Tokyo"))
    rows = [bulk.row(Post, thread_id=thread.pk, position=n, author_name="山田", posted_at=when, source="本文",
                     format=Post.Format.ARCHIVE, blocks=[{"kind": "text", "text": "本文"}], html="<p>本文</p>",
                     archive_layout={"blank_after_body": 1}) for n in (2, 3)]
    made = bulk.insert(Post, rows, returning=("id", "position"))
    assert sorted(position for _, position in made) == [2, 3]
    post = Post.objects.get(pk=made[0][0])
    assert (post.posted_at, post.blocks, post.archive_layout, post.quote_details, post.hidden, post.format) == (
        when, [{"kind": "text", "text": "本文"}], {"blank_after_body": 1}, [], False, "archive")


def test_taken_unique_values_are_skipped_and_only_new_rows_returned():
    def indicator(value):
        return bulk.row(Indicator, key=value * 8, kind="domain", value=value, defanged=value)

    first = bulk.insert(Indicator, [indicator("aaa")], conflict="key", returning=("key",))
    again = bulk.insert(Indicator, [indicator("aaa"), indicator("bbb")], conflict="key", returning=("key",))
    assert (first, again) == ([("aaa" * 8,)], [("bbb" * 8,)])
    assert Indicator.objects.get(key="aaa" * 8).created_at is not None  # a callable default, per row


def test_models_whose_fields_django_fills_in_on_save_are_refused():
    with pytest.raises(TypeError, match="updated_at"):
        bulk.insert(Draft, [{}])


def test_update_writes_the_given_fields_of_each_row_and_nothing_else(member):
    thread = factories.thread(user=member, replies=2)
    posts = list(thread.posts.order_by("position"))
    when = datetime(2021, 1, 2, 3, 4, tzinfo=ZoneInfo("Asia/Tokyo"))
    bulk.update(Post, ("html", "posted_at", "archive_layout"),
                [(posts[0].pk, "<p>一</p>", when, {"a": 1}), (posts[2].pk, "<p>三</p>", when, None)])
    bulk.update(Post, ("html",), [])
    after = {p.pk: p for p in Post.objects.filter(thread=thread)}
    assert (after[posts[0].pk].html, after[posts[0].pk].posted_at, after[posts[0].pk].archive_layout) == (
        "<p>一</p>", when, {"a": 1})
    assert after[posts[2].pk].html == "<p>三</p>" and after[posts[2].pk].archive_layout is None
    assert after[posts[1].pk].html == posts[1].html and after[posts[1].pk].posted_at == posts[1].posted_at
    assert after[posts[0].pk].source == posts[0].source
