from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path
from django.views.decorators.http import require_safe

from config import health
from forum import account_views, search_views, seo
from forum.figures import views as figures
from forum import views as forum
from forum.moderation import views as moderation
from forum.limits import views as limits

# The database unreachable gives the 503 page wherever the error is raised (config/faults.py).
handler500 = "config.faults.server_error"

urlpatterns = [
    path("", forum.home, name="home"),
    # The boards' pages first, the busiest: their slug never spells a path of the site itself
    # (forum/urls.py), so those fall through to the patterns below.
    path("", include("forum.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/signup/", forum.signup, name="signup"),
    path("accounts/profile/", forum.profile_edit, name="profile"),
    # A member's own data: the download and deleting the account (forum.accounts).
    path("accounts/data/", account_views.download_data, name="download_data"),
    path("accounts/delete/", account_views.delete_account, name="delete_account"),
    # Django's login, throttled after repeated failures (forum.limits), before its other views.
    path("accounts/login/", limits.LoginView.as_view(), name="login"),
    # Its password change too: a wrong old password counts as a failed login.
    path("accounts/password_change/", limits.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/confirm/", include("forum.limits.urls")),
    # Watched threads' notices (forum.watching): under accounts/, a path no board slug can take.
    path("accounts/notifications/", include("forum.watching.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    # A plain link, not Django's POST form: pages for anonymous readers carry no CSRF token,
    # so they can be cached whole.
    path("i18n/<str:code>/", forum.switch_language, name="switch_language"),
    # markdownx's widget posts its preview here (MARKDOWNX_URLS_PATH); its upload view is not routed.
    path("preview/", forum.preview, name="preview"),
    path("drafts/", forum.save_draft, name="save_draft"),
    # Indicators, their exports, the JSON API and the Atom feeds (incidents), before the
    # forum's catch-all /<board>/ routes.
    path("indicators/", include("incidents.urls")),
    path("api/", include("incidents.api_urls")),
    path("feeds/", include("incidents.feed_urls")),
    path("search/", search_views.search_page, name="search"),
    # For search engines (forum/seo.py): the sitemap is an index of pages of 10,000 threads.
    path("robots.txt", seo.robots_txt, name="robots_txt"),
    # Django's sitemap views answer any method: GET and HEAD only here (others: 405).
    path("sitemap.xml", require_safe(sitemap_views.index), {"sitemaps": seo.SITEMAPS, "sitemap_url_name": "sitemap"},
         name="sitemap_index"),
    path("sitemap-<section>.xml", require_safe(sitemap_views.sitemap), {"sitemaps": seo.SITEMAPS}, name="sitemap"),
    # The review queue, the log and the other staff pages; members' report forms (forum.moderation).
    path("moderation/", include("forum.moderation.urls")),
    # Anyone asks for their personal data to be removed; lands in the review queue.
    path("contact/removal/", moderation.removal_request, name="removal_request"),
    path("privacy/", account_views.privacy, name="privacy"),
    # Members' screenshots, served by Daiou itself (hidden posts' figures are refused to readers):
    # a web server in front must not serve MEDIA_ROOT directly.
    path("media/figures/<str:name>", figures.figure_file, name="figure"),
]
