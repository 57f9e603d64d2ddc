import pytest

from forum.limits import ratelimit


@pytest.fixture
def gate_settings(settings):
    """The gate's defaults (the root conftest turns the flood interval and duplicate check off)."""
    settings.DAIOU_HELD_POSTS = 3
    settings.DAIOU_ESTABLISHED_DAYS = 7
    settings.DAIOU_NEW_MEMBER_LINKS = 2
    settings.DAIOU_FLOOD_SECONDS = 15
    settings.DAIOU_NEW_MEMBER_FLOOD_SECONDS = 30
    settings.DAIOU_DUPLICATE_SECONDS = 600
    return settings


@pytest.fixture
def clock(monkeypatch):
    """The rate limits' clock (seconds since 1970), moved by the test: clock["t"] += 60."""
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(ratelimit, "clock", lambda: now["t"])
    return now
