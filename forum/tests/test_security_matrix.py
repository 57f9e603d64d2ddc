"""The security matrix (issue 9, point 4): every view × role, for reading, writing and moderating.

Every URL pattern of the site (django.urls.get_resolver) has an entry in MATRIX, or the admin's
rule: a new view without one fails `test_every_route_is_in_the_matrix`. An entry gives the
status each role gets for GET and for POST; the POST sends a valid form, so that a refusal is the
permission's and not a form error. Each request runs in a savepoint rolled back afterwards: the
roles never see each other's writes, and one test covers every route.

Every response of the matrix is also checked for the security headers (under HTTPS: HSTS), and
every GET for writes (none but a session's). CSRF: a POST without a token is refused on every
route, the admin's included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, unquote, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from forum import actions, quoting
from forum.figures import actions as figure_actions
from forum.figures.images import reencode
from forum.figures.tests.helpers import image_bytes
from forum.models import Board
from forum.moderation import actions as moderation
from forum.moderation.models import BoardModerator
from forum.tests.factories import PASSWORD, UserFactory
from forum.tests.test_quoting import MAIL
from incidents.models import Indicator

ROLES = ("anonymous", "member", "author", "other_board_moderator", "board_moderator", "moderator", "admin")
LOGIN = "login"  # 302 to /accounts/login/?next=…


def by_role(anonymous, member, author, other_board_moderator, board_moderator, moderator, admin) -> dict:
    return dict(zip(ROLES, (anonymous, member, author, other_board_moderator, board_moderator, moderator, admin)))


def every(status) -> dict:
    return dict.fromkeys(ROLES, status)


PUBLIC = every(200)
GET_ONLY = every(405)
MEMBERS = by_role(LOGIN, 200, 200, 200, 200, 200, 200)
# Staff pages: anonymous readers log in, members are refused, any moderator opens them.
STAFF = by_role(LOGIN, 403, 403, 200, 200, 200, 200)
STAFF_GET_ONLY = by_role(LOGIN, 403, 403, 405, 405, 405, 405)
# A page about something on 情報 (info): moderators of another board are refused.
INFO_STAFF = by_role(LOGIN, 403, 403, 403, 200, 200, 200)
INFO_STAFF_DONE = by_role(LOGIN, 403, 403, 403, 302, 302, 302)
# Moderators of every board (the "moderators" group) and admins only.
GLOBAL_STAFF = by_role(LOGIN, 403, 403, 403, 403, 200, 200)
# Moderated things on info (hidden thread, …): only that board's moderators and the global ones see them.
INFO_MODERATORS_SEE = by_role(404, 404, 404, 404, 200, 200, 200)


@dataclass
class Case:
    route: str  # the URL pattern as get_resolver lists it
    url: Callable  # world → URL
    get: dict
    post: dict
    data: Callable = field(default=lambda w: {})  # world → a valid POST body
    label: str = ""


MATRIX = [
    Case("", lambda w: "/", PUBLIC, GET_ONLY),
    Case("healthz", lambda w: "/healthz", PUBLIC, GET_ONLY),
    # ---- accounts
    Case("accounts/signup/", lambda w: "/accounts/signup/", by_role(200, 302, 302, 302, 302, 302, 302), every(302),
         lambda w: {"username": "newcomer", "display_name": "新しい会員", "email": "newcomer@example.org",
                    "password1": PASSWORD, "password2": PASSWORD}),
    Case("accounts/profile/", lambda w: "/accounts/profile/", MEMBERS, by_role(LOGIN, 302, 302, 302, 302, 302, 302),
         lambda w: {"display_name": "名前を変えた会員"}),
    # A member's own data (forum.accounts): each role downloads and deletes only their own account.
    Case("accounts/data/", lambda w: "/accounts/data/", MEMBERS, GET_ONLY),
    Case("accounts/delete/", lambda w: "/accounts/delete/", MEMBERS, by_role(LOGIN, 302, 302, 302, 302, 302, 302),
         lambda w: {"password": PASSWORD, "confirm": "on"}),
    Case("privacy/", lambda w: "/privacy/", PUBLIC, GET_ONLY),
    Case("accounts/login/", lambda w: "/accounts/login/", PUBLIC, every(302),
         lambda w: {"username": w.users["author"].username, "password": PASSWORD}),
    Case("accounts/confirm/again/", lambda w: "/accounts/confirm/again/", GET_ONLY,
         by_role(LOGIN, 302, 302, 302, 302, 302, 302)),
    Case("accounts/confirm/<str:token>/", lambda w: "/accounts/confirm/not-a-token/", every(400), every(400)),
    Case("accounts/logout/", lambda w: "/accounts/logout/", GET_ONLY, every(302)),
    Case("accounts/password_change/", lambda w: "/accounts/password_change/", MEMBERS,
         by_role(LOGIN, 302, 302, 302, 302, 302, 302),
         lambda w: {"old_password": PASSWORD, "new_password1": "another horse staple battery",
                    "new_password2": "another horse staple battery"}),
    Case("accounts/password_change/done/", lambda w: "/accounts/password_change/done/", MEMBERS,
         by_role(LOGIN, 405, 405, 405, 405, 405, 405)),
    Case("accounts/password_reset/", lambda w: "/accounts/password_reset/", PUBLIC, every(302),
         lambda w: {"email": "nobody@example.org"}),
    Case("accounts/password_reset/done/", lambda w: "/accounts/password_reset/done/", PUBLIC, GET_ONLY),
    # An invalid link: the page says so (200) whatever is sent.
    Case("accounts/reset/<uidb64>/<token>/", lambda w: "/accounts/reset/MQ/not-a-token/", PUBLIC, PUBLIC),
    Case("accounts/reset/done/", lambda w: "/accounts/reset/done/", PUBLIC, GET_ONLY),
    Case("i18n/<str:code>/", lambda w: "/i18n/ja/?next=/info/", every(302), GET_ONLY),
    # ---- members' tools
    Case("preview/", lambda w: "/preview/", GET_ONLY, by_role(403, 200, 200, 200, 200, 200, 200),
         lambda w: {"content": "**太字** https://evil.example/"}),
    Case("drafts/", lambda w: "/drafts/", GET_ONLY, by_role(403, 204, 204, 204, 204, 204, 204),
         lambda w: {"key": f"reply:{w.thread.pk}", "body": "書きかけ"}),
    # Watched threads and their notices (forum.watching): members only, POST forms.
    Case("accounts/notifications/", lambda w: "/accounts/notifications/", MEMBERS, GET_ONLY),
    Case("accounts/notifications/read/", lambda w: "/accounts/notifications/read/", GET_ONLY,
         by_role(LOGIN, 302, 302, 302, 302, 302, 302)),
    Case("accounts/notifications/digest/", lambda w: "/accounts/notifications/digest/", GET_ONLY,
         by_role(LOGIN, 302, 302, 302, 302, 302, 302), lambda w: {"enabled": "on"}),
    Case("accounts/notifications/watch/<int:pk>/", lambda w: f"/accounts/notifications/watch/{w.thread.pk}/",
         GET_ONLY, by_role(LOGIN, 302, 302, 302, 302, 302, 302)),
    Case("accounts/notifications/watch/<int:pk>/", lambda w: f"/accounts/notifications/watch/{w.hidden_thread.pk}/",
         GET_ONLY, by_role(LOGIN, 404, 404, 404, 302, 302, 302), label="hidden thread"),
    Case("accounts/notifications/unwatch/<int:pk>/", lambda w: f"/accounts/notifications/unwatch/{w.thread.pk}/",
         GET_ONLY, by_role(LOGIN, 302, 302, 302, 302, 302, 302)),
    # ---- indicators, exports, API, feeds
    Case("indicators/", lambda w: "/indicators/?q=rakuten.co.jp.baby", PUBLIC, GET_ONLY),
    Case("indicators/<int:pk>/", lambda w: f"/indicators/{w.indicator.pk}/", PUBLIC, GET_ONLY),
    Case("indicators/<int:pk>/review/", lambda w: f"/indicators/{w.indicator.pk}/review/", GET_ONLY,
         by_role(LOGIN, 403, 403, 403, 403, 302, 302), lambda w: {"verdict": "false_positive", "reason": "正規の窓口"}),
    Case("indicators/brands/", lambda w: "/indicators/brands/", PUBLIC, GET_ONLY),
    Case("indicators/brands/<slug:slug>/", lambda w: "/indicators/brands/rakuten/", PUBLIC, GET_ONLY),
    Case("indicators/export.csv", lambda w: "/indicators/export.csv", PUBLIC, GET_ONLY),
    Case("indicators/export.stix.json", lambda w: "/indicators/export.stix.json", PUBLIC, GET_ONLY),
    Case("api/indicators.json", lambda w: "/api/indicators.json?q=rakuten.co.jp.baby", PUBLIC, GET_ONLY),
    Case("api/<slug:board>/<int:number>.json", lambda w: f"/api/info/{w.thread.number}.json", PUBLIC, GET_ONLY),
    Case("api/<slug:board>/<int:number>.json", lambda w: f"/api/info/{w.hidden_thread.number}.json",
         INFO_MODERATORS_SEE, GET_ONLY, label="hidden thread"),
    # Feeds and the sitemap answer GET and HEAD only (Django's views would answer any method).
    Case("feeds/indicators.atom", lambda w: "/feeds/indicators.atom", PUBLIC, GET_ONLY),
    Case("feeds/<slug:board>.atom", lambda w: "/feeds/info.atom", PUBLIC, GET_ONLY),
    Case("search/", lambda w: "/search/?q=楽天", PUBLIC, GET_ONLY),
    Case("robots.txt", lambda w: "/robots.txt", PUBLIC, GET_ONLY),
    Case("sitemap.xml", lambda w: "/sitemap.xml", PUBLIC, GET_ONLY),
    Case("sitemap-<section>.xml", lambda w: "/sitemap-threads.xml", PUBLIC, GET_ONLY),
    # ---- moderation
    Case("moderation/", lambda w: "/moderation/", STAFF, STAFF_GET_ONLY),
    Case("moderation/log/", lambda w: "/moderation/log/", STAFF, STAFF_GET_ONLY),
    Case("moderation/post/<int:pk>/", lambda w: f"/moderation/post/{w.reply.pk}/", INFO_STAFF, STAFF_GET_ONLY),
    Case("moderation/post/<int:pk>/act/", lambda w: f"/moderation/post/{w.reply.pk}/act/", STAFF_GET_ONLY,
         INFO_STAFF_DONE, lambda w: {"action": "hide", "category": "spam", "reason": "宣伝"}),
    Case("moderation/post/<int:pk>/redact/", lambda w: f"/moderation/post/{w.reply.pk}/redact/", STAFF_GET_ONLY,
         INFO_STAFF_DONE, lambda w: {"text": "090-1234-5678", "reason": "電話番号"}),
    Case("moderation/thread/<int:pk>/", lambda w: f"/moderation/thread/{w.thread.pk}/", INFO_STAFF, STAFF_GET_ONLY),
    Case("moderation/thread/<int:pk>/act/", lambda w: f"/moderation/thread/{w.thread.pk}/act/", STAFF_GET_ONLY,
         INFO_STAFF_DONE, lambda w: {"action": "lock", "reason": "荒れています"}),
    # A member's page: any moderator reads it; only moderators of every board sanction (others: 403).
    Case("moderation/member/<int:pk>/", lambda w: f"/moderation/member/{w.users['member'].pk}/", STAFF,
         by_role(LOGIN, 403, 403, 403, 403, 302, 302), lambda w: {"kind": "silence", "days": "3", "reason": "宣伝"}),
    Case("moderation/bans/", lambda w: "/moderation/bans/", GLOBAL_STAFF,
         by_role(LOGIN, 403, 403, 403, 403, 302, 302),
         lambda w: {"kind": "domain", "value": "spam.example", "reason": "使い捨て"}),
    Case("moderation/bans/<int:pk>/lift/", lambda w: f"/moderation/bans/{w.ban.pk}/lift/", STAFF_GET_ONLY,
         by_role(LOGIN, 403, 403, 403, 403, 302, 302), lambda w: {"reason": "反省している"}),
    Case("moderation/reports/<int:pk>/close/", lambda w: f"/moderation/reports/{w.report.pk}/close/", STAFF_GET_ONLY,
         by_role(LOGIN, 403, 403, 403, 302, 302, 302), lambda w: {"outcome": "dismissed", "reason": "問題なし"}),
    Case("moderation/report/<slug:board>/<int:number>/", lambda w: f"/moderation/report/info/{w.thread.number}/",
         MEMBERS, by_role(LOGIN, 302, 302, 302, 302, 302, 302), lambda w: {"reason": "spam"}),
    Case("moderation/report/<slug:board>/<int:number>/p<int:position>/",
         lambda w: f"/moderation/report/info/{w.thread.number}/p2/", MEMBERS,
         by_role(LOGIN, 302, 302, 302, 302, 302, 302), lambda w: {"reason": "spam"}),
    Case("contact/removal/", lambda w: "/contact/removal/", PUBLIC, every(302),
         lambda w: {"url": f"https://testserver/info/{w.thread.number}/#p2", "what": "電話番号",
                    "email": "me@example.org"}),
    # ---- members' screenshots
    Case("media/figures/<str:name>", lambda w: f"/media/figures/{w.figure.name}", PUBLIC, GET_ONLY),
    Case("media/figures/<str:name>", lambda w: f"/media/figures/{w.pending_figure.name}",
         by_role(404, 404, 200, 404, 404, 200, 200), GET_ONLY, label="not posted yet"),
    # ---- the forum
    Case("<board:board>/", lambda w: "/info/", PUBLIC, GET_ONLY),
    Case("<board:board>/new/", lambda w: "/info/new/", MEMBERS, by_role(LOGIN, 302, 302, 302, 302, 302, 302),
         lambda w: {"title": "新しいスレッド", "body": "本文です。", "step": "post"}),
    Case("<board:board>/vol/<int:number>/", lambda w: f"/info/vol/{w.thread.volume.number}/", PUBLIC, GET_ONLY),
    Case("<board:board>/<int:number>/", lambda w: w.thread.get_absolute_url(), PUBLIC, GET_ONLY),
    Case("<board:board>/<int:number>/", lambda w: w.hidden_thread.get_absolute_url(), INFO_MODERATORS_SEE, GET_ONLY,
         label="hidden thread"),
    Case("<board:board>/<int:number>/", lambda w: w.held_thread.get_absolute_url(),
         by_role(404, 404, 200, 404, 200, 200, 200), GET_ONLY, label="held for approval"),
    Case("<board:board>/<int:number>/reply/", lambda w: f"{w.thread.get_absolute_url()}reply/", MEMBERS,
         by_role(LOGIN, 302, 302, 302, 302, 302, 302), lambda w: {"body": "返信します。", "step": "post"}),
    Case("<board:board>/<int:number>/reply/", lambda w: f"{w.hidden_thread.get_absolute_url()}reply/",
         INFO_MODERATORS_SEE, by_role(404, 404, 404, 404, 302, 302, 302),
         lambda w: {"body": "返信します。", "step": "post"}, label="hidden thread"),
    Case("<board:board>/<int:number>/p<int:position>/edit/", lambda w: f"{w.thread.get_absolute_url()}p1/edit/",
         by_role(LOGIN, 403, 200, 403, 200, 200, 200), by_role(LOGIN, 403, 302, 403, 302, 302, 302),
         lambda w: {"body": "直した本文", "step": "post", "reason": "誤字"}),
]
ADMIN_PREFIX = "admin/"


def site_routes() -> set[str]:
    """Every URL pattern of the site, as a path pattern (included patterns joined)."""
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                assert isinstance(pattern, URLPattern)
                yield prefix + str(pattern.pattern)

    return set(walk(get_resolver().url_patterns))


def test_every_route_is_in_the_matrix():
    routes = site_routes()
    matrix = {case.route for case in MATRIX}
    missing = sorted(r for r in routes - matrix if not r.startswith(ADMIN_PREFIX))
    assert not missing, f"routes without an entry in the security matrix: {missing}"
    assert not sorted(matrix - routes), "entries of the matrix for routes that no longer exist"


# ---- the world every case runs in ----------------------------------------------------------------


def _established(user):
    user.user_permissions.add(Permission.objects.get(codename="established"))
    return user


@pytest.fixture
def world(db, tmp_path, settings, django_capture_on_commit_callbacks):
    """A thread on 情報 by `author` (a quoted mail, a figure, a reply by `member`), a hidden and a
    held thread, a report, a ban, an indicator; one user per role, logged in once."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # HTTPS as deployed: every request below is made over it.
    settings.SECURE_SSL_REDIRECT = settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = 31_536_000, True
    info, chat = Board.objects.get(slug="info"), Board.objects.get(slug="chat")
    users = {
        "member": _established(UserFactory(profile__display_name="会員")),
        "author": _established(UserFactory(profile__display_name="投稿者")),
        "other_board_moderator": UserFactory(profile__display_name="雑談板の番人"),
        "board_moderator": UserFactory(profile__display_name="情報板の番人"),
        "moderator": UserFactory(profile__display_name="モデレーター"),
        "admin": UserFactory(profile__display_name="管理者", is_staff=True, is_superuser=True),
    }
    users["admin"].save()
    BoardModerator.objects.create(user=users["other_board_moderator"], board=chat)
    BoardModerator.objects.create(user=users["board_moderator"], board=info)
    users["moderator"].groups.add(Group.objects.get(name="moderators"))
    author, member, moderator = users["author"], users["member"], users["moderator"]
    reporter = _established(UserFactory(profile__display_name="通報者"))
    with django_capture_on_commit_callbacks(execute=True):
        figure = figure_actions.store_upload(user=author, image=reencode(image_bytes()), caption="偽サイト")
        quotes, _addresses, _names = quoting.quote_mail(MAIL, author)
        thread = actions.create_thread(board=info, user=author, title="楽天を名乗るメール",
                                       fields=actions.PostFields(body="届きました。", quotes=tuple(quotes),
                                                                 figures=(figure,)))
        reply = actions.create_reply(thread=thread, user=member,
                                     fields=actions.PostFields(body="うちにも。電話は 090-1234-5678 でした。"))
        hidden_thread = actions.create_thread(board=info, user=author, title="隠されたスレッド",
                                              fields=actions.PostFields(body="本文"))
        moderation.hide_thread(thread=hidden_thread, actor=moderator, reason="重複")
        held_thread = actions.create_thread(board=info, user=author, title="承認待ちのスレッド",
                                            fields=actions.PostFields(body="本文"), held=True)
        report = moderation.file_report(reporter=reporter, reason="spam", thread=thread)
        ban = moderation.sanction_member(member=reporter, actor=moderator, reason="宣伝", kind="silence", days=3)
    pending_figure = figure_actions.store_upload(user=author, image=reencode(image_bytes(color=(1, 2, 3))),
                                                 caption="未投稿")
    sessions = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[role] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    thread.refresh_from_db()
    return SimpleNamespace(
        users=users, sessions=sessions, thread=thread, reply=reply, hidden_thread=hidden_thread,
        held_thread=held_thread, report=report, ban=ban, figure=figure, pending_figure=pending_figure,
        indicator=Indicator.objects.filter(times_seen__gt=0).order_by("pk").first())


