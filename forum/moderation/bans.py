"""Enforcing bans: one function says whether someone may post, edit, report or sign up.

    refusal_for(user=None, ip=None, email=None, action="post") -> str | None

returns None when nothing forbids it, otherwise the message to show (already translated).
What is checked depends on what is given and on the action:

- user: silenced members may not post or edit; suspended and banned accounts may not post,
  edit or report;
- ip (a string, as forum.limits.ratelimit.client_ip gives it): a banned IP range may not post, edit, report or sign up;
- email: a banned address or domain (and its subdomains) may not sign up.

forum.actions calls it with the user for every post and edit (so ingest_email follows it too);
the new-member gate (forum.limits.gate) calls it with the IP address from the composer, and
with the e-mail address at sign-up. One query.
"""

from __future__ import annotations

import ipaddress

from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

POST, EDIT, REPORT, SIGNUP = "post", "edit", "report", "signup"
ACTIONS = (POST, EDIT, REPORT, SIGNUP)


def email_domains(email: str) -> list[str]:
    """The domain of an address and every parent domain: mail.example.co.jp, example.co.jp, co.jp, jp."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    labels = [label for label in domain.split(".") if label]
    return [".".join(labels[i:]) for i in range(len(labels))]


# The broadest ranges a ban may cover: anything wider would lock out whole providers.
MIN_PREFIX = {4: 16, 6: 32}


def _ip(value: str | None):
    try:
        address = ipaddress.ip_address((value or "").strip()) if value else None
    except ValueError:
        return None
    if address is not None and address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address


def ip_network(value: str):
    """A range as stored (203.0.113.0/24; one address is a /32 or /128), or ValueError."""
    network = ipaddress.ip_network(value.strip(), strict=False)
    if network.prefixlen < MIN_PREFIX[network.version]:
        raise ValueError(f"wider than /{MIN_PREFIX[network.version]}")
    return network


def networks_holding(address) -> list[str]:
    """Every range a ban may name that holds `address`, as stored: one indexed lookup."""
    top = address.max_prefixlen
    return [str(ipaddress.ip_network(f"{address}/{length}", strict=False))
            for length in range(MIN_PREFIX[address.version], top + 1)]


def _until(ban) -> str:
    return formats.date_format(timezone.localtime(ban.ends_at), "DATETIME_FORMAT") if ban.ends_at else ""


def _member_message(ban, action: str) -> str | None:
    from .models import Ban

    if ban.kind == Ban.Kind.SILENCE and action not in (POST, EDIT):
        return None
    if ban.kind == Ban.Kind.ACCOUNT:
        return _("This account is banned: it may not post, edit or report.")
    if ban.kind == Ban.Kind.SUSPEND:
        if ban.ends_at:
            return _("Your account is suspended until %(until)s: until then you may not post, edit or report.") % {
                "until": _until(ban)}
        return _("Your account is suspended: you may not post, edit or report.")
    if ban.ends_at:
        return _("You have been silenced until %(until)s: until then you may not post.") % {"until": _until(ban)}
    return _("You have been silenced: you may not post.")


def refusal_for(*, user=None, ip: str | None = None, email: str | None = None, action: str = POST) -> str | None:
    """The message refusing `action` to this user, address or e-mail, or None (see the module)."""
    from .models import Ban

    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    wanted = Q()
    if user is not None and user.is_authenticated and action != SIGNUP:
        wanted |= Q(user=user, kind__in=Ban.MEMBER_KINDS)
    address = _ip(ip)
    if address is not None:
        wanted |= Q(kind=Ban.Kind.IP, value__in=networks_holding(address))
    if email and action == SIGNUP:
        wanted |= Q(kind=Ban.Kind.EMAIL, value=email.strip().lower())
        wanted |= Q(kind=Ban.Kind.DOMAIN, value__in=email_domains(email))
    if not wanted:
        return None
    # Member sanctions first (their message names the period), then addresses.
    order = {Ban.Kind.ACCOUNT: 0, Ban.Kind.SUSPEND: 1, Ban.Kind.SILENCE: 2}
    bans = sorted(Ban.objects.active().filter(wanted), key=lambda b: (order.get(b.kind, 3), b.pk))
    for ban in bans:
        if ban.kind in Ban.MEMBER_KINDS:
            message = _member_message(ban, action)
            if message:
                return message
        elif ban.kind == Ban.Kind.IP:
            if action == SIGNUP:
                return _("Sign-up is not possible from this network. Write to us if you think this is a mistake.")
            return _("Posting is not possible from this network. Write to us if you think this is a mistake.")
        else:
            return _("Sign-up with this e-mail address is not possible.")
    return None
