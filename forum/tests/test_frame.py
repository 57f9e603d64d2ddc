"""forum/templatetags/frame.py: the parts of the page frame kept per process and language write
what the template wrote without them, and cannot hold anything of a reader or a page."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template, engines
from django.test import RequestFactory
from django.urls import clear_script_prefix, set_script_prefix
from django.utils import translation

from forum.templatetags import frame

BASE = Path(settings.BASE_DIR) / "templates" / "base.html"
# The footer's languages as the template wrote them before {% language_links %}.
LANGUAGE_LOOP = (
    "{% get_available_languages as LANGUAGES %}{% get_language_info_list for LANGUAGES as languages %}"
    "{% for language in languages %}{% if language.code == LANGUAGE_CODE %}"
    '<span aria-current="true">{{ language.name_local }}</span>{% else %}'
    "<a href=\"{% url 'switch_language' language.code %}?next={{ request.path|urlencode }}\" "
    'lang="{{ language.code }}" rel="nofollow">{{ language.name_local }}</a>{% endif %}{% endfor %}')


def without_frames(source: str) -> str:
    return source.replace("{% frame %}", "").replace("{% endframe %}", "").replace("{% language_links %}", LANGUAGE_LOOP)


def page(template, user, language: str, path: str = "/info/916/") -> str:
    request = RequestFactory().get(path)
    request.user = user
    request.session = {}
    with translation.override(language):
        html = template.render({"user": user}, request)
    return re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "csrf", html)  # masked anew each time


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("who", ["anonymous", "member"])
def test_the_base_template_writes_what_it_wrote_without_frames(who, language, member):
    user = AnonymousUser() if who == "anonymous" else member
    engine = engines["django"]
    kept, plain = engine.get_template("base.html"), engine.from_string(without_frames(BASE.read_text()))
    assert "{% frame %}" in BASE.read_text() and "{% language_links %}" in BASE.read_text()
    for path in ("/info/916/", "/search/?q=x", "/情報/a b/\"><x>"):
        for _ in range(2):  # rendered, then copied
            assert page(kept, user, language, path) == page(plain, user, language, path)


def test_a_frame_sees_nothing_of_the_reader_or_the_page():
    template = Template("{% load frame %}[{% frame %}{{ user }}{{ secret }}{{ request.path }}{% endframe %}]")
    assert template.render(Context({"user": "someone", "secret": "s3cret", "request": "r"})) == "[]"


def test_each_language_and_script_prefix_has_its_own_copy():
    template = Template("{% load i18n frame %}{% frame %}{% translate 'Log in' %} {% url 'home' %}{% endframe %}")
    with translation.override("en"):
        assert template.render(Context()) == "Log in /"
    with translation.override("ja"):
        japanese = template.render(Context())
        assert japanese != "Log in /" and japanese.endswith(" /")
    try:
        set_script_prefix("/daiou/")
        with translation.override("en"):
            assert template.render(Context()) == "Log in /daiou/"
    finally:
        clear_script_prefix()
        set_script_prefix("/")


def test_a_copy_is_kept_until_cleared(settings):
    template = Template("{% load static frame %}{% frame %}{% static 'x.css' %}{% endframe %}")
    first = template.render(Context())
    settings.STATIC_URL = "/elsewhere/"
    assert template.render(Context()) == first  # kept: a deployment restarts the processes
    frame.clear()
    assert template.render(Context()).startswith("/elsewhere/")


def test_the_language_links_quote_the_page_address():
    template = Template("{% load frame %}{% language_links %}")
    request = RequestFactory().get("/")
    request.path = '/info/"><script>alert(1)</script>/'
    with translation.override("ja"):
        html = template.render(Context({"request": request}))
    assert "<script>" not in html and '"><' not in html.replace('rel="nofollow">', "")
    assert re.search(r'href="/i18n/en/\?next=/info/%22%3E%3Cscript%3E', html)
    assert '<span aria-current="true">日本語</span>' in html


def test_frame_takes_no_arguments():
    from django.template import TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError):
        Template("{% load frame %}{% frame x %}{% endframe %}")
