"""forum/templatetags/cached_url.py: {% url %} answers what reverse() answers, from memory."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from forum.templatetags import cached_url


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


def test_the_builtin_url_tag_is_the_kept_one_and_answers_as_reverse_does():
    assert "CachedURLNode" in repr(type(Template("{% url 'home' %}").nodelist[0]))
    assert render("{% url 'home' %}") == reverse("home")
    assert render("{% url 'thread' board number %}", board="info", number=916) == reverse("thread", args=["info", 916])
    assert render("{% url 'thread' board=b number=n %}", b="chat", n=3) == reverse(
        "thread", kwargs={"board": "chat", "number": 3})
    assert render("{% url 'moderation:post' 7 %}") == reverse("moderation:post", args=[7])
    assert render("{% url 'switch_language' 'en' %}?next=x") == reverse("switch_language", args=["en"]) + "?next=x"
    assert render("{% url 'thread' 'info' 9 as link %}[{{ link }}]") == "[/info/9/]"


def test_arguments_the_script_prefix_and_failures_are_each_their_own_answer():
    cached_url._kept.cache_clear()
    assert cached_url.cached_reverse("thread", ("info", 1)) != cached_url.cached_reverse("thread", ("info", 2))
    try:
        set_script_prefix("/daiou/")
        assert cached_url.cached_reverse("home") == "/daiou/" == reverse("home")
    finally:
        clear_script_prefix()
        set_script_prefix("/")
    assert cached_url.cached_reverse("home") == "/"
    for _ in range(2):  # a failure is raised each time, never kept as an answer
        with pytest.raises(NoReverseMatch):
            cached_url.cached_reverse("thread", ("info",))
    assert render("{% url 'no-such-view' as link %}[{{ link }}]") == "[]"
    with pytest.raises(NoReverseMatch):
        render("{% url 'no-such-view' %}")
    with pytest.raises(TemplateSyntaxError):
        Template("{% url %}")


def test_unhashable_arguments_go_to_reverse_every_time():
    assert cached_url.cached_reverse("thread", ["info", 5]) == reverse("thread", args=["info", 5])
    assert cached_url.cached_reverse("thread", (["info"][0], 5), {}) == "/info/5/"
    with pytest.raises(NoReverseMatch):
        cached_url.cached_reverse("thread", ({"a": 1}, 5))  # unhashable: reverse() itself refuses it
