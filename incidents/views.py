"""Thin views: reads through QuerySet methods and incidents.api, writes through incidents.actions.

No page puts an indicator in an href or src: values are printed as defanged text, and links to
the lookup carry the defanged form.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.http import Http404, HttpResponse, HttpResponseNotModified, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from forum.limits.ratelimit import rate_limited
from forum.models import Thread
from forum.moderation import roles

from . import actions, api, exports
from .forms import IndicatorFilterForm, ReviewForm
from .indexing import current_token
from .lookup import parse_query
from .models import Brand, Indicator, QuotedMail, Sighting

LIST_LENGTH = 50
SIGHTINGS_PER_PAGE = 100
MAX_SIGHTING_PAGE = 1000
BRAND_QUOTES_SHOWN = 100
EXPORT_MAX_AGE = 300
# Exports smaller than this are kept whole in the cache; larger ones are only streamed.
EXPORT_CACHE_BYTES = 4 * 1024 * 1024


MAX_ID = 2**31 - 1  # past this no row exists, and PostgreSQL would refuse the number outright


def _id_or_404(value: int) -> int:
    if value > MAX_ID:
        raise Http404(_("No such page."))
    return value


def _brands():
    return list(Brand.objects.only("slug", "name", "name_en"))


@require_GET
@rate_limited("lookup", when=lambda request: bool(request.GET.get("q")))
def indicator_list(request):
    brands = _brands()
    form = IndicatorFilterForm(request.GET or None, brands=brands)
    context = {"form": form, "brands": brands}
    if request.GET and not form.is_valid():
        return render(request, "incidents/indicator_list.html", context, status=400)
    data = form.cleaned_data if request.GET else {}
    kind, brand = data.get("kind") or None, form.brands.get(data.get("brand") or "")
    if data.get("q"):
        query = parse_query(data["q"])
        lookup = api.lookup_data(query, request.build_absolute_uri)
        sections = [{"name": "exact", "title": _("Exact match"), "rows": lookup["exact"],
                     "empty": _("Nothing quoted on Daiou is exactly this.")}]
        if query.host:
            sections.append({"name": "same-host", "title": _("Same host"), "rows": lookup["same_host"],
                             "empty": _("Nothing else quoted on this host.")})
        if query.registrable_domain:
            sections.append({"name": "same-domain", "title": _("Same registrable domain"),
                             "rows": lookup["same_domain"],
                             "empty": _("Nothing else quoted under this registrable domain.")})
        context.update({"query": query, "lookup": lookup, "lookup_sections": sections})
        return render(request, "incidents/indicator_list.html", context)
    listed = Indicator.objects.seen().of_kind(kind).of_brand(brand).for_list()
    context.update({
        "kind": kind, "brand": brand,
        "newest": listed.newest()[:LIST_LENGTH],
        "most_seen": listed.most_seen()[:LIST_LENGTH],
    })
    return render(request, "incidents/indicator_list.html", context)


def _page(request) -> int:
    raw = request.GET.get("page", "1")
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_SIGHTING_PAGE:
        raise Http404(_("No such page."))
    return int(raw)


@require_GET
def indicator_detail(request, pk):
    indicator = get_object_or_404(Indicator.objects.select_related("brand", "reviewed_by"), pk=_id_or_404(pk))
    moderator = actions.can_review(request.user)
    page = _page(request)
    sightings = (Sighting.objects.filter(indicator=indicator)
                 .select_related("post", "thread__board", "quote")
                 .only("role", "count", "written", "seen_at", "part", "post__position", "post__hidden",
                       "thread__number", "thread__title", "thread__hidden", "thread__board__slug",
                       "thread__board__name", "quote__number", "quote__subject")
                 .order_by("-seen_at", "-id"))
    if not moderator:
        shown = Q(post__hidden=False, thread__hidden=False)
        if request.user.is_authenticated:  # a board's moderator sees that board's hidden posts too
            shown |= Q(thread__board__in=roles.moderated_boards_subquery(request.user))
        sightings = sightings.filter(shown)
    start = (page - 1) * SIGHTINGS_PER_PAGE
    rows = list(sightings[start:start + SIGHTINGS_PER_PAGE + 1])
    return render(request, "incidents/indicator_detail.html", {
        "indicator": indicator, "sightings": rows[:SIGHTINGS_PER_PAGE], "page": page,
        "has_next": len(rows) > SIGHTINGS_PER_PAGE, "moderator": moderator,
        "reviews": indicator.reviews.all()[:20] if moderator else [],
        "review_form": ReviewForm(initial={"verdict": indicator.verdict}) if moderator else None,
    })


@require_POST
def indicator_review(request, pk):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not actions.can_review(request.user):
        raise PermissionDenied(_("Only moderators may review indicators."))
    indicator = get_object_or_404(Indicator, pk=_id_or_404(pk))
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            actions.review_indicator(indicator=indicator, actor=request.user, verdict=form.cleaned_data["verdict"],
                                     reason=form.cleaned_data["reason"])
        except actions.ReviewRefused as refused:
            form.add_error(None, str(refused))
        else:
            messages.success(request, _("The review has been saved."))
            return redirect(indicator)
    indicator = Indicator.objects.select_related("brand", "reviewed_by").get(pk=pk)
    return render(request, "incidents/indicator_detail.html", {
        "indicator": indicator, "sightings": [], "page": 1, "has_next": False, "moderator": True,
        "reviews": indicator.reviews.all()[:20], "review_form": form,
    }, status=400)


@require_GET
def brand_list(request):
    brands = Brand.objects.annotate(quote_count=Count("quoted_mails")).order_by("name")
    return render(request, "incidents/brand_list.html", {"brands": brands})


@require_GET
def brand_detail(request, slug):
    brand = get_object_or_404(Brand, slug=slug)
    quotes = QuotedMail.objects.filter(brand=brand, post__hidden=False, thread__hidden=False)
    months = list(quotes.annotate(month=TruncMonth("posted_at")).values("month").annotate(count=Count("id"))
                  .order_by("-month"))
    recent = (quotes.select_related("post", "thread__board")
              .only("number", "subject", "sender_name", "posted_at", "post__position", "thread__number",
                    "thread__title", "thread__board__slug", "thread__board__name")
              .order_by("-posted_at", "-id")[:BRAND_QUOTES_SHOWN])
    indicators = Indicator.objects.seen().of_brand(brand).for_list().most_seen()[:LIST_LENGTH]
    return render(request, "incidents/brand_detail.html", {
        "brand": brand, "months": months, "busiest": max((m["count"] for m in months), default=0),
        "quotes": recent, "indicators": indicators,
    })


# --- exports and API ---------------------------------------------------------------------------

def _conditional(request, token: str):
    etag = f'"{token}"'
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponseNotModified()
        response["ETag"] = etag
        return etag, response
    return etag, None


def _export(request, name: str, content_type: str, filename: str, chunks):
    token = current_token()
    etag, not_modified = _conditional(request, token)
    if not_modified:
        return not_modified
    key = f"incidents:export:{name}:{request.build_absolute_uri('/')}:{token}"
    whole = cache.get(key)
    if whole is not None:
        response = HttpResponse(whole, content_type=content_type)
    else:
        response = StreamingHttpResponse(_keeping(chunks(token), key), content_type=content_type)
    response["ETag"] = etag
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    patch_cache_control(response, public=True, max_age=EXPORT_MAX_AGE)
    return response


def _keeping(chunks, key: str):
    """Stream the chunks; keep the whole text in the cache when it is small."""
    kept, size = [], 0
    for chunk in chunks:
        data = chunk.encode("utf-8")
        size += len(data)
        if kept is not None:
            kept.append(data)
            if size > EXPORT_CACHE_BYTES:
                kept = None
        yield data
    if kept is not None:
        cache.set(key, b"".join(kept), api.CACHE_SECONDS)


@require_GET
def export_csv(request):
    return _export(request, "csv", "text/csv; charset=utf-8", "daiou-indicators.csv",
                   lambda token: exports.csv_lines(request.build_absolute_uri))


@require_GET
def export_stix(request):
    return _export(request, "stix", "application/stix+json; charset=utf-8", "daiou-indicators.stix.json",
                   lambda token: exports.stix_chunks(request.build_absolute_uri, token))


def _json(data, status=200):
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    patch_cache_control(response, public=status == 200, max_age=60 if status == 200 else 0)
    return response


@require_GET
@rate_limited("lookup", json=True)
def api_lookup(request):
    form = IndicatorFilterForm({"q": request.GET.get("q", "")})
    if not form.is_valid():
        return _json({"error": " ".join(form.errors.get("q", []))}, status=400)
    if not form.cleaned_data["q"]:
        return _json({"error": _("Give ?q= a URL, host, mail address or phone number.")}, status=400)
    return _json(api.lookup_data(parse_query(form.cleaned_data["q"]), request.build_absolute_uri))


@require_GET
def api_thread(request, board, number):
    thread = None
    if number <= MAX_ID:
        thread = (Thread.objects.visible_to(request.user).select_related("board")
                  .filter(board__slug=board, number=number).first())
    if thread is None:
        return _json({"error": _("No such thread.")}, status=404)
    moderator = roles.can_moderate(request.user, thread.board_id)  # hidden and held posts in full
    return _json(api.thread_data(thread, moderator=moderator, absolute=request.build_absolute_uri))
