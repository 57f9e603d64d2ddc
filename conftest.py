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