def client_for(world, role: str, **options) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en", **options)
    if role != "anonymous":
        client.cookies[django_settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def rolled_back(send):
    """One request in a savepoint that is rolled back: the next role finds the world unchanged."""
    with transaction.atomic():
        response = send()
        transaction.set_rollback(True)
    return response


def outcome(response, url: str):
    """The status as the matrix writes it: LOGIN for a redirect to the login page."""
    if response.status_code == 302 and urlsplit(response["Location"]).path == reverse("login"):
        return LOGIN
    return response.status_code


# What every response carries, whatever its status, under HTTPS.
def security_header_problems(response) -> list[str]:
    problems = []
    expected = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
                "Cross-Origin-Opener-Policy": "same-origin"}
    for name, value in expected.items():
        if response.get(name) != value:
            problems.append(f"{name}: {response.get(name)!r}")
    if not response.get("Strict-Transport-Security", "").startswith("max-age=31536000"):
        problems.append(f"Strict-Transport-Security: {response.get('Strict-Transport-Security')!r}")
    csp = response.get("Content-Security-Policy", "")
    if "frame-ancestors 'none'" not in csp or "unsafe-inline" in csp or "unsafe-eval" in csp or (
            "default-src 'self'" not in csp and "default-src 'none'" not in csp):
        problems.append(f"Content-Security-Policy: {csp!r}")
    return problems


