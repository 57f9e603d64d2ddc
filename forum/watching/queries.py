"""Reads of forum.watching."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from forum.models import Thread

from .models import DigestSetting, Notification, Watch

NOTIFICATIONS_SHOWN = 100


@dataclass(frozen=True)
class MemberState:
    thread_id: int | None
    unread: int
    watching: bool


def member_state(user, thread: Thread | None = None) -> MemberState:
    """The member's unread count (the header) and, on a thread's page, whether they watch it:
    one query for both, so a thread page costs members one query more, not two."""
    unread = (Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True).order_by()
              .values("user").annotate(n=Count("pk")).values("n"))
    watching = (Exists(Watch.objects.filter(user=OuterRef("pk"), thread=thread)) if thread is not None
                else Value(False))
    row = (get_user_model().objects.filter(pk=user.pk)
           .annotate(unread=Coalesce(Subquery(unread, output_field=IntegerField()), 0), watching=watching)
           .values_list("unread", "watching").first())
    unread_count, is_watching = row or (0, False)
    return MemberState(thread.pk if thread is not None else None, unread_count, bool(is_watching))


def member_state_for(request, thread: Thread | None = None) -> MemberState:
    """member_state once per request: the header asks first (with the page's thread, if any),
    the Watch button after it reads the same answer."""
    state = getattr(request, "_watching_state", None)
    if state is None or (thread is not None and state.thread_id != thread.pk):
        state = member_state(request.user, thread)
        request._watching_state = state
    return state


def notifications_of(user):
    """The member's newest notices with what the list shows, newest first."""
    return (Notification.objects.filter(user=user).order_by("-created_at", "-pk")
            .select_related("thread__board", "post")
            .only("created_at", "read_at", "thread__number", "thread__title", "thread__board__slug",
                  "thread__board__name", "post__position", "post__author_name")[:NOTIFICATIONS_SHOWN])


def digest_enabled(user) -> bool:
    return DigestSetting.objects.filter(user=user, enabled=True).exists()
