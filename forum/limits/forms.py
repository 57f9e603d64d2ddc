from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import ratelimit


def login_counters(username: str, request) -> list[tuple[str, str]]:
    """The failed-login counters of a user name and of the network a request comes from."""
    ip = ratelimit.client_ip(request) if request is not None else ""
    return [("login_account", (username or "").strip().casefold()), ("login_ip", ratelimit.network_of(ip))]


class Throttled(ValidationError):
    """Over the failed-login limit; `verdict` says for how long (the views answer 429)."""

    def __init__(self, verdict):
        super().__init__(_("Too many failed logins. %(wait)s If you forgot your password, you can set a new one.")
                         % {"wait": verdict.wait_message}, code="throttled")
        self.verdict = verdict


def throttled_response(response, verdict):
    """A form refused for too many failed logins: 429 with Retry-After, as every limit answers."""
    response.status_code = 429
    response["Retry-After"] = str(max(1, verdict.retry_after))
    return response


def check_current_password(user, password: str, request) -> None:
    """A member's password asked again (to delete the account, to change the password): a wrong
    one counts as a failed login of that account and network, and is refused as the login
    is while they are over the limit, so an open session is no faster way to guess it."""
    counters = login_counters(user.get_username(), request)
    for scope, ident in counters:
        if not (verdict := ratelimit.peek(scope, ident)).allowed:
            raise Throttled(verdict)
    if not user.check_password(password):
        for scope, ident in counters:
            ratelimit.hit(scope, ident)
        raise ValidationError(_("That is not your current password: nothing was changed."),
                              code="password_incorrect")


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's password change, its old password checked by check_current_password."""

    throttled: ratelimit.Verdict | None = None

    def __init__(self, user, *args, request=None, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        try:
            check_current_password(self.user, old_password, self.request)
        except Throttled as error:
            self.throttled = error.verdict
            raise
        return old_password


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refused for a while after repeated failures for one user name or
    from one network. The same message whether or not the account exists: the throttle
    tells nobody which names are taken."""

    throttled: ratelimit.Verdict | None = None

    def clean(self):
        counters = login_counters(self.cleaned_data.get("username"), self.request)
        for scope, ident in counters:
            verdict = ratelimit.peek(scope, ident)
            if not verdict.allowed:
                self.throttled = verdict
                raise Throttled(verdict)
        try:
            return super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                for scope, ident in counters:
                    ratelimit.hit(scope, ident)
            raise
