"""forum/post_html.py writes a thread page's posts in Python (a template partial per post took
most of the page's time). Its output is checked against the partial it replaced, kept beside
this file (thread_post_reference.html) as the reference:
every case (hidden, held, rejected, reply on another page, subtitle, edited, locked, archive
and Markdown posts, names that need escaping), for every role, in both languages."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import engines
from django.utils import timezone, translation

from forum import actions, post_html
from forum.archive_io import import_volume
from forum.models import Post, Thread
from forum.moderation.roles import can_moderate
from forum.tests import factories

pytestmark = pytest.mark.django_db

# The partial of templates/forum/thread.html as it was before forum/post_html.py.
REFERENCE = (Path(__file__).parent / "thread_post_reference.html").read_text(encoding="utf-8")
PER_PAGE = 4
ARTICLE = re.compile(r"<article\b.*?</article>", re.S)


def articles(html: str) -> list[str]:
    # Whitespace runs count as one space: the template's indentation and empty lines are gone.
    return [re.sub(r"\s+", " ", article) for article in ARTICLE.findall(html)]


def reference(thread: Thread, user, page: int, language: str) -> list[str]:
    """The posts of a page as the old partial wrote them, for the posts the view shows."""
    thread = Thread.objects.select_related("board").get(pk=thread.pk)
    posts = list(Post.objects.filter(thread=thread).visible_to(user)
                 .in_positions((page - 1) * PER_PAGE + 1, page * PER_PAGE).select_related("reply_to"))
    with translation.override(language):
        html = engines["django"].from_string(REFERENCE).render({
            "posts": posts, "thread": thread, "board": thread.board, "per_page": PER_PAGE, "user": user,
            "moderator": can_moderate(user, thread.board)})
    return articles(html)


@pytest.fixture
def cases(member, other_member, new_member, settings):
    """Threads holding every case a post can show."""
    settings.DAIOU_POSTS_PER_PAGE = PER_PAGE
    settings.DAIOU_PAGE_CACHE = False  # posts are changed below with update(): no version bump
    thread = factories.thread(user=member, subtitle="副題 <b>&amp;</b> \"x\"", replies=2)
    first = thread.posts.get(position=1)
    for n, user in enumerate([other_member, member, other_member, member], 1):
        actions.create_reply(thread=thread, user=user, reply_to=first if n % 2 else None,
                             fields=actions.PostFields(body=f"**返信** {n}", subtitle="副題" if n == 2 else ""))
    actions.create_reply(thread=thread, user=new_member, fields=actions.PostFields(body="承認待ち"), held=True)
    actions.create_reply(thread=thread, user=new_member, fields=actions.PostFields(body="却下"), held=True)
    posts = {p.position: p for p in thread.posts.all()}
    Post.objects.filter(pk=posts[2].pk).update(hidden=True, hidden_reason="spam", subtitle="隠れた副題")
    Post.objects.filter(pk=posts[3].pk).update(hidden=True, hidden_reason="")
    Post.objects.filter(pk=posts[4].pk).update(hidden=True, hidden_reason="gone-away")  # no such reason any more
    Post.objects.filter(pk=posts[5].pk).update(edited_at=timezone.now() + timedelta(minutes=3))
    Post.objects.filter(pk=posts[6].pk).update(format=Post.Format.ARCHIVE)
    Post.objects.filter(pk=posts[9].pk).update(hidden=True, hidden_reason="rejected")

    odd = factories.thread(user=other_member, title="<script>名前</script>", device="<i>&", os="\"'")
    Thread.objects.filter(pk=odd.pk).update(locked=True)  # no Reply links
    return [thread, odd]


@pytest.fixture
def imported(seed_path):
    import_volume(seed_path.read_text(encoding="utf-8"), "seed")
    return Thread.objects.get(board__slug="info", number=917)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_posts_are_written_as_the_template_wrote_them(cases, client, member_client, other_member_client,
                                                      new_member_client, moderator_client, member, other_member,
                                                      new_member, moderator, language):
    readers = [(client, AnonymousUser()), (member_client, member), (other_member_client, other_member),
               (new_member_client, new_member), (moderator_client, moderator)]
    for thread in cases:
        pages = -(-thread.last_position // PER_PAGE)
        for page in range(1, pages + 1):
            for reader, user in readers:
                response = reader.get(f"{thread.get_absolute_url()}?page={page}", HTTP_ACCEPT_LANGUAGE=language)
                expected = reference(thread, user, page, language)
                assert expected, (thread, page)
                assert articles(response.content.decode()) == expected, (thread.number, page, user)


def test_imported_posts_are_written_as_the_template_wrote_them(imported, client, moderator_client, moderator, settings):
    settings.DAIOU_POSTS_PER_PAGE = PER_PAGE
    for reader, user in [(client, AnonymousUser()), (moderator_client, moderator)]:
        for page in (1, 2):
            response = reader.get(f"{imported.get_absolute_url()}?page={page}")
            expected = reference(imported, user, page, "ja")
            assert expected and articles(response.content.decode()) == expected


def test_the_cases_cover_what_a_post_can_show(cases, client, moderator_client, new_member_client):
    """The comparison above is only as good as its cases: each branch shows up somewhere."""
    pages = "".join(reader.get(f"{thread.get_absolute_url()}?page={page}").content.decode()
                    for reader in (client, moderator_client, new_member_client)
                    for thread in cases for page in (1, 2, 3))
    for needle in ['class="post post-hidden"', 'class="post post-held"', 'class="post post-hidden post-held"',
                   'class="reply-to"', 'href="?page=1#p1"', 'class="subtitle"', 'class="hidden-note"',
                   'class="held-note"', "編集済み", "/edit/", "/moderation/post/", "&lt;i&gt;&amp;", "?to=",
                   "（理由: スパム）", "（理由: ）", "モデレーターには本文が見えます"]:
        assert needle in pages, needle
    locked = client.get(cases[1].get_absolute_url()).content.decode()
    assert "?to=" not in locked


def test_the_posts_go_into_their_slot_once_and_a_title_cannot_spell_the_slot(member, client, settings):
    """The posts' bytes are put where the template wrote post_html.SLOT: a title holding the
    slot's very text is escaped like any text, so it stays a title."""
    settings.DAIOU_PAGE_CACHE = False
    thread = factories.thread(user=member, title=f"{post_html.SLOT} 偽のスロット", replies=2)
    page = client.get(thread.get_absolute_url()).content.decode()
    assert page.count("<article") == 3 and str(post_html.SLOT) not in page
    assert "&lt;!--posts" in page  # the title, escaped, where the heading shows it
    assert page.index("<article") > page.index('class="thread-heading"')


def test_a_page_without_its_slot_or_with_two_is_refused_not_sent_without_posts():
    slot = str(post_html.SLOT)
    assert post_html.page_with_posts(f"<main>{slot}</main>", "<article>記事</article>".encode()) \
        == "<main><article>記事</article></main>".encode()
    for rendered in ("<main></main>", f"{slot}{slot}"):
        with pytest.raises(ValueError, match="slot"):
            post_html.page_with_posts(rendered, b"<article></article>")