WRITES = ("INSERT", "UPDATE", "DELETE")


def writes_of(queries) -> list[str]:
    """Statements that change rows, but the session's (a login, a message kept for the next page)."""
    return [q["sql"] for q in queries
            if q["sql"].lstrip().upper().startswith(WRITES) and "django_session" not in q["sql"]]


def test_the_matrix_every_view_by_every_role(world):
    wrong, header_problems, get_writes = [], [], []
    for case in MATRIX:
        url = case.url(world)
        for role in ROLES:
            client = client_for(world, role)
            with CaptureQueriesContext(connection) as queries:
                response = rolled_back(lambda: client.get(url, secure=True))
            if outcome(response, url) != case.get[role]:
                wrong.append(f"GET  {url} {case.label} as {role}: {outcome(response, url)}, "
                             f"the matrix says {case.get[role]}")
            header_problems += [f"GET {url} as {role}: {p}" for p in security_header_problems(response)]
            get_writes += [f"GET {url} as {role}: {sql[:120]}" for sql in writes_of(queries.captured_queries)]
            client = client_for(world, role)
            response = rolled_back(lambda: client.post(url, case.data(world), secure=True))
            if outcome(response, url) != case.post[role]:
                wrong.append(f"POST {url} {case.label} as {role}: {outcome(response, url)}, "
                             f"the matrix says {case.post[role]}")
            header_problems += [f"POST {url} as {role}: {p}" for p in security_header_problems(response)]
    assert not wrong, "\n".join(wrong)
    assert not header_problems, "\n".join(header_problems)
    assert not get_writes, "a GET wrote rows:\n" + "\n".join(get_writes)


