import pytest

from forum.archive_io import import_volumes
from forum.models import Post, SearchDocument
from forum.tests.test_archive_io import corpus_pages


def indicator_state():
    from incidents.models import Indicator, Sighting

    return (sorted(Indicator.objects.values_list("key", "times_seen", "post_count", "roles", "first_seen",
                                                 "last_seen", "thread_ids", "exported")),
            sorted(Sighting.objects.values_list("indicator__key", "post_id", "role", "count")))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_receivers_in_a_second_process_derive_what_a_rebuild_does():
    """Each commit's posts are indexed by the other process while the next pages are imported;
    when import_volumes returns, every batch is indexed, as a rebuild would index it."""
    from forum import search_index
    from incidents.indexing import rebuild

    pages = corpus_pages(6) + corpus_pages(3, board="雑談")
    outcomes = list(import_volumes(pages, posts_per_commit=12, background=True))
    assert all(hasattr(outcome, "created") for _, outcome in outcomes)
    assert Post.objects.count() == 54
    documents = sorted(SearchDocument.objects.values_list("post_id", "head", "body", "meta"))
    assert [row[0] for row in documents] == sorted(Post.objects.values_list("pk", flat=True))
    derived = indicator_state()
    assert derived[0], "the corpus quotes links, senders and phone numbers"
    rebuild()
    search_index.rebuild()
    assert indicator_state() == derived
    assert sorted(SearchDocument.objects.values_list("post_id", "head", "body", "meta")) == documents
