"""Requests larger than any form of Daiou's can be are refused before their body is read.

Django caps form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not uploaded files, which it streams
to disk whatever their size. The largest request a page makes is one upload (a mail or an
image, 10 MB each) with the composer's fields, so anything declaring more than
DAIOU_MAX_REQUEST_BYTES gets 413 and a page that says so, without a byte of it being read.
"""

from django.conf import settings
from django.shortcuts import render


class RequestTooLargeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if declared.isdecimal() and int(declared) > settings.DAIOU_MAX_REQUEST_BYTES:
            return render(request, "413.html", {"limit_mb": settings.DAIOU_MAX_REQUEST_BYTES // 2**20}, status=413)
        return self.get_response(request)
