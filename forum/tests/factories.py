import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from forum import actions
from forum.models import Board, Profile

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"member{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def profile(user, create, extracted, **kwargs):
        user.save()
        Profile.objects.create(user=user, display_name=kwargs.get("display_name", f"会員{user.username}"),
                               handle=kwargs.get("handle", ""), device=kwargs.get("device", ""),
                               os=kwargs.get("os", ""))


def board(slug="info") -> Board:
    return Board.objects.get(slug=slug)


def thread(*, user, board_slug="info", title="テストのスレッド", body="本文です。", replies=0, **fields):
    made = actions.create_thread(board=board(board_slug), user=user, title=title,
                                 fields=actions.PostFields(body=body, **fields))
    for n in range(replies):
        actions.create_reply(thread=made, user=user, fields=actions.PostFields(body=f"返信 {n + 1}"))
    made.refresh_from_db()
    return made
