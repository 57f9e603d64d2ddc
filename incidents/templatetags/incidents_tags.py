from datetime import datetime
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from incidents.defang import defang_text_html
from incidents.models import ROLE_LABELS, Assessment, Verdict

register = template.Library()


@register.filter
def defanged_text(text) -> str:
    """Quoted text (a subject, a display name) escaped, every indicator in it defanged."""
    return mark_safe(defang_text_html(str(text or "")))  # defang_text_html escapes everything else


@register.filter
def assessment_label(code) -> str:
    try:
        return Assessment(code).label
    except ValueError:
        return code


@register.filter
def verdict_label(code) -> str:
    try:
        return Verdict(code).label
    except ValueError:
        return code


@register.filter
def role_label(code) -> str:
    return ROLE_LABELS.get(code, code)


@register.filter
def stamp_time(value):
    """An export stamp (2020-09-08T05:54:00.000Z) as a datetime, for the date filter."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return value


@register.simple_tag
def lookup_url(defanged: str) -> str:
    """A link to the lookup carrying the defanged form: no href ever holds a live indicator."""
    return f"{reverse('incidents:indicators')}?{urlencode({'q': defanged})}"


@register.filter
def defanged_host(value) -> str:
    """A stored (fanged) host as display text: every dot as [.]."""
    from incidents.defang import defang_host
    from incidents.hosts import normalize_host

    host = normalize_host(str(value or ""))
    return defang_host(host) if host else ""


@register.filter
def sighting_page(position) -> int:
    """The thread page a post is on (forum's pages cut by stored position)."""
    from django.conf import settings

    try:
        return max(1, -(-int(position) // settings.DAIOU_POSTS_PER_PAGE))
    except (TypeError, ValueError):
        return 1


@register.filter
def indicator_path(pk) -> str:
    from incidents.api import indicator_path as path

    return path(pk)


@register.filter
def brand_path(slug) -> str:
    # One reverse() for the pattern instead of one per row of a long table.
    return _brand_prefix() + f"{slug}/"


def _brand_prefix() -> str:
    return reverse("incidents:brands")