# ---- CSRF: every state-changing request ------------------------------------------------------------


def sample_url(route: str) -> str:
    """A URL that resolves to `route`: converters and regex groups filled with sample values."""
    url = re.sub(r"\(\?P<app_label>([^)|]+)[^)]*\)", r"\1", route)  # the admin's app index: the first app
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "x", url).replace("^", "").replace("$", "")
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: "1" if m[1] in ("int", "path") else "x", url)


def test_sample_urls_reach_their_route():
    for route in site_routes():
        assert resolve(sample_url(route)).route == route.replace("^", ""), route


SAME_ORIGIN = {"HTTP_ORIGIN": "https://testserver", "HTTP_REFERER": "https://testserver/"}


def test_a_post_without_a_csrf_token_is_refused_everywhere(world):
    """Every route, the admin's included, whatever the view would do with the POST."""
    urls = {case.url(world) for case in MATRIX} | {sample_url(r) for r in site_routes() if r.startswith(ADMIN_PREFIX)}
    accepted = []
    for role in ("anonymous", "member", "admin"):
        client = client_for(world, role, enforce_csrf_checks=True)
        for url in sorted(urls):
            response = rolled_back(lambda: client.post(url, {"reason": "x", "body": "x"}, secure=True, **SAME_ORIGIN))
            if response.status_code != 403 or b"security token" not in response.content:
                accepted.append(f"{role} POST {url}: {response.status_code}")
    assert not accepted, "\n".join(accepted)
    # The same form with its token passes (the token works, so the refusals above are CSRF's).
    client = client_for(world, "anonymous", enforce_csrf_checks=True)
    page = client.get("/accounts/login/", secure=True)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    response = client.post("/accounts/login/", {"username": world.users["author"].username, "password": PASSWORD,
                                                "csrfmiddlewaretoken": token}, secure=True, **SAME_ORIGIN)
    assert response.status_code == 302
    # Under HTTPS a form from another site is refused even with a token (Origin checked).
    response = client.post("/accounts/login/", {"username": world.users["author"].username, "password": PASSWORD,
                                                "csrfmiddlewaretoken": token}, secure=True,
                           HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403


# ---- the admin ------------------------------------------------------------------------------------------


def test_every_admin_page_is_for_staff_only(world):
    routes = sorted(r for r in site_routes() if r.startswith(ADMIN_PREFIX))
    assert len(routes) > 100
    wrong = []
    for role in ("anonymous", "member", "moderator", "board_moderator"):  # none of them is staff
        client = client_for(world, role)
        for route in routes:
            url = sample_url(route)
            response = client.get(url, secure=True)
            expected = {"admin/login/": (200, ""), "admin/logout/": (302, "/admin/")}.get(route, (302, "/admin/login/"))
            got = (response.status_code, urlsplit(response.get("Location", "")).path)
            if got != expected:
                wrong.append(f"{role} GET {url}: {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    admin = client_for(world, "admin")
    from django.contrib import admin as django_admin

    for model in django_admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = admin.get(url, secure=True)
        assert response.status_code == 200, url
        assert not security_header_problems(response)


# ---- open redirects ------------------------------------------------------------------------------------

EVIL_TARGETS = [
    "//evil.example", "https://evil.example", "http://evil.example/", "\\\\evil.example", "/\\evil.example",
    "\\/evil.example", "%2F%2Fevil.example", "/%2F/evil.example", "/%5Cevil.example", "///evil.example",
    "https:evil.example", "https:/evil.example", " //evil.example", "\t//evil.example", "//evil.example%2F..",
    "http://testserver@evil.example/", "javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
    "//evil.example/info/", "https://testserver.evil.example/",
]


def redirect_endpoints(world) -> list:
    """(name, send(client, target), the default Location): every view that redirects to a `next`."""
    reply, ban, report = world.reply, world.ban, world.report
    return [
        ("login", "anonymous", lambda c, t: c.post("/accounts/login/", {
            "username": world.users["author"].username, "password": PASSWORD, "next": t}, secure=True), "/"),
        ("login (GET next, then POST)", "anonymous", lambda c, t: c.post(f"/accounts/login/?next={quote(t)}", {
            "username": world.users["author"].username, "password": PASSWORD}, secure=True), "/"),
        ("logout", "member", lambda c, t: c.post("/accounts/logout/", {"next": t}, secure=True), "/"),
        ("language switch", "anonymous", lambda c, t: c.get("/i18n/en/", {"next": t}, secure=True), "/"),
        ("confirmation mail again", "member", lambda c, t: c.post("/accounts/confirm/again/", {"next": t},
                                                                  secure=True), "/"),
        ("moderation: a post's decision", "moderator", lambda c, t: c.post(
            f"/moderation/post/{reply.pk}/act/", {"action": "hide", "category": "spam", "reason": "r", "next": t},
            secure=True), f"/moderation/post/{reply.pk}/"),
        ("moderation: close a report", "moderator", lambda c, t: c.post(
            f"/moderation/reports/{report.pk}/close/", {"outcome": "dismissed", "reason": "r", "next": t},
            secure=True), "/moderation/"),
        ("moderation: lift a ban", "moderator", lambda c, t: c.post(
            f"/moderation/bans/{ban.pk}/lift/", {"reason": "r", "next": t}, secure=True), "/moderation/bans/"),
    ]


def lands_on(location: str) -> tuple[str, str]:
    """Scheme and host a browser may go to for this Location, read more strictly than browsers do
    (WHATWG: tabs and newlines dropped, controls and spaces stripped, backslashes are slashes, any
    number of slashes before a host): a scheme means its host, two slashes or more a host."""
    cleaned = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(33)))).replace("\\", "/")
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    if scheme:
        name, rest = scheme[1].lower(), cleaned[scheme.end():].lstrip("/")
        return name, re.split(r"[/?#]", rest, maxsplit=1)[0] if name in ("http", "https") else ""
    if cleaned.startswith("//"):
        return "https", re.split(r"[/?#]", cleaned.lstrip("/"), maxsplit=1)[0]
    return "https", "testserver"  # a path: this site


