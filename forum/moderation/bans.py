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

import functools
import ipaddress

from django.db import router
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from forum.precompiled import Precompiled

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
    member = user.pk if user is not None and user.is_authenticated and action != SIGNUP else None
    address = _ip(ip)
    if email and action == SIGNUP:
        wanted = Q(kind=Ban.Kind.EMAIL, value=email.strip().lower()) | Q(kind=Ban.Kind.DOMAIN,
                                                                         value__in=email_domains(email))
        if address is not None:
            wanted |= Q(kind=Ban.Kind.IP, value__in=networks_holding(address))
        found = Ban.objects.active().filter(wanted)
    elif member is None and address is None:
        return None
    else:  # a post, an edit, a report, a sign-up without an address: a query written once per process
        found = _bans_of(member, address)
    # Member sanctions first (their message names the period), then addresses.
    order = {Ban.Kind.ACCOUNT: 0, Ban.Kind.SUSPEND: 1, Ban.Kind.SILENCE: 2}
    bans = sorted(found, key=lambda b: (order.get(b.kind, 3), b.pk))
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


def _bans_of(member: int | None, address) -> list:
    """The bans in force of a member (id) and of the ranges holding an address: refusal_for's
    query for posts, edits and reports, from a Precompiled (building it cost ten times running it)."""
    from .models import Ban

    networks = networks_holding(address) if address is not None else []
    query = _bans_query(router.db_for_read(Ban), member is not None,
                        address.version if address is not None else None)
    now = timezone.now()
    # BanQuerySet.active's test, row by row: a time cannot be a stand-in.
    return [ban for ban in query(*([member] if member is not None else []), *networks)
            if ban.starts_at <= now and (ban.ends_at is None or ban.ends_at > now)]


@functools.cache
def _bans_query(alias: str, member: bool, ip_version: int | None) -> Precompiled:
    """The bans not lifted of a member and of the ranges holding an address of one IP version."""
    from .models import Ban

    stand_ins, wanted = [], Q()
    if member:
        stand_ins.append(Precompiled.stand_in(0))
        wanted |= Q(user_id=stand_ins[0], kind__in=Ban.MEMBER_KINDS)
    if ip_version is not None:
        top = 32 if ip_version == 4 else 128
        networks = [Precompiled.stand_in(n, str) for n in range(top - MIN_PREFIX[ip_version] + 1)]
        stand_ins += networks
        wanted |= Q(kind=Ban.Kind.IP, value__in=networks)
    return Precompiled(Ban.objects.filter(wanted, lifted_at__isnull=True).order_by(), alias, tuple(stand_ins))
