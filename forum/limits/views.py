"""Confirming an e-mail address, sending the link again, and the throttled login."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import confirmation, ratelimit
from .forms import ThrottledAuthenticationForm, ThrottledPasswordChangeForm, throttled_response


class _AnswersThrottledWith429:
    def form_invalid(self, form):
        response = super().form_invalid(form)
        return throttled_response(response, form.throttled) if form.throttled is not None else response


class LoginView(_AnswersThrottledWith429, auth_views.LoginView):
    form_class = ThrottledAuthenticationForm


class PasswordChangeView(_AnswersThrottledWith429, auth_views.PasswordChangeView):
    """Django's password change; wrong old passwords count as failed logins (the form)."""

    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


def confirm(request, token):
    """GET shows the button, POST confirms: a mail scanner that follows links confirms nothing."""
    try:
        member = confirmation.read_token(token)
    except confirmation.BadLink as bad:
        return render(request, "limits/confirm.html", {"problem": str(bad)}, status=400)
    if not confirmation.is_pending(member):
        messages.info(request, _("Your e-mail address is confirmed already."))
        return redirect("home")
    if request.method == "POST":
        confirmation.confirm(member)
        if request.user == member:
            messages.success(request, _("Thank you: your e-mail address is confirmed. You can post now."))
            return redirect("home")
        messages.success(request, _("Thank you: your e-mail address is confirmed. Log in to post."))
        return redirect("login")
    return render(request, "limits/confirm.html", {"member": member})


@require_POST
@login_required
def send_again(request):
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "home"
    if not confirmation.is_pending(request.user):
        messages.info(request, _("Your e-mail address is confirmed already."))
        return redirect(target)
    verdict = ratelimit.hit("confirmation", str(request.user.pk))
    if not verdict.allowed:
        return ratelimit.too_many(request, verdict, message=_("We have sent you several links already."))
    if confirmation.send(request, request.user):
        messages.success(request, _("We sent a new link to %(email)s. It works for %(days)d days.") % {
            "email": request.user.email, "days": settings.DAIOU_CONFIRMATION_DAYS})
    else:
        messages.error(request, _("The mail could not be sent just now. Please try again later."))
    return redirect(target)
