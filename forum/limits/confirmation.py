"""A new member confirms their e-mail address by opening a signed link that expires.

Nothing is stored for the link itself: it carries the member's id and a digest of the address,
signed with SECRET_KEY (django.core.signing) and dated, so it stops working after
DAIOU_CONFIRMATION_DAYS or once the address changes. Until then a PendingConfirmation row says
the member may not post.
"""

import functools
import hashlib
import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.mail import send_mail
from django.db import router
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from forum.precompiled import Precompiled

from .models import PendingConfirmation

log = logging.getLogger("daiou.limits")
SALT = "forum.limits.confirmation"


class BadLink(Exception):
    """The link is damaged, expired, or for an address the account no longer has."""


def _address_digest(email: str) -> str:
    return hashlib.sha256(email.strip().casefold().encode()).hexdigest()[:16]


def require(user) -> None:
    """The member must confirm their address before posting (called at sign-up)."""
    PendingConfirmation.objects.get_or_create(user=user)


def is_pending(user) -> bool:
    return user.is_authenticated and bool(_pending_query(router.db_for_read(PendingConfirmation))(user.pk))


@functools.cache
def _pending_query(alias: str) -> Precompiled:
    """Whether a member's address waits for confirmation (asked on every post), its SQL written
    once per process."""
    member = Precompiled.stand_in(0)
    return Precompiled(PendingConfirmation.objects.filter(user_id=member).values_list("pk")[:1], alias, (member,))


def pending_message(user) -> str:
    return _("Confirm your e-mail address before you post: open the link we sent to %(email)s.") % {
        "email": user.email}


def make_token(user) -> str:
    return signing.dumps({"u": user.pk, "e": _address_digest(user.email)}, salt=SALT)


def read_token(token: str):
    """The member the link confirms; BadLink if it is damaged, expired or out of date."""
    try:
        data = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.DAIOU_CONFIRMATION_DAYS))
    except signing.SignatureExpired:
        raise BadLink(_("This confirmation link has expired.")) from None
    except signing.BadSignature:
        raise BadLink(_("This confirmation link is damaged: copy the whole link from the mail.")) from None
    user = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None or data.get("e") != _address_digest(user.email):
        raise BadLink(_("This confirmation link is for an address the account no longer has."))
    return user


def confirm(user) -> bool:
    """Mark the address confirmed; False if it was already."""
    deleted, _rows = PendingConfirmation.objects.filter(user=user).delete()
    return bool(deleted)


def send(request, user) -> bool:
    """Mail the member their link; False (and a log line) if the mail could not be sent."""
    link = request.build_absolute_uri(reverse("limits:confirm", args=[make_token(user)]))
    context = {"user": user, "link": link, "days": settings.DAIOU_CONFIRMATION_DAYS}
    subject = " ".join(render_to_string("limits/confirmation_subject.txt", context, request).split())
    body = render_to_string("limits/confirmation_mail.txt", context, request)
    try:
        send_mail(subject, body, None, [user.email])
    except (OSError, smtplib.SMTPException) as error:
        log.warning("confirmation mail to member %s not sent: %s", user.pk, error)
        return False
    return True
