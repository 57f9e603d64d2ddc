"""`{% frame %}…{% endframe %}`: a part of the page frame that is the same for every reader of a
language (the site's name, the search form, the login links, the stylesheet's address), rendered
once per process and language and then copied.

Translating, reversing URLs and looking up static files about thirty times a page was about a
tenth of an uncached thread page's time, and gave the same text every time. What goes in a frame
can depend only on the language, the URL configuration and the static files, never on a reader
or a page: its contents are rendered with an empty context (no `user`, no `request`, no page
variables; they render as nothing), so a reader's name cannot end up in another reader's page.
The kept copies are cleared with `clear()` (the tests do, as settings change between them); a
deployment restarts its processes, which starts them again.
"""

import functools
import weakref
from urllib.parse import quote

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_info

from .cached_url import cached_reverse

register = template.Library()

# node → {(language, script prefix, URL configuration): rendered text}
_rendered: "weakref.WeakKeyDictionary[FrameNode, dict]" = weakref.WeakKeyDictionary()


def clear() -> None:
    _rendered.clear()
    _language_links.cache_clear()


def language_key() -> tuple[str, str, str]:
    """What a frame's text depends on: the language, the script prefix, the URL configuration."""
    return get_language(), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF


class FrameNode(template.Node):
    def __init__(self, nodelist):
        self.nodelist = nodelist

    def render(self, context):
        key = language_key()
        kept = _rendered.setdefault(self, {})
        if (text := kept.get(key)) is None:
            text = kept[key] = mark_safe(self.nodelist.render(context.new()))
        return text


@register.tag
def frame(parser, token):
    if len(token.split_contents()) != 1:
        raise template.TemplateSyntaxError("{% frame %} takes no arguments")
    nodelist = parser.parse(("endframe",))
    parser.delete_first_token()
    return FrameNode(nodelist)


@register.simple_tag(takes_context=True)
def language_links(context) -> str:
    """The footer's languages: the reader's as text, each other one a link that comes back to
    this page in it. Only the page's address changes from page to page."""
    pieces = _language_links(*language_key())
    request = context.get("request")
    return mark_safe(quote(request.path if request is not None else "").join(pieces))


@functools.cache
def _language_links(current: str, prefix: str, urlconf: str) -> tuple[str, ...]:
    """The footer's HTML, cut where the page's address goes."""
    pieces, text = [], ""
    for code, _name in settings.LANGUAGES:
        name = escape(get_language_info(code)["name_local"])
        if code == current:
            text += f'<span aria-current="true">{name}</span>'
        else:
            pieces.append(text + f'<a href="{escape(cached_reverse("switch_language", args=(code,)))}?next=')
            text = f'" lang="{code}" rel="nofollow">{name}</a>'
    return (*pieces, text)
