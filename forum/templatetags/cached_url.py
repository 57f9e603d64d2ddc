"""`{% url %}` with its answers kept per process (a template builtin, config/settings.py).

reverse() walks the URL patterns each time (about 20 µs); a thread page asked it about twenty
times for the same few addresses. An address depends only on the view's name, its arguments,
the namespace asked from, the script prefix, the URL configuration and (were the patterns
translated) the language, which together make the key, so a kept answer is the one reverse()
would give. Arguments that cannot be a key (unhashable) go to reverse() every time; failures
are never kept.
"""

from functools import lru_cache

from django import template
from django.conf import settings
from django.template.defaulttags import URLNode
from django.template.defaulttags import url as django_url
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.html import conditional_escape
from django.utils.translation import get_language

register = template.Library()


@lru_cache(maxsize=4096)
def _kept(view_name, args: tuple, kwargs: tuple, current_app, prefix, urlconf, language) -> str:
    return reverse(view_name, urlconf=urlconf, args=args, kwargs=dict(kwargs), current_app=current_app)


def cached_reverse(view_name: str, args=(), kwargs=None, current_app=None) -> str:
    """reverse(), answered from the process's memory after the first time."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    try:
        return _kept(view_name, tuple(args), tuple(sorted((kwargs or {}).items())), current_app,
                     get_script_prefix(), urlconf, get_language())
    except TypeError:  # an unhashable argument
        return reverse(view_name, urlconf=urlconf, args=args, kwargs=kwargs, current_app=current_app)


class CachedURLNode(URLNode):
    def render(self, context):
        args = [arg.resolve(context) for arg in self.args]
        kwargs = {k: v.resolve(context) for k, v in self.kwargs.items()}
        view_name = self.view_name.resolve(context)
        try:
            current_app = context.request.current_app
        except AttributeError:
            try:
                current_app = context.request.resolver_match.namespace
            except AttributeError:
                current_app = None
        url = ""
        try:
            url = cached_reverse(view_name, args, kwargs, current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token):
    """Django's {% url %} (same syntax, same answers), its reverse() kept per process."""
    node = django_url(parser, token)
    return CachedURLNode(node.view_name, node.args, node.kwargs, node.asvar)
