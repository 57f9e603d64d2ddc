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


def test_the_digest_is_written_in_the_language_the_member_uses(member, other_member, client, settings):
    from django.urls import reverse
    from django.utils import translation

    with translation.override("en"):
        english = translation.gettext("Daiou: new replies in the threads you watch")
    with translation.override("ja"):
        japanese = translation.gettext("Daiou: new replies in the threads you watch")
    assert english != japanese
    thread = factories.thread(user=member)
    client.force_login(member)
    client.post(reverse("watching:digest"), {"enabled": "on"}, HTTP_ACCEPT_LANGUAGE="en")
    assert DigestSetting.objects.get(user=member).language == "en"
    reply(thread, other_member)
    call_command("send_digests", stdout=open("/dev/null", "w"))
    assert mail.outbox[-1].subject == english
    client.get(reverse("switch_language", args=["ja"]))  # a GET: writes nothing
    assert DigestSetting.objects.get(user=member).language == "en"
    client.logout()  # (which forgets the cookies too)
    client.get(reverse("switch_language", args=["ja"]))
    client.post(reverse("login"), {"username": member.username, "password": factories.PASSWORD},
                HTTP_ACCEPT_LANGUAGE="en")  # the language cookie from the switch wins
    assert DigestSetting.objects.get(user=member).language == "ja"
    reply(thread, other_member)
    call_command("send_digests", stdout=open("/dev/null", "w"))
    assert mail.outbox[-1].subject == japanese and len(mail.outbox) == 2


def test_a_digest_set_without_a_language_is_in_the_sites(member, other_member, settings):
    watching.set_digest(member, True, language="xx")  # not one of the site's: not kept
    assert DigestSetting.objects.get(user=member).language == ""
    reply(factories.thread(user=member), other_member)
    call_command("send_digests", stdout=open("/dev/null", "w"))
    from django.utils import translation

    with translation.override(settings.LANGUAGE_CODE):
        assert mail.outbox[-1].subject == translation.gettext("Daiou: new replies in the threads you watch")
