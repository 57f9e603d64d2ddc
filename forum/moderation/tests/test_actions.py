"""Each action: what it changes, its log row in the same transaction, and refusals that change nothing."""

import pytest
from django.db import transaction

from forum import actions
from forum.models import Post, Thread
from forum.moderation import actions as moderation
from forum.moderation.models import Ban, ModerationLog, PostRevision, Report
from forum.tests import factories

pytestmark = pytest.mark.django_db
Action = ModerationLog.Action


def spam(thread) -> Post:
    return thread.posts.get(position=2)


def last_log() -> ModerationLog:
    return ModerationLog.objects.order_by("-id").first()


def version(thread) -> int:
    return Thread.objects.get(pk=thread.pk).version


def test_hide_and_restore_a_post(client, moderator, moderator_client, spam_thread, django_capture_on_commit_callbacks):
    post, before = spam(spam_thread), version(spam_thread)
    with django_capture_on_commit_callbacks() as announced:
        moderation.hide_post(post=post, actor=moderator, reason="宣伝の書き込み", category="spam")
    assert announced, "posts_changed is announced for search and indicators"
    post.refresh_from_db()
    assert (post.hidden, post.hidden_reason) == (True, "spam") and version(spam_thread) > before
    entry = last_log()
    assert (entry.action, entry.actor, entry.post, entry.thread, entry.board.slug, entry.member, entry.reason,
            entry.category) == (Action.HIDE_POST, moderator, post, spam_thread, "info", post.author, "宣伝の書き込み",
                                "spam")
    page = client.get(spam_thread.get_absolute_url()).content.decode()
    assert "この投稿は非表示にされました" in page and "スパム" in page and "激安ブランド品" not in page
    staff = moderator_client.get(spam_thread.get_absolute_url()).content.decode()
    assert "激安ブランド品" in staff
    moderation.restore_post(post=post, actor=moderator, reason="誤りでした")
    post.refresh_from_db()
    assert not post.hidden and post.hidden_reason == "" and last_log().action == Action.RESTORE_POST
    assert "激安ブランド品" in client.get(spam_thread.get_absolute_url()).content.decode()


def test_the_public_post_count_leaves_out_held_posts_and_matches_rebuild_counters(member, moderator, admin_user,
                                                                                    capsys):
    """Thread.post_count is what readers see: held (and rejected) posts are not counted, hidden
    and deleted ones keep their place and are. rebuild_counters finds it right at every step."""
    from django.core.management import call_command

    from forum.counters import rebuild_counters

    thread = factories.thread(user=member, replies=1)
    newcomer = factories.UserFactory()

    def counts():
        assert rebuild_counters() == {"threads": 0, "volumes": 0}
        row = Thread.objects.get(pk=thread.pk)
        return row.post_count, row.last_position

    first = actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body="一つ目"), held=True)
    second = actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body="二つ目"), held=True)
    assert counts() == (2, 4)  # positions go on; the count is the two published posts
    moderation.approve_post(post=first, actor=moderator, reason="問題なし")
    assert counts() == (3, 4)
    moderation.reject_post(post=second, actor=moderator, reason="宣伝")
    assert counts() == (3, 4)
    moderation.restore_post(post=second, actor=moderator, reason="見直す")  # waits for approval again
    assert counts() == (3, 4)
    moderation.hide_post(post=first, actor=moderator, reason="宣伝", category="spam")
    assert counts() == (3, 4)  # readers see its place
    moderation.delete_post(post=first, actor=admin_user, reason="個人情報")
    assert counts() == (3, 4)
    moderation.approve_post(post=second, actor=moderator, reason="問題なし")
    assert counts() == (4, 4)
    # Merged: the target counts the source's published posts, not its held ones.
    source = factories.thread(user=member)
    actions.create_reply(thread=source, user=newcomer, fields=actions.PostFields(body="保留"), held=True)
    merged = moderation.merge_threads(source=source, target=thread, actor=moderator, reason="重複")
    assert (merged.post_count, merged.last_position) == (5, 6) and counts() == (5, 6)
    Thread.objects.filter(pk=thread.pk).update(post_count=6)  # as held posts were counted before
    call_command("rebuild_counters")
    assert "1 threads" in capsys.readouterr().out and counts() == (5, 6)


