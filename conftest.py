"""Fixtures every test module may use. Django-specific ones live in the apps' conftest files."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
# The workplace lays shared/ beside the checkout (CI clones main elsewhere, with shared/ beside it).
SHARED = Path(os.environ.get("DAIOU_SHARED", REPO.parent / "shared")).resolve()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        # Never a skip: a test that needs the corpus and cannot find it has failed.
        pytest.fail(f"shared data not found at {SHARED} (set DAIOU_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def seed_path(shared_dir) -> Path:
    return shared_dir / "seeds" / "000_b76d7b869b75e23a.txt"


# --- Roles: members, moderators and admins with their logged-in clients ----------------------
# Imports stay inside the fixtures so that the pure-function tests run without Django.

def _established(user):
    """An established member (forum.limits.gate): what they post is published at once. Made by
    the permission admins grant, so that no test needs posts of theirs it did not ask for.
    Factory accounts have a confirmed e-mail address (only sign-up makes one unconfirmed)."""
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(content_type__app_label="limits", codename="established"))
    return user


@pytest.fixture
def member(db):
    from forum.tests.factories import UserFactory

    return _established(UserFactory(profile__display_name="磯津千由紀", profile__handle="寫眞機廢人",
                                    profile__device="ProOne 600 G1 AiO", profile__os="Win10Pro64"))


@pytest.fixture
def other_member(db):
    from forum.tests.factories import UserFactory

    return _established(UserFactory(profile__display_name="シバケン"))


@pytest.fixture
def new_member(db):
    """Joined today, confirmed, nothing posted yet: the new-member gate applies in full."""
    from forum.tests.factories import UserFactory

    return UserFactory(profile__display_name="新入りの会員")


@pytest.fixture
def moderator(db):
    from django.contrib.auth.models import Group

    from forum.tests.factories import UserFactory

    user = UserFactory(profile__display_name="モデレーター")
    user.groups.add(Group.objects.get(name="moderators"))
    return user


@pytest.fixture
def admin_user(db):
    from forum.tests.factories import UserFactory

    user = UserFactory(profile__display_name="管理者", is_staff=True, is_superuser=True)
    user.save()
    return user


def _client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def member_client(member):
    return _client_for(member)


@pytest.fixture
def other_member_client(other_member):
    return _client_for(other_member)


@pytest.fixture
def new_member_client(new_member):
    return _client_for(new_member)


@pytest.fixture
def moderator_client(moderator):
    return _client_for(moderator)


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture(autouse=True)
def _own_rate_limits(request):
    """Each test counts its own rate limits (flood interval, failed logins…): counts of an
    earlier test for the same user id or address never carry over, whatever the cache."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    import uuid

    from forum.limits import ratelimit

    saved = ratelimit.NAMESPACE
    ratelimit.NAMESPACE = f"{uuid.uuid4().hex[:12]}:"
    ratelimit.circuit.down_until = 0.0
    yield
    ratelimit.NAMESPACE = saved
    ratelimit.circuit.down_until = 0.0


@pytest.fixture(autouse=True)
def fresh_page_cache():
    """Cached pages are named by thread ids and versions, which a rolled-back test database hands
    out again: every test starts with an empty local cache (forum/pagecache.py)."""
    from django.conf import settings

    if settings.configured and "locmem" in settings.CACHES["default"]["BACKEND"]:
        from django.core.cache import cache

        cache.clear()
    if settings.configured:
        from forum.pagecache import local_pages

        local_pages.clear()  # each process's own copies, in front of any cache
        from forum.templatetags import frame

        frame.clear()  # parts of the page frame kept per process (tests change settings and URLs)
        from forum import stencil

        stencil.clear()  # the stencils' cuts, for the same reasons
    yield


# --- Which database this pass runs on -----------------------------------------------------------

def pytest_collection_modifyitems(config, items):
    """Deselect the tests that belong to the other database's pass (see .ci/run)."""
    if not config.pluginmanager.hasplugin("django"):
        return  # pure-function tests run without Django (`-p no:django`)
    from django.conf import settings

    vendor = "postgres" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
    unwanted = {"sqlite": {"postgres"}, "postgres": {"sqlite", "browser"}}[vendor]
    keep, drop = [], []
    for item in items:
        (drop if unwanted & {m.name for m in item.iter_markers()} else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --- Headless Chromium (Debian's) through Playwright --------------------------------------------

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def browser(monkeypatch):
    """One Chromium per test: Playwright's event loop must not outlive the test, or Django's
    connections (asgiref locals) are looked up in the loop's context by the tests after it."""
    import shutil

    chromium = shutil.which("chromium")
    if chromium is None:
        message = "Debian's chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API keeps an event loop in this thread; the Django calls the tests
    # make between browser steps are ordinary synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def pytest_configure(config):
    if config.pluginmanager.hasplugin("django"):
        from django.conf import settings

        # The real hasher is slow by design; tests log in hundreds of times.
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        # Tests post again within seconds, and the same text twice: no flood interval and no
        # duplicate check unless a test sets them (forum/limits/tests test both).
        settings.DAIOU_FLOOD_SECONDS = settings.DAIOU_NEW_MEMBER_FLOOD_SECONDS = 0
        settings.DAIOU_DUPLICATE_SECONDS = 0