def test_no_next_parameter_redirects_off_the_site(world):
    wrong = []
    for name, role, send, default in redirect_endpoints(world):
        for target in EVIL_TARGETS:
            response = rolled_back(lambda: send(client_for(world, role), target))
            if response.status_code != 302 or lands_on(response["Location"]) != ("https", "testserver"):
                wrong.append(f"{name} next={target!r}: {response.status_code} {response.get('Location')!r}")
            elif "evil.example" not in unquote(target) or unquote(target) != target:
                continue
            elif response["Location"] != default:  # refused outright, not merely kept on the site
                wrong.append(f"{name} next={target!r}: {response.get('Location')!r}, not {default!r}")
        # A local target is followed: the refusals above are not a parameter ignored.
        response = rolled_back(lambda: send(client_for(world, role), "/info/?page=1"))
        if response["Location"] != "/info/?page=1":
            wrong.append(f"{name} next='/info/?page=1': {response.get('Location')!r}")
    assert not wrong, "\n".join(wrong)


def test_a_moved_threads_old_address_keeps_its_query_on_the_site(world, django_capture_on_commit_callbacks):
    old = world.thread.get_absolute_url()
    moderation.move_thread(thread=world.thread, board=Board.objects.get(slug="chat"),
                           actor=world.users["moderator"], reason="板違い")
    for query in ("next=//evil.example", "/evil.example", "@evil.example"):
        response = Client().get(f"{old}?{query}", secure=True)
        location = urlsplit(response["Location"])
        assert response.status_code == 301 and not location.netloc and location.path.startswith("/chat/")


