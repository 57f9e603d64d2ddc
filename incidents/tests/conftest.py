"""Fixtures of the incidents tests that touch the database."""
import importlib

import pytest

from incidents.brands import BrandCatalogue, BrandEntry


@pytest.fixture(autouse=True)
def fresh_cache():
    """Cache keys carry a change token that a rolled-back test database may hand out again."""
    from django.conf import settings

    if not settings.configured:  # pure-function tests run without Django (-p no:django)
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def seeded_brands() -> list[tuple]:
    """The brands migration 0002 creates, as (slug, name, name_en, aliases, domains, keywords)."""
    return importlib.import_module("incidents.migrations.0002_brands").BRANDS


@pytest.fixture(scope="session")
def catalogue() -> BrandCatalogue:
    """The seeded brands without a database; ids are positions in the migration's list, from 1."""
    return BrandCatalogue(
        BrandEntry(i, name, (*aliases, name_en), tuple(domains), tuple(keywords))
        for i, (slug, name, name_en, aliases, domains, keywords) in enumerate(seeded_brands(), 1))


@pytest.fixture(scope="session")
def brand_ids() -> dict[str, int]:
    """Slug → id in the `catalogue` fixture."""
    return {brand[0]: i for i, brand in enumerate(seeded_brands(), 1)}


@pytest.fixture
def seed(db, seed_path, django_capture_on_commit_callbacks):
    """The seed imported the way the site does it: indicators follow through posts_changed."""
    from forum.archive_io import import_volume

    with django_capture_on_commit_callbacks(execute=True):
        import_volume(seed_path.read_text(encoding="utf-8"), "seed")
