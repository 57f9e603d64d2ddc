"""Daiou's URLs plus the reference view of the HTTP benchmark: /bench/bytes/ answers the bytes
of a thread page (DAIOU_BENCH_BYTES, a file read once) through the whole middleware stack,
with no query and no template: what Django itself costs for a page of that size."""

import os
from pathlib import Path

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as daiou

PAGE = Path(os.environ["DAIOU_BENCH_BYTES"]).read_bytes() if os.environ.get("DAIOU_BENCH_BYTES") else b""


def same_bytes(request):
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


urlpatterns = [path("bench/bytes/", same_bytes), *daiou]
