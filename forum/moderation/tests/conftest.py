"""Fixtures of the moderation tests: a moderator of one board only, and a reported post."""

import pytest


@pytest.fixture
def board_moderator(db):
    """Moderates the 情報 board (info) only."""
    from forum.moderation.models import BoardModerator
    from forum.tests.factories import UserFactory, board

    user = UserFactory(profile__display_name="情報板の番人")
    BoardModerator.objects.create(user=user, board=board("info"))
    return user


@pytest.fixture
def board_moderator_client(board_moderator):
    from django.test import Client

    client = Client()
    client.force_login(board_moderator)
    return client


@pytest.fixture
def spam_thread(db, member):
    """A thread on 情報 with a reply that is spam."""
    from forum import actions
    from forum.tests import factories

    thread = factories.thread(user=member, title="楽天を名乗るメール", body="本文です。")
    from forum.tests.factories import UserFactory

    spammer = UserFactory(profile__display_name="宣伝屋")
    actions.create_reply(thread=thread, user=spammer, fields=actions.PostFields(body="激安ブランド品はこちら"))
    thread.refresh_from_db()
    return thread


@pytest.fixture(autouse=True)
def english():
    """Messages of actions called directly are asserted in English (pages pick their own language)."""
    from django.utils import translation

    with translation.override("en"):
        yield
