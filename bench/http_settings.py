"""Settings of the HTTP benchmark's server (bench/http_load.py): Daiou's own, plus one URL for the
framework's floor, /bench/bytes/ (bench/http_urls.py)."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.http_urls"