def test_approve_and_reject_held_posts(client, moderator, member):
    thread = factories.thread(user=member)
    newcomer = factories.UserFactory()
    first = actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body="一つ目"), held=True)
    second = actions.create_reply(thread=thread, user=newcomer, fields=actions.PostFields(body="二つ目"), held=True)
    moderation.approve_post(post=first, actor=moderator, reason="問題なし")
    moderation.reject_post(post=second, actor=moderator, reason="宣伝")
    first.refresh_from_db(), second.refresh_from_db()
    assert not first.held and not first.hidden
    assert second.held and second.hidden and second.hidden_reason == "rejected"
    assert list(ModerationLog.objects.order_by("id").values_list("action", flat=True)) == [
        Action.APPROVE_POST, Action.REJECT_POST]
    page = client.get(thread.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "一つ目" in page and "二つ目" not in page and 'id="p3"' not in page
    # Already handled: a clear refusal, nothing changed.
    with pytest.raises(moderation.ModerationRefused, match="not awaiting approval"):
        moderation.reject_post(post=first, actor=moderator, reason="やっぱり")
    assert ModerationLog.objects.count() == 2


def test_lock_and_unlock_a_thread_with_a_public_line(client, moderator, member_client, spam_thread):
    moderation.lock_thread(thread=spam_thread, actor=moderator, reason="荒れている")
    assert Thread.objects.get(pk=spam_thread.pk).locked and last_log().public
    page = client.get(spam_thread.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Locked on" in page and "by a moderator" in page and "荒れている" not in page
    assert member_client.post(f"/info/{spam_thread.number}/reply/", {"body": "返信"}).status_code == 403
    with pytest.raises(moderation.ModerationRefused):
        moderation.lock_thread(thread=spam_thread, actor=moderator, reason="二度目")
    moderation.unlock_thread(thread=spam_thread, actor=moderator, reason="落ち着いた")
    assert not Thread.objects.get(pk=spam_thread.pk).locked
    assert ModerationLog.objects.filter(action__in=[Action.LOCK_THREAD, Action.UNLOCK_THREAD]).count() == 2


def test_hide_a_thread(client, moderator, spam_thread):
    moderation.hide_thread(thread=spam_thread, actor=moderator, reason="全体が宣伝")
    assert client.get(spam_thread.get_absolute_url()).status_code == 404
    moderation.restore_thread(thread=spam_thread, actor=moderator, reason="誤り")
    assert client.get(spam_thread.get_absolute_url()).status_code == 200


def test_edits_keep_revisions_and_a_moderators_edit_is_logged(member, moderator):
    thread = factories.thread(user=member, body="最初の本文")
    post = thread.posts.get()
    actions.edit_post(post=post, user=member, fields=actions.PostFields(body="二番目の本文"))
    moderation.edit_post(post=post, actor=moderator, reason="電話番号を消した", fields=actions.PostFields(body="三番目"))
    revisions = list(PostRevision.objects.filter(post=post).order_by("number"))
    assert [(r.number, r.source, r.edited_by) for r in revisions] == [(1, "最初の本文", member), (2, "二番目の本文", moderator)]
    assert revisions[1].reason == "電話番号を消した"
    assert Post.objects.get(pk=post.pk).source == "三番目"
    assert list(ModerationLog.objects.values_list("action", "reason")) == [(Action.EDIT_POST, "電話番号を消した")]


def test_delete_for_good_is_for_admins_and_leaves_the_place(client, moderator, admin_user, spam_thread):
    post = spam(spam_thread)
    actions.edit_post(post=post, user=post.author, fields=actions.PostFields(body="編集後の宣伝"))
    with pytest.raises(moderation.ModerationRefused, match="admins"):
        moderation.delete_post(post=post, actor=moderator, reason="宣伝")
    moderation.delete_post(post=post, actor=admin_user, reason="宣伝")
    post.refresh_from_db()
    assert (post.source, post.html, post.blocks, post.hidden, post.hidden_reason) == ("", "", [], True, "deleted")
    assert not PostRevision.objects.filter(post=post).exists()
    assert last_log().action == Action.DELETE_POST
    page = client.get(spam_thread.get_absolute_url()).content.decode()
    assert 'id="p2"' in page and "編集後の宣伝" not in page and "激安" not in page
    with pytest.raises(moderation.ModerationRefused):
        moderation.restore_post(post=post, actor=admin_user, reason="戻す")


def test_deleting_a_threads_only_post_deletes_the_thread(admin_user, member):
    thread = factories.thread(user=member, title="宣伝だけのスレッド")
    moderation.delete_post(post=thread.posts.get(), actor=admin_user, reason="宣伝")
    assert not Thread.objects.filter(pk=thread.pk).exists()
    entry = last_log()
    assert entry.action == Action.DELETE_THREAD and "宣伝だけのスレッド" in entry.target
    assert thread.volume.__class__.objects.get(pk=thread.volume_id).thread_count == 0
    # The number is never given again.
    assert factories.thread(user=member).number == thread.number + 1


@pytest.mark.parametrize("reason", ["", "   ", "\x00"])
def test_a_reason_is_required(moderator, spam_thread, reason):
    with pytest.raises(moderation.ModerationRefused, match="reason"):
        moderation.hide_post(post=spam(spam_thread), actor=moderator, reason=reason, category="spam")
    assert not Post.objects.get(pk=spam(spam_thread).pk).hidden and not ModerationLog.objects.exists()


def test_a_missing_post_is_refused_clearly(moderator, spam_thread):
    post = spam(spam_thread)
    Post.objects.filter(pk=post.pk).delete()
    with pytest.raises(moderation.ModerationRefused, match="no longer exists"):
        moderation.hide_post(post=post, actor=moderator, reason="宣伝", category="spam")


def test_an_action_that_fails_half_way_saves_nothing(monkeypatch, moderator, spam_thread):
    """The log row is written last: if it fails, the hide before it is rolled back too."""
    post, before = spam(spam_thread), version(spam_thread)

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(moderation.ModerationLog.objects, "create", broken)
    with pytest.raises(RuntimeError):
        moderation.hide_post(post=post, actor=moderator, reason="宣伝", category="spam")
    post.refresh_from_db()
    assert not post.hidden and post.hidden_reason == "" and version(spam_thread) == before


def test_a_move_that_fails_half_way_leaves_the_thread_and_numbers(monkeypatch, moderator, spam_thread):
    chat = factories.board("chat")

    def broken(*args, **kwargs):
        raise RuntimeError("lost the connection")

    monkeypatch.setattr(moderation.counters, "recount_volumes", broken)
    with pytest.raises(RuntimeError):
        moderation.move_thread(thread=spam_thread, board=chat, actor=moderator, reason="雑談向き")
    thread = Thread.objects.get(pk=spam_thread.pk)
    assert (thread.board.slug, thread.number) == ("info", spam_thread.number)
    chat.refresh_from_db()
    assert chat.last_thread_number == 0 and not chat.volumes.exists() and not ModerationLog.objects.exists()


def test_the_log_is_never_changed(moderator, spam_thread):
    entry = moderation.lock_thread(thread=spam_thread, actor=moderator, reason="荒れている")
    entry.reason = "書き換え"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    assert ModerationLog.objects.get().reason == "荒れている"


def test_sanctions_and_bans_are_logged_and_lifted(moderator, member, board_moderator):
    ban = moderation.sanction_member(member=member, actor=moderator, reason="荒らし", kind=Ban.Kind.SUSPEND, days=7)
    assert last_log().action == Action.SUSPEND_MEMBER and last_log().member == member
    with pytest.raises(moderation.ModerationRefused):  # in force already
        moderation.sanction_member(member=member, actor=moderator, reason="再び", kind=Ban.Kind.SUSPEND, days=7)
    with pytest.raises(moderation.ModerationRefused):  # one board's moderator may not
        moderation.sanction_member(member=member, actor=board_moderator, reason="x", kind=Ban.Kind.SILENCE, days=1)
    with pytest.raises(moderation.ModerationRefused):  # silence and suspend need a period
        moderation.sanction_member(member=member, actor=moderator, reason="x", kind=Ban.Kind.SILENCE)
    with pytest.raises(moderation.ModerationRefused):
        moderation.sanction_member(member=moderator, actor=moderator, reason="x", kind=Ban.Kind.ACCOUNT)
    moderation.lift_ban(ban=ban, actor=moderator, reason="反省した")
    assert Ban.objects.get(pk=ban.pk).lifted_at and last_log().action == Action.LIFT_BAN
    with pytest.raises(moderation.ModerationRefused):
        moderation.lift_ban(ban=ban, actor=moderator, reason="二度目")
    address = moderation.ban_address(kind=Ban.Kind.IP, value="203.0.113.7/24", actor=moderator, reason="荒らし")
    assert address.value == "203.0.113.0/24" and last_log().action == Action.BAN_IP
    for kind, value in [(Ban.Kind.IP, "10.0.0.0/8"), (Ban.Kind.IP, "nonsense"), (Ban.Kind.EMAIL, "not-an-address"),
                        (Ban.Kind.DOMAIN, "203.0.113.1")]:
        with pytest.raises(moderation.ModerationRefused):
            moderation.ban_address(kind=kind, value=value, actor=moderator, reason="x")
    assert Ban.objects.count() == 2


def test_closing_a_report_twice_is_refused(moderator, member, spam_thread):
    report = moderation.file_report(reporter=member, reason="spam", thread=spam_thread)
    moderation.close_report(report=report, actor=moderator, reason="対応済み", upheld=True)
    assert Report.objects.get(pk=report.pk).status == Report.Status.UPHELD
    with pytest.raises(moderation.ModerationRefused, match="handled already"):
        moderation.close_report(report=report, actor=moderator, reason="再び", upheld=False)


def test_actions_run_in_the_callers_transaction_too(moderator, spam_thread):
    """Nested in a transaction that rolls back, an action leaves nothing behind."""
    with pytest.raises(RuntimeError), transaction.atomic():
        moderation.lock_thread(thread=spam_thread, actor=moderator, reason="荒れている")
        raise RuntimeError
    assert not Thread.objects.get(pk=spam_thread.pk).locked and not ModerationLog.objects.exists()
