from django import forms
from django.utils.translation import gettext_lazy as _

from .actions import MAX_REASON_LENGTH
from .lookup import MAX_QUERY_LENGTH
from .models import KIND_LABELS, Verdict


class IndicatorFilterForm(forms.Form):
    """The list's GET parameters: the lookup text and the filters. Brands are passed in, so the
    page reads them once for both validation and the select."""

    q = forms.CharField(label=_("Look up"), required=False, max_length=MAX_QUERY_LENGTH, strip=True,
                        help_text=_("A URL, host, mail address or phone number, as written or defanged "
                                    "(hxxps://example[.]com, user[@]example[.]com)."),
                        error_messages={"max_length": _("That is too long to be a URL, host, address or phone "
                                                        "number (at most %(limit_value)d characters).")})
    kind = forms.ChoiceField(label=_("Kind"), required=False,
                             choices=[("", _("all kinds")), *KIND_LABELS.items()],
                             error_messages={"invalid_choice": _("There is no kind “%(value)s”.")})
    brand = forms.ChoiceField(label=_("Brand"), required=False,
                              error_messages={"invalid_choice": _("There is no brand “%(value)s”.")})

    def __init__(self, *args, brands=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.brands = {brand.slug: brand for brand in brands}
        self.fields["brand"].choices = [("", _("all brands"))] + [(b.slug, str(b)) for b in brands]

    def clean_q(self):
        return self.cleaned_data["q"].replace("\x00", "")


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(label=_("Verdict"), choices=[
        (Verdict.FALSE_POSITIVE, _("False positive: not scam material")),
        (Verdict.LEGITIMATE, _("Legitimate: the real organisation's")),
        ("", _("Clear the review: exported again when it qualifies")),
    ], required=False)
    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
