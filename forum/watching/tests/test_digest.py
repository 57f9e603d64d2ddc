"""manage.py send_digests: one mail per opted-in member with new unread notices, titles and links only."""

import pytest
from django.core import mail
from django.core.management import call_command

from forum import actions
from forum.tests import factories
from forum.tests.factories import UserFactory
from forum.watching import actions as watching
from forum.watching.models import DigestSetting, Notification

pytestmark = pytest.mark.django_db
SECRET = "振込先は三井住友銀行 1234567 カ）サギ"


def reply(thread, user, body=SECRET):
    return actions.create_reply(thread=thread, user=user, fields=actions.PostFields(body=body))


def test_one_mail_per_opted_in_member_with_new_notices(member, other_member, moderator, settings):
    settings.DAIOU_SITE_URL = "https://daiou.example"
    quiet = UserFactory()  # opted in, nothing new
    thread = factories.thread(user=member, title="楽天を名乗るメール")
    other = factories.thread(user=member, title="宅配便の不在通知")
    watching.watch(thread, moderator)  # watches, has notices, but no digest
    for user in (member, quiet):
        watching.set_digest(user, True)
    reply(thread, other_member), reply(thread, other_member), reply(other, other_member)
    call_command("send_digests", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [member.email]
    assert "楽天を名乗るメール" in sent.body and "宅配便の不在通知" in sent.body
    assert f"https://daiou.example{thread.get_absolute_url()}#p2" in sent.body
    assert SECRET not in sent.body and "三井住友" not in sent.body and "1234567" not in sent.body
    assert DigestSetting.objects.get(user=member).last_sent_at is not None


def test_a_second_run_sends_only_what_is_new(member, other_member):
    thread = factories.thread(user=member)
    watching.set_digest(member, True)
    reply(thread, other_member)
    call_command("send_digests", stdout=open("/dev/null", "w"))
    call_command("send_digests", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 1
    reply(thread, other_member)
    call_command("send_digests", stdout=open("/dev/null", "w"))
    assert len(mail.outbox) == 2


def test_read_notices_and_hidden_posts_are_not_mailed(member, other_member, moderator):
    from forum.moderation import actions as moderation

    thread = factories.thread(user=member)
    watching.set_digest(member, True)
    read, hidden = reply(thread, other_member), reply(thread, other_member)
    watching.mark_read(member, Notification.objects.filter(post=read).values_list("pk", flat=True))
    moderation.hide_post(post=hidden, actor=moderator, reason="宣伝", category="spam")
    call_command("send_digests", stdout=open("/dev/null", "w"))
    assert mail.outbox == []
