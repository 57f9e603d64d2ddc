"""Serving a figure's file: only the stored re-encoding, only as the image it is."""

from django.http import FileResponse, Http404, HttpResponseNotModified
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_safe

from forum.blocks import FIGURE_NAME

from .images import CONTENT_TYPES
from .models import Figure, file_path

# The file is an image and nothing in it may run or load, even if opened on its own.
FIGURE_CSP = {"default-src": [CSP.NONE], "img-src": [CSP.SELF], "style-src": [CSP.NONE], "sandbox": True,
              "frame-ancestors": [CSP.NONE], "base-uri": [CSP.NONE], "form-action": [CSP.NONE]}
YEAR = 365 * 24 * 3600


@require_safe
@csp_override(FIGURE_CSP)
def figure_file(request, name):
    match = FIGURE_NAME.fullmatch(name)
    if match is None:
        raise Http404("No such figure.")
    rows = Figure.objects.filter(sha256=match[1], ext=match[2])
    # Readers' files are decided without touching the session, so their responses carry no
    # Vary: Cookie and may be cached anywhere; the content never changes under its name.
    if rows.public().exists():
        cache = f"public, max-age={YEAR}, immutable"
    elif rows.visible_to(request.user).exists():
        cache = "private, no-cache"  # an unattached figure or a hidden post's: until that changes
    else:
        raise Http404("No such figure.")
    etag = f'"{match[1]}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    else:
        try:
            response = FileResponse(file_path(match[1], match[2]).open("rb"), content_type=CONTENT_TYPES[match[2]])
        except FileNotFoundError:
            raise Http404("No such figure.") from None
        response["Content-Disposition"] = f'inline; filename="{name}"'
    response["ETag"] = etag
    response["Cache-Control"] = cache
    response["X-Content-Type-Options"] = "nosniff"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
