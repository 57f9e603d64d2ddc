"""forum/urls.py: the boards' addresses come first in the URLconf, and a slug that is a path
of the site itself falls through to the site's own pattern."""

import re

import pytest
from django.urls import resolve

from config import urls as site_urls
from forum.models import RESERVED_BOARD_SLUGS


def test_the_boards_pages_are_tried_first():
    match = resolve("/info/916/")
    assert (match.url_name, match.kwargs) == ("thread", {"board": "info", "number": 916})
    routes = [getattr(p, "urlconf_name", None) for p in site_urls.urlpatterns]
    forum_at = next(i for i, conf in enumerate(routes) if getattr(conf, "__name__", conf) == "forum.urls")
    assert forum_at == 1  # after the home page's own "" only


@pytest.mark.parametrize(("path", "name"), [
    ("/indicators/5/", "indicator"),  # would be thread 5 of a board "indicators"
    ("/indicators/brands/", "brands"),
    ("/search/", "search"),  # would be the board "search"
    ("/privacy/", "privacy"),
    ("/preview/", "preview"),
    ("/drafts/", "save_draft"),
    ("/i18n/12/", "switch_language"),
    ("/moderation/", "queue"),
    ("/accounts/login/", "login"),
    ("/contact/removal/", "removal_request"),
    ("/info/", "board"),
    ("/info/new/", "new_thread"),
    ("/info/vol/70/", "volume"),
    ("/info/916/reply/", "reply"),
    ("/info/916/p3/edit/", "edit_post"),
])
def test_each_address_reaches_its_own_view(path, name):
    assert resolve(path).url_name == name


def test_every_first_segment_of_the_sites_own_paths_is_reserved_for_boards():
    """A new top-level path must be added to RESERVED_BOARD_SLUGS, or a board of that name
    would take its addresses."""
    segments = set()
    for pattern in site_urls.urlpatterns:
        route = str(pattern.pattern)
        if route and not route.startswith("<"):
            segment = route.split("/")[0]
            if re.fullmatch(r"[-a-zA-Z0-9_]+", segment) and "/" in route:
                segments.add(segment)
    assert segments and segments <= RESERVED_BOARD_SLUGS, segments - RESERVED_BOARD_SLUGS
