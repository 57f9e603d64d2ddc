"""What the limits keep in the database: rate-limit windows while the cache is down, members
who have not confirmed their e-mail address, and the "established member" permission."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RateCounter(models.Model):
    """One rate-limit window (forum.limits.ratelimit), held here only while the cache does not
    answer. Times are whole seconds since 1970, so one UPSERT serves SQLite and PostgreSQL."""

    slot = models.CharField(max_length=100, primary_key=True)
    started = models.BigIntegerField()
    count = models.PositiveIntegerField()
    expires = models.BigIntegerField(db_index=True)

    def __str__(self):
        return f"{self.slot}: {self.count}"


class PendingConfirmation(models.Model):
    """A member who signed up and has not confirmed their e-mail address yet: they may read and
    log in but not post. The row goes when they confirm. Accounts without a row (made by an
    admin, or before sign-up asked for confirmation) count as confirmed."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+", verbose_name=_("member"))
    created_at = models.DateTimeField(_("signed up at"), auto_now_add=True)

    class Meta:
        verbose_name = _("unconfirmed e-mail address")
        verbose_name_plural = _("unconfirmed e-mail addresses")

    def __str__(self):
        return str(self.user)


class Gate(models.Model):
    """No table: it only carries the gate's permission, which admins grant to members (or a
    group) they vouch for; such a member counts as established whatever their history."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("established", _("Counts as an established member (the new-member gate does not apply)"))]