# ---- uploaded files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, extension, content_type", [
    ("PNG", "png", "image/png"), ("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp")])
def test_a_figure_is_served_only_as_the_image_it_is(world, fmt, extension, content_type):
    options = {"lossless": True} if fmt == "WEBP" else {}
    figure = figure_actions.store_upload(user=world.users["author"], caption="画面",
                                         image=reencode(image_bytes(fmt, color=(9, 9, 9), **options)))
    actions.create_reply(thread=world.thread, user=world.users["author"],
                         fields=actions.PostFields(body="図です。", figures=(figure,)))
    assert figure.ext == extension
    response = Client().get(f"/media/figures/{figure.name}", secure=True)
    assert response.status_code == 200 and response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'inline; filename="{figure.name}"'
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    assert not security_header_problems(response)
    assert figure.path.stat().st_mode & 0o111 == 0, "a stored upload is never executable"


def test_files_in_media_root_are_served_only_as_figures_of_rows(world, settings):
    media = Path(settings.MEDIA_ROOT)
    planted = {
        "evil.html": b"<script>alert(1)</script>",
        "figures/ab/evil.html": b"<script>alert(1)</script>",
        f"figures/{'a' * 2}/{'a' * 64}.png": b"<html><script>alert(1)</script></html>",  # a figure's name, no row
    }
    for relative, data in planted.items():
        (media / relative).parent.mkdir(parents=True, exist_ok=True)
        (media / relative).write_bytes(data)
    client = Client()
    for url in ["/media/evil.html", "/media/figures/ab/evil.html", f"/media/figures/{'a' * 64}.png",
                "/media/figures/evil.html", "/static/../media/evil.html", "/media/figures/..%2Fevil.html"]:
        response = client.get(url, secure=True)
        assert response.status_code == 404, url
    # Only the figure view answers under /media/; static files never come from MEDIA_ROOT.
    assert [r for r in site_routes() if r.startswith("media/")] == ["media/figures/<str:name>"]
    static_roots = [Path(settings.STATIC_ROOT), *map(Path, settings.STATICFILES_DIRS)]
    assert not any(root == media or media in root.parents or root in media.parents for root in static_roots)
    assert not getattr(settings, "WHITENOISE_ROOT", None)


