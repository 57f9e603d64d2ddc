"""Members' pages of forum.watching: POST forms with CSRF, no JavaScript."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from forum.models import Thread
from forum.views import post_url

from . import actions, queries


@require_GET
@login_required
def notifications(request):
    rows = list(queries.notifications_of(request.user))
    for row in rows:
        row.url = post_url(row.thread, row.post.position)
    return render(request, "watching/notifications.html", {
        "notifications": rows,
        "digest": queries.digest_enabled(request.user),
    })


@require_POST
@login_required
def read(request):
    ids = request.POST.getlist("notification")
    actions.mark_read(request.user, [int(i) for i in ids if i.isdigit()] if ids else None)
    return redirect("watching:notifications")


@require_POST
@login_required
def digest(request):
    enabled = request.POST.get("enabled") == "on"
    actions.set_digest(request.user, enabled, language=request.LANGUAGE_CODE)
    messages.success(request, _("You will get a daily e-mail digest.") if enabled
                     else _("You will get no e-mail digest."))
    return redirect("watching:notifications")


def _thread(request, pk: int) -> Thread:
    return get_object_or_404(Thread.objects.visible_to(request.user).select_related("board"), pk=pk)


@require_POST
@login_required
def watch(request, pk):
    thread = _thread(request, pk)
    actions.watch(thread, request.user)
    return redirect(thread)


@require_POST
@login_required
def unwatch(request, pk):
    thread = _thread(request, pk)
    actions.unwatch(thread, request.user)
    return redirect(thread)
