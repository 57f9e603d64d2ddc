"""Settings come from the environment: each case runs Django in a fresh process with its own."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET = "a-real-secret-" + "x" * 50


def settings_in(env: dict, expression: str):
    code = (
        "import django, json, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
        f"from django.conf import settings as s; print(json.dumps({expression}, default=str))"
    )
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "REDIS_URL", "DAIOU_HTTPS", "ALLOWED_HOSTS"}}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**clean, **env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_nothing_set_means_sqlite_under_var_debug_on_and_local_memory_cache(tmp_path):
    values = settings_in({"DAIOU_VAR_DIR": str(tmp_path)},
                         "[s.DEBUG, s.DATABASES['default']['ENGINE'], str(s.DATABASES['default']['NAME']),"
                         " s.CACHES['default']['BACKEND'], s.TIME_ZONE, s.LANGUAGE_CODE]")
    assert values == [True, "config.sqlite", str(tmp_path / "daiou.sqlite3"),
                      "django.core.cache.backends.locmem.LocMemCache", "Asia/Tokyo", "ja"]
    assert (tmp_path / "secret_key").exists(), "a local secret is made once, outside git"


def test_database_url_selects_sqlite_or_postgres_with_a_pool(tmp_path):
    sqlite = settings_in({"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, "s.DATABASES['default']")
    assert sqlite["NAME"] == f"{tmp_path}/x.db" and sqlite["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    pg = settings_in({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/daiou", "DB_POOL_MAX": "7"},
                     "s.DATABASES['default']")
    assert pg["ENGINE"] == "django.db.backends.postgresql" and pg["NAME"] == "daiou"
    assert pg["OPTIONS"]["pool"]["max_size"] == 7 and pg["CONN_MAX_AGE"] == 0
    # SQLite: each process keeps its connection; PostgreSQL: prepared statements unless turned off.
    assert sqlite["CONN_MAX_AGE"] is None and pg["OPTIONS"]["prepare_threshold"] == 5
    off = settings_in({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/daiou", "DB_PREPARE_THRESHOLD": "0"},
                      "s.DATABASES['default']['OPTIONS']['prepare_threshold']")
    assert off is None


def test_redis_url_selects_djangos_redis_cache():
    cache = settings_in({"REDIS_URL": "redis://127.0.0.1:6379/1"}, "s.CACHES['default']")
    # Django's RedisCache, degrading to "no cache" while Redis is down (config/cache.py).
    assert cache["BACKEND"] == "config.cache.ResilientRedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/1"


def test_debug_off_turns_https_on_unless_the_environment_turns_it_off():
    env = {"DEBUG": "0", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "daiou.example"}
    expression = "[s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0]"
    assert settings_in(env, expression) == [True, True, True, True]
    assert settings_in({**env, "DAIOU_HTTPS": "0"}, expression) == [False, False, False, False]


def test_debug_off_needs_a_secret():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "DEBUG": "0", "SECRET_KEY": ""}, timeout=60)
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_check_deploy_passes_with_debug_off_and_a_real_secret():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=REPO,
        env={**os.environ, "DEBUG": "0", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "daiou.example"},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name, value", [("DEBUG", "maybe"), ("DB_POOL_MAX", "ten"), ("DAIOU_HTTPS", "perhaps"), ("DATABASE_URL", "mysql://x/y")])
def test_a_bad_value_is_a_clear_error(name, value):
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1/x", name: value},
                            timeout=60)
    assert result.returncode != 0 and name in result.stderr


def test_with_debug_off_static_files_get_hashed_names_served_by_whitenoise(tmp_path):
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "testserver", "DAIOU_HTTPS": "0",
           "STATIC_ROOT": str(tmp_path / "static"), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3"}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    for command in (["collectstatic", "--no-input", "-v0"], ["migrate", "-v0"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
    code = (
        "import django, os, re; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup();"
        "from django.test import Client; c = Client();"
        "page = c.get('/accounts/login/').content.decode();"
        "css = re.search(r'/static/css/daiou\\.[0-9a-f]{12}\\.css', page).group(0);"
        "r = c.get(css); print(r.status_code, r['Cache-Control'])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    status, cache_control = result.stdout.split(" ", 1)
    assert status == "200" and "max-age=315360000" in cache_control and "immutable" in cache_control