def test_html_sent_as_an_image_is_refused_and_nothing_is_stored(world, settings):
    from forum.figures.tests.helpers import add_figure

    settings.SECURE_SSL_REDIRECT = False  # the helper posts over plain HTTP

    client = client_for(world, "author")
    response, _token = add_figure(client, "/info/new/", data=b"<html><script>alert(1)</script></html>",
                                  HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert not list((Path(settings.MEDIA_ROOT) / "figures").rglob("*.html"))


# ---- headers on every kind of response ---------------------------------------------------------------------


def test_error_pages_static_files_and_conditional_answers_carry_the_security_headers(world, settings, monkeypatch):
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, "search": (1, 60)}
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True  # static files without collectstatic
    client = Client(raise_request_exception=False)
    seen = {}
    seen[404] = client.get("/no/such/page/", secure=True)
    client.get("/search/", {"q": "楽天"}, secure=True)
    seen[429] = client.get("/search/", {"q": "楽天"}, secure=True)
    seen[413] = client.post("/contact/removal/", {}, CONTENT_LENGTH=str(10**9), secure=True)
    seen["static"] = client.get("/static/css/daiou.css", secure=True)
    page = client.get(world.thread.get_absolute_url(), secure=True)
    seen[304] = client.get(world.thread.get_absolute_url(), HTTP_IF_NONE_MATCH=page["ETag"], secure=True)
    seen["json"] = client.get("/api/indicators.json", secure=True)  # 400: no query
    from django.db import InterfaceError

    import forum.views

    def fails(error):
        def render(*args, **kwargs):
            raise error
        return render

    monkeypatch.setattr(forum.views, "render", fails(RuntimeError("a bug")))
    seen[500] = client.get("/", secure=True)
    monkeypatch.setattr(forum.views, "render", fails(InterfaceError("connection already closed")))
    seen[503] = client.get("/", secure=True)
    assert {k: r.status_code for k, r in seen.items()} == {
        404: 404, 429: 429, 413: 413, "static": 200, 304: 304, "json": 400, 500: 500, 503: 503}
    assert seen["static"]["Content-Type"].startswith("text/css")
    problems = {k: security_header_problems(r) for k, r in seen.items() if security_header_problems(r)}
    assert not problems


