"""config/gunicorn.conf.py: the production server's settings as the environment gives them."""

import multiprocessing
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def conf(monkeypatch, **environ) -> dict:
    for name in ("DAIOU_WORKERS", "DAIOU_THREADS", "DAIOU_MAX_REQUESTS", "DAIOU_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults_sync_workers_for_the_cores_never_replaced_by_count(monkeypatch):
    c = conf(monkeypatch)
    assert c["workers"] == 2 * multiprocessing.cpu_count() + 1 and c["worker_class"] == "sync"
    assert c["bind"] == ["127.0.0.1:8000"]
    # Replaced together after a fixed count, workers stalled the site (docs/deployment.md).
    assert c["max_requests"] == 0 and c["max_requests_jitter"] == 0


def test_the_environment_changes_them(monkeypatch):
    c = conf(monkeypatch, DAIOU_WORKERS="3", DAIOU_THREADS="4", DAIOU_MAX_REQUESTS="10000", DAIOU_BIND="unix:/run/d.sock")
    assert (c["workers"], c["threads"], c["worker_class"]) == (3, 4, "gthread")
    assert (c["max_requests"], c["max_requests_jitter"]) == (10000, 5000)
    assert c["bind"] == ["unix:/run/d.sock"]
