from django.contrib import admin
from django.urls import include, path

from forum import search_views
from forum import views as forum

urlpatterns = [
    path("", forum.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/signup/", forum.signup, name="signup"),
    path("accounts/profile/", forum.profile_edit, name="profile"),
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
    path("", include("forum.urls")),
]
