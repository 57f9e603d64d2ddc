from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..models import HiddenReason, ModerationLog

register = template.Library()
Action = ModerationLog.Action


@register.filter
def hidden_reason_label(value: str) -> str:
    """The category a hidden post shows readers ("spam"), never the moderator's note."""
    try:
        return HiddenReason(value).label
    except ValueError:
        return ""


@register.simple_tag
def public_note(thread) -> str:
    """The thread page's line about its latest public moderation (threads come annotated by
    forum.moderation.queries.with_public_note); "" when there is none."""
    action = getattr(thread, "moderation_action", None)
    if not action:
        return ""
    when = formats.date_format(timezone.localtime(thread.moderation_at), "DATE_FORMAT")
    details = thread.moderation_details or {}
    if action == Action.MOVE_THREAD:
        return _("Moved here from %(old)s on %(date)s by a moderator.") % {"old": details.get("from", "?"), "date": when}
    if action == Action.MERGE_THREAD:
        return _("%(old)s was merged into this thread on %(date)s by a moderator.") % {
            "old": details.get("from", "?"), "date": when}
    if action == Action.LOCK_THREAD:
        return _("Locked on %(date)s by a moderator.") % {"date": when}
    if action == Action.UNLOCK_THREAD:
        return _("Unlocked on %(date)s by a moderator.") % {"date": when}
    return ""


@register.filter
def actor_label(entry) -> str:
    """Who did it: the moderator's user name, or Daiou itself."""
    return entry.actor_name or _("Daiou (automatic)")
