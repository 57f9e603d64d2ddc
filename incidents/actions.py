"""Writes that matter on the incidents side: each takes the actor and a reason, in one transaction."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from forum.moderation import roles

from .indexing import note_change, refresh
from .models import Indicator, IndicatorReview, Verdict

MAX_REASON_LENGTH = 1000


class ReviewRefused(Exception):
    """The review cannot be made; the message says why."""


def can_review(user) -> bool:
    """Moderators of every board only: a verdict is site-wide (one indicator for every board, and
    it takes the indicator out of the public exports), not a decision about one board's posts."""
    return roles.moderates_everything(user)


@transaction.atomic
def review_indicator(*, indicator: Indicator, actor, verdict: str, reason: str) -> IndicatorReview:
    """Mark an indicator a false positive or legitimate (it leaves the exports), or clear the
    mark (verdict ""). Every review is kept as an IndicatorReview row: who, when, why."""
    if not can_review(actor):
        raise ReviewRefused(_("Only moderators may review indicators."))
    if verdict not in Verdict.values:
        raise ReviewRefused(_("Unknown verdict."))
    reason = (reason or "").replace("\x00", "").strip()
    if not reason:
        raise ReviewRefused(_("Give a reason: the next moderator reads it."))
    if len(reason) > MAX_REASON_LENGTH:
        raise ReviewRefused(_("The reason is too long (at most %(n)d characters).") % {"n": MAX_REASON_LENGTH})
    indicator = Indicator.objects.select_for_update().get(pk=indicator.pk)
    now = timezone.now()
    review = IndicatorReview.objects.create(indicator=indicator, verdict=verdict, reason=reason, reviewer=actor,
                                            reviewer_name=actor.get_username(), created_at=now)
    Indicator.objects.filter(pk=indicator.pk).update(verdict=verdict, reviewed_by=actor, reviewed_at=now,
                                                     review_reason=reason, updated_at=now)
    refresh([indicator.pk])  # the export flag follows the verdict
    note_change()
    return review
