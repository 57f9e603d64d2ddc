from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from . import ratelimit


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's login form, refused for a while after repeated failures for one user name or
    from one network. The same message whether or not the account exists: the throttle
    tells nobody which names are taken."""

    throttled: ratelimit.Verdict | None = None

    def _counters(self) -> list[tuple[str, str]]:
        username = (self.cleaned_data.get("username") or "").strip().casefold()
        ip = ratelimit.client_ip(self.request) if self.request is not None else ""
        return [("login_account", username), ("login_ip", ratelimit.network_of(ip))]

    def clean(self):
        counters = self._counters()
        for scope, ident in counters:
            verdict = ratelimit.peek(scope, ident)
            if not verdict.allowed:
                self.throttled = verdict
                raise ValidationError(
                    _("Too many failed logins. %(wait)s If you forgot your password, you can set a new one.")
                    % {"wait": verdict.wait_message}, code="throttled")
        try:
            return super().clean()
        except ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                for scope, ident in counters:
                    ratelimit.hit(scope, ident)
            raise
