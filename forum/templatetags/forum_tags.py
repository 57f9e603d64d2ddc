from django import template

from .. import headers

register = template.Library()


@register.simple_tag
def post_header(post) -> str:
    return f"{headers.author_label(post.author_name, post.handle, post.device, post.os)} {headers.post_stamp(post.posted_at)}"


@register.simple_tag
def thread_heading(thread) -> str:
    return headers.thread_heading(thread.number, thread.title, thread.originator_name, thread.started_on)


@register.filter
def yymmdd(day) -> str:
    return headers.short_date(day)


@register.filter
def page_of(position: int, per_page: int) -> int:
    """The thread page that shows the post at `position`."""
    return (position - 1) // per_page + 1
