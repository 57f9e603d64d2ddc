"""A member's own data (forum.accounts): the download, the deletion form, the privacy page."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import accounts
from .forms import DeleteAccountForm
from .limits.forms import throttled_response


@require_GET
@login_required
def download_data(request):
    data = accounts.export_data(request.user)
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8")
    # A user name may be Japanese: the helper writes filename* (RFC 6266) for it.
    response["Content-Disposition"] = content_disposition_header(
        True, f"daiou-{request.user.get_username()}-data.json")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def delete_account(request):
    form = DeleteAccountForm(request.POST or None, user=request.user, request=request)
    if request.method == "POST":
        if form.is_valid():
            accounts.delete_account(request.user, reason="deleted their own account")
            logout(request)
            messages.success(request, _("Your account has been deleted. Your posts stay, shown as written by "
                                        "退会したメンバー."))
            return redirect("home")
        response = render(request, "registration/delete_account.html", {"form": form}, status=400)
        return throttled_response(response, form.throttled) if form.throttled else response
    return render(request, "registration/delete_account.html", {"form": form})


@require_GET
def privacy(request):
    """The lifetimes it states are read from the settings, so the page stays true to them."""
    return render(request, "privacy.html", {
        "removal_url": reverse("removal_request"),
        "session_days": settings.SESSION_COOKIE_AGE // 86400,
        "rate_minutes": max(seconds for _count, seconds in settings.DAIOU_RATE_LIMITS.values()) // 60,
    })