# ---- sessions and cookies under HTTPS -----------------------------------------------------------------------


def test_deployed_settings_make_every_cookie_secure():
    from config.tests.test_settings import SECRET, settings_in

    env = {"DEBUG": "0", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "daiou.example"}
    # The language cookie is set by forum.views.switch_language itself (tested below).
    names = ["SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE", "CSRF_COOKIE_SECURE",
             "CSRF_COOKIE_SAMESITE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_CONTENT_TYPE_NOSNIFF",
             "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS", "SECURE_PROXY_SSL_HEADER"]
    values = dict(zip(names, settings_in(env, "[" + ", ".join(f"s.{n}" for n in names) + "]")))
    assert values == {
        "SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_SAMESITE": "Lax",
        "CSRF_COOKIE_SECURE": True, "CSRF_COOKIE_SAMESITE": "Lax", "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31_536_000, "SECURE_CONTENT_TYPE_NOSNIFF": True, "SECURE_REFERRER_POLICY": "same-origin",
        "X_FRAME_OPTIONS": "DENY", "SECURE_PROXY_SSL_HEADER": None}
    behind_proxy = settings_in({**env, "DAIOU_BEHIND_PROXY": "1"}, "s.SECURE_PROXY_SSL_HEADER")
    assert behind_proxy == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_cookies_set_over_https_are_secure_httponly_and_same_site(world):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/", secure=True)
    token = page.cookies["csrftoken"]
    assert token["secure"] and token["samesite"] == "Lax"
    response = client.post("/accounts/login/", {"username": world.users["author"].username, "password": PASSWORD,
                                                "csrfmiddlewaretoken": token.value}, secure=True, **SAME_ORIGIN)
    session = response.cookies[django_settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    language = client.get("/i18n/en/", secure=True).cookies[django_settings.LANGUAGE_COOKIE_NAME]
    assert language["secure"] and language["httponly"] and language["samesite"] == "Lax"


def test_plain_http_is_sent_to_https(world):
    response = Client().get("/info/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/info/"


# ---- rate limits and the login throttle ---------------------------------------------------------------------


def limited(world, settings, scope):
    """The request of `scope` sent until refused: its responses."""
    settings.DAIOU_RATE_LIMITS = {**settings.DAIOU_RATE_LIMITS, scope: (2, 600)}
    settings.DAIOU_FLOOD_SECONDS = 0
    author, member = client_for(world, "author"), client_for(world, "member")
    send = {
        "login_account": lambda n: Client().post("/accounts/login/", {
            "username": world.users["member"].username, "password": "wrong"}, REMOTE_ADDR=f"198.51.100.{n}",
            secure=True),
        "login_ip": lambda n: Client().post("/accounts/login/", {"username": f"guess{n}", "password": "wrong"},
                                            secure=True),
        # One member reporting three things (one open report per target).
        "report": lambda n: member.post(f"/moderation/report/info/{world.thread.number}/{('p1/', 'p2/', '')[n]}",
                                        {"reason": "spam"}, secure=True),
        "search": lambda n: author.get("/search/", {"q": f"楽天 {n}"}, secure=True),
        "lookup": lambda n: author.get("/api/indicators.json", {"q": f"example{n}.com"}, secure=True),
        "removal": lambda n: Client().post("/contact/removal/", {
            "url": "https://testserver/info/1/", "what": "電話番号", "email": "me@example.org"}, secure=True),
        "signup": lambda n: Client().post("/accounts/signup/", {
            "username": f"new{n}", "display_name": f"新人{n}", "email": f"new{n}@example.org",
            "password1": PASSWORD, "password2": PASSWORD}, secure=True),
    }[scope]
    return [send(n) for n in range(3)]


@pytest.mark.parametrize("scope", ["login_account", "login_ip", "report", "search", "lookup", "removal", "signup"])
def test_every_limit_answers_429_with_retry_after(world, settings, scope):
    responses = limited(world, settings, scope)
    assert [r.status_code for r in responses[:2]] != [429, 429]
    refused = responses[2]
    assert refused.status_code == 429, [r.status_code for r in responses]
    assert not security_header_problems(refused)
    if scope != "signup":  # sign-up shows the form again with the message
        assert 0 < int(refused["Retry-After"]) <= 600


def test_posting_too_often_answers_429(world, settings):
    settings.DAIOU_FLOOD_SECONDS = 60
    client = client_for(world, "author")
    url = f"{world.thread.get_absolute_url()}reply/"
    assert client.post(url, {"body": "一つ目", "step": "post"}, secure=True).status_code == 302
    refused = client.post(url, {"body": "二つ目", "step": "post"}, secure=True)
    assert refused.status_code == 429 and not security_header_problems(refused)
