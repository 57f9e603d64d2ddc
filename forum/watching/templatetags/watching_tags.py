from django import template

from forum.models import Thread

from ..queries import member_state_for

register = template.Library()


def _page_thread(context):
    thread = context.get("thread")
    return thread if isinstance(thread, Thread) else None


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """The header's unread count (members only: the template asks inside is_authenticated).
    Asked with the page's thread, so the Watch button below costs no query of its own."""
    request = context.get("request")
    return member_state_for(request, _page_thread(context)).unread if request is not None else 0


@register.inclusion_tag("watching/_watch_button.html", takes_context=True)
def watch_button(context, thread):
    state = member_state_for(context["request"], thread)
    return {"thread": thread, "watching": state.watching, "csrf_token": context.get("csrf_token")}
