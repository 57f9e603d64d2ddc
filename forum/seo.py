"""For readers arriving from search engines: robots.txt, the sitemap, and `noindex` where a
page must not be found (search results, staff pages, lookups, accounts).

Thread and volume pages say their canonical address themselves (templates, `canonical`).
"""

from django.contrib.auth.models import AnonymousUser
from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from .models import Board, Thread, Volume

# Pages that are nobody's answer to a search: results, staff and members' pages, previews,
# the JSON API. Crawlers are asked to stay out (robots.txt) and told not to index what they
# reach anyway (X-Robots-Tag, for pages others write, e.g. /moderation/ and Django's admin).
NOINDEX_PREFIXES = ("/search/", "/admin/", "/moderation/", "/accounts/", "/preview/", "/drafts/", "/api/",
                    "/i18n/", "/contact/")
ROBOTS_DISALLOW = (*NOINDEX_PREFIXES, "/indicators/?", "/*/new/", "/*/reply/", "/*/edit/")


class NoindexMiddleware:
    """`X-Robots-Tag: noindex` on the pages above and on indicator lookups (a query of anything)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        path = request.path_info
        if path.startswith(NOINDEX_PREFIXES) or (path.startswith("/indicators/") and request.GET):
            response.headers.setdefault("X-Robots-Tag", "noindex")
        return response


@require_GET
def robots_txt(request):
    lines = ["User-agent: *", *(f"Disallow: {prefix}" for prefix in ROBOTS_DISALLOW), "",
             f"Sitemap: {request.build_absolute_uri(reverse('sitemap_index'))}", ""]
    response = HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "public, max-age=86400"
    return response


class BoardSitemap(Sitemap):
    def items(self):
        return Board.objects.order_by("position", "id").only("slug")

    def location(self, board):
        return reverse("board", args=[board.slug])


class VolumeSitemap(Sitemap):
    limit = 10_000

    def items(self):
        return Volume.objects.order_by("id").values_list("board__slug", "number")

    def location(self, item):
        return reverse("volume", args=item)


class ThreadSitemap(Sitemap):
    """Every visible thread's first page; a page of the sitemap holds 10,000 of them (a
    million posts make about ten), read by one LIMIT query each, never all at once."""

    limit = 10_000

    def _threads(self):
        return Thread.objects.visible_to(AnonymousUser())  # what a reader from a search engine sees

    def items(self):
        return self._threads().order_by("id").values_list("board__slug", "number", "last_posted_at")

    def location(self, item):
        return reverse("thread", args=item[:2])

    def lastmod(self, item):
        return item[2]

    def get_latest_lastmod(self):
        # Django's default takes the max over every item, read all at once.
        return self._threads().aggregate(latest=Max("last_posted_at"))["latest"]


SITEMAPS = {"boards": BoardSitemap, "volumes": VolumeSitemap, "threads": ThreadSitemap}
