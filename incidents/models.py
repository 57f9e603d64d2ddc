"""Indicators quoted in the forum, where they were seen, and the brands scams impersonate.

Rows here are derived from posts (incidents.indexing rebuilds them from `Post.blocks`),
except Brand (admins edit it) and the reviews moderators make. Values are stored fanged and
normalised; every page shows `defanged`.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forum.models import Post, Thread

from . import extract
from .brands import BrandEntry, clean_domain, clean_keyword, lines_of
from .extract import indicator_key  # noqa: F401 (the key of Indicator.key)


class Brand(models.Model):
    """An organisation scams impersonate. Aliases name it in mails; domains are its own."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    slug = models.SlugField(_("slug"), max_length=50, unique=True,
                            validators=[RegexValidator(r"^[a-z0-9-]+\Z", _("Lower-case letters, digits and hyphens."))])
    aliases = models.TextField(
        _("aliases"), blank=True,
        help_text=_("One per line: other names and spellings mails use (樂天, Aamzon). Compared without case, "
                    "width or invisible characters."))
    domains = models.TextField(
        _("legitimate domains"), blank=True,
        help_text=_("One per line: the brand's own domains. Hosts under them are legitimate, never malicious."))
    host_keywords = models.TextField(
        _("host keywords"), blank=True,
        help_text=_("One per line: what a look-alike host carries (rakuten, amzn). Keywords shorter than four "
                    "characters match only a whole part of a label."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self):
        return f"{self.name} ({self.name_en})" if self.name_en and self.name_en != self.name else self.name

    def get_absolute_url(self):
        return reverse("incidents:brand", args=[self.slug])

    def clean(self):
        bad_domains = [line for line in lines_of(self.domains) if clean_domain(line) is None]
        bad_keywords = [line for line in lines_of(self.host_keywords) if clean_keyword(line) is None]
        errors = {}
        if bad_domains:
            errors["domains"] = _("Not a domain: %(lines)s") % {"lines": ", ".join(bad_domains[:5])}
        if bad_keywords:
            errors["host_keywords"] = _("Keywords are letters, digits and hyphens: %(lines)s") % {
                "lines": ", ".join(bad_keywords[:5])}
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        # Stored as they are compared, so the catalogue never meets a line it cannot read.
        self.domains = "\n".join(dict.fromkeys(filter(None, map(clean_domain, lines_of(self.domains)))))
        self.host_keywords = "\n".join(dict.fromkeys(filter(None, map(clean_keyword, lines_of(self.host_keywords)))))
        self.aliases = "\n".join(lines_of(self.aliases))
        super().save(*args, **kwargs)

    def entry(self) -> BrandEntry:
        return BrandEntry(
            id=self.pk, name=self.name,
            aliases=tuple(lines_of(self.aliases)) + ((self.name_en,) if self.name_en else ()),
            domains=tuple(lines_of(self.domains)), host_keywords=tuple(lines_of(self.host_keywords)))

    @property
    def alias_list(self) -> list[str]:
        return lines_of(self.aliases)

    @property
    def domain_list(self) -> list[str]:
        return lines_of(self.domains)


class QuotedMail(models.Model):
    """A quoted mail of a post (its `part`-th quote block) and the brand it impersonates."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="quoted_mails")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    part = models.PositiveIntegerField()
    number = models.PositiveIntegerField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="quoted_mails")
    posted_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "part"], name="quoted_mail_part_per_post")]
        indexes = [models.Index(fields=["brand", "-posted_at"], name="quoted_mail_brand_recent")]


class Assessment(models.TextChoices):
    SUSPICIOUS = "suspicious", _("seen in scam material")
    LOOKALIKE = "lookalike", _("look-alike of a brand")
    LEGITIMATE = "legitimate", _("legitimate, used by the scam")


class Verdict(models.TextChoices):
    NONE = "", _("not reviewed")
    FALSE_POSITIVE = "false_positive", _("false positive")
    LEGITIMATE = "legitimate", _("legitimate")


KIND_LABELS = {
    extract.KIND_URL: _("URL"), extract.KIND_DOMAIN: _("domain"), extract.KIND_HOST: _("host"),
    extract.KIND_IP: _("IP address"), extract.KIND_EMAIL: _("mail address"), extract.KIND_PHONE: _("phone number"),
}
ROLE_LABELS = {
    extract.ROLE_BODY: _("in a quoted mail's text"),
    extract.ROLE_HTML_LINK: _("link in HTML source"),
    extract.ROLE_IMAGE: _("image source"),
    extract.ROLE_NAMESPACE: _("HTML namespace or DTD"),
    extract.ROLE_FROM: _("sender (From, claimed)"),
    extract.ROLE_REPLY_TO: _("reply-to"),
    extract.ROLE_RETURN_PATH: _("Return-Path (claimed)"),
    extract.ROLE_SENDER: _("sender (Sender, claimed)"),
    extract.ROLE_PHONE_CONTACT: _("phone in body (contact)"),
    extract.ROLE_PHONE_MENTIONED: _("phone mentioned (maybe a third party's)"),
    extract.ROLE_POST_TEXT: _("in a member's own text"),
}
ROLE_BITS = {role: 1 << i for i, role in enumerate(extract.ROLES)}


def roles_of(bits: int) -> list[str]:
    return [role for role, bit in ROLE_BITS.items() if bits & bit]


def role_bits(roles) -> int:
    bits = 0
    for role in roles:
        bits |= ROLE_BITS[role]
    return bits


LOOKUP_LIMIT = 25  # rows per list of a lookup: the exact match matters, the rest is context
EXPORTED_ROLE_BITS = role_bits(extract.EXPORTED_ROLES)
CLAIMED_SENDER_BITS = role_bits(extract.CLAIMED_SENDER_ROLES)


class IndicatorQuerySet(models.QuerySet):
    def seen(self):
        return self.filter(times_seen__gt=0)

    def exported(self):
        return self.filter(exported=True)

    def of_kind(self, kind: str | None):
        return self.filter(kind=kind) if kind else self

    def of_brand(self, brand: Brand | None):
        return self.filter(brand=brand) if brand else self

    def newest(self):
        return self.order_by("-first_seen", "-id")

    def most_seen(self):
        return self.order_by("-times_seen", "-id")

    def for_list(self):
        return self.select_related("brand").only(
            "kind", "key", "value", "host", "registrable_domain", "defanged", "punycode", "assessment", "verdict",
            "exported", "roles", "first_seen", "last_seen", "times_seen", "post_count", "thread_ids", "brand__name",
            "brand__name_en", "brand__slug")

    def matching(self, query) -> dict[str, list]:
        """The lookup (incidents.lookup.LookupQuery): exact matches, then other indicators on the
        same host, then on the same registrable domain; each list newest-seen first."""
        limit = LOOKUP_LIMIT
        base = self.seen().for_list()
        exact = list(base.filter(key__in=query.keys).order_by("-last_seen", "-id")[:limit]) if query.keys else []
        exact_ids = [i.pk for i in exact]
        same_host = []
        if query.host:
            same_host = list(base.filter(host=query.host).exclude(pk__in=exact_ids)
                             .order_by("-last_seen", "-id")[:limit])
        same_domain = []
        if query.registrable_domain:
            same_domain = list(base.filter(registrable_domain=query.registrable_domain)
                               .exclude(host=query.host).exclude(pk__in=exact_ids)
                               .order_by("-last_seen", "-id")[:limit])
        return {"exact": exact, "same_host": same_host, "same_domain": same_domain}


class Indicator(models.Model):
    kind = models.CharField(_("kind"), max_length=10, choices=list(KIND_LABELS.items()))
    key = models.CharField(max_length=64, unique=True, editable=False)
    value = models.TextField(_("value"))
    host = models.CharField(max_length=253, blank=True, db_index=False)
    registrable_domain = models.CharField(_("registrable domain"), max_length=253, blank=True)
    defanged = models.TextField(_("defanged"))
    punycode = models.TextField(blank=True)
    written = models.CharField(max_length=300, blank=True)
    brand = models.ForeignKey(Brand, null=True, blank=True, on_delete=models.SET_NULL, related_name="indicators")
    assessment = models.CharField(max_length=12, choices=Assessment.choices, default=Assessment.SUSPICIOUS)
    # Aggregates of the sightings, written only by incidents.indexing.
    roles = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    times_seen = models.PositiveIntegerField(default=0)
    post_count = models.PositiveIntegerField(default=0)
    thread_ids = models.JSONField(default=list, blank=True)  # up to THREADS_KEPT, latest first
    exported = models.BooleanField(default=False)
    # The current review; every review is also an IndicatorReview row (issue 6's log reads them).
    verdict = models.CharField(max_length=16, choices=Verdict.choices, default="", blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = IndicatorQuerySet.as_manager()

    THREADS_KEPT = 20

    class Meta:
        ordering = ["-first_seen", "-id"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        indexes = [
            models.Index(fields=["host", "-last_seen"], name="indicator_host_recent"),
            models.Index(fields=["registrable_domain", "-last_seen"], name="indicator_domain_recent"),
            models.Index(fields=["-first_seen"], name="indicator_newest"),
            models.Index(fields=["-times_seen"], name="indicator_most_seen"),
            models.Index(fields=["kind", "-first_seen"], name="indicator_kind_newest"),
            models.Index(fields=["kind", "-times_seen"], name="indicator_kind_most_seen"),
            models.Index(fields=["brand", "-first_seen"], name="indicator_brand_newest"),
            models.Index(fields=["brand", "-times_seen"], name="indicator_brand_most_seen"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(KIND_LABELS)), name="indicator_kind_known"),
        ]

    def __str__(self):
        return f"{self.kind}: {self.defanged}"

    def get_absolute_url(self):
        return reverse("incidents:indicator", args=[self.pk])

    @property
    def kind_label(self):
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def role_names(self) -> list[str]:
        return roles_of(self.roles)

    @property
    def role_labels(self) -> list:
        return [ROLE_LABELS[role] for role in roles_of(self.roles)]

    @property
    def claimed_sender_only(self) -> bool:
        """Seen only as a sender the mail claims (From, Return-Path, Sender): maybe forged."""
        return bool(self.roles) and not (self.roles & ~CLAIMED_SENDER_BITS)


class Sighting(models.Model):
    """An indicator in one post, in one role: in the post's own text (part 0) or its part-th quote."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="sightings")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="+")
    quote = models.ForeignKey(QuotedMail, null=True, blank=True, on_delete=models.CASCADE, related_name="sightings")
    part = models.PositiveIntegerField(default=0)
    role = models.CharField(max_length=16, choices=list(ROLE_LABELS.items()))
    count = models.PositiveIntegerField(default=1)
    written = models.CharField(max_length=300, blank=True)
    seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "part", "role", "indicator"], name="sighting_per_post_role"),
        ]
        indexes = [
            models.Index(fields=["indicator", "-seen_at"], name="sighting_indicator_recent"),
            models.Index(fields=["thread"], name="sighting_thread"),
        ]

    @property
    def role_label(self):
        return ROLE_LABELS.get(self.role, self.role)


class IndicatorReview(models.Model):
    """A moderator's review: every one is kept, the latest is copied onto the indicator."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="reviews")
    verdict = models.CharField(max_length=16, choices=Verdict.choices, blank=True)
    reason = models.TextField()
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reviewer_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("indicator review")
        verbose_name_plural = _("indicator reviews")


class IndicatorState(models.Model):
    """One row: a token that changes with every change of indicators, brands or reviews.

    Cache keys of lookups, exports and the API carry it, so no cache outlives what it shows,
    whatever the cache backend and however many processes serve."""

    token = models.CharField(max_length=32)
    changed_at = models.DateTimeField(default=timezone.now)
