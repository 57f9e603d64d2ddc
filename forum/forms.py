import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _
from markdownx.widgets import MarkdownxWidget

from .archive.member_body import check_member_body
from .models import Profile, name_is_reserved, name_key

# C0/C1 controls other than tab and newline would break the archive format and the page.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"\r\n?")


def _reject_undecodable(value: str) -> None:
    # Django decodes a request body with errors="replace": U+FFFD here means the browser (or
    # a forged request) sent bytes that are not UTF-8, and we would store the damage silently.
    if "\ufffd" in value:
        raise forms.ValidationError(
            _("The text holds bytes that are not valid UTF-8. Please paste it again as text."),
            code="invalid_utf8",
        )


class LineField(forms.CharField):
    """One line of text: no line breaks, no control characters, and none of `forbidden`,
    the characters that carry the structure of the old board's header lines."""

    def __init__(self, *args, forbidden: str = "", **kwargs):
        self.forbidden = forbidden
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        _reject_undecodable(value)
        if _CONTROL.search(value) or "\n" in value or "\r" in value:
            raise forms.ValidationError(_("Use one line, without control characters."), code="control")
        if used := sorted({ch for ch in value if ch in self.forbidden}):
            raise forms.ValidationError(
                _("These characters mark the parts of a post header and cannot be used here: %(chars)s"),
                code="structure", params={"chars": " ".join(used)})
        return value


# 【name(handle)@device(OS)】: what each part may not hold so the header reads back the same.
NAME_MARKS = "【】@＠()（）<>＜＞"
DEVICE_MARKS = "【】()（）"


class BodyField(forms.CharField):
    def to_python(self, value):
        value = super().to_python(value)
        # Browsers send CRLF; Daiou stores LF so that export and import agree on line ends.
        return _LINE_BREAK.sub("\n", value)

    def clean(self, value):
        value = super().clean(value)
        _reject_undecodable(value)
        if _CONTROL.sub("", value.replace("\t", "")) != value.replace("\t", ""):
            raise forms.ValidationError(_("The text holds control characters."), code="control")
        if not value.strip() and self.required:
            raise forms.ValidationError(_("The body is empty."), code="required")
        # The archive format has no escaping: lines that would read as its structure are refused.
        problems = check_member_body(value)
        if problems:
            raise forms.ValidationError([
                forms.ValidationError(_("A line of the body reads as the old board's structure: %(problem)s"),
                                      code="structure", params={"problem": p.message}) for p in problems])
        return value


class TitleField(LineField):
    def clean(self, value):
        value = super().clean(value)
        if "<起稿" in value or "＜起稿" in value:
            raise forms.ValidationError(_("A title cannot hold “<起稿”: it marks the originator."), code="structure")
        return value


class ReplyForm(forms.Form):
    subtitle = LineField(label=_("Subtitle"), max_length=200, required=False, forbidden="【】")
    body = BodyField(
        label=_("Body"),
        max_length=settings.DAIOU_MAX_BODY_LENGTH,
        widget=MarkdownxWidget(attrs={"rows": 14}),
        help_text=_("Markdown. Raw HTML is shown as text."),
    )
    device = LineField(label=_("Device"), max_length=100, required=False, forbidden=DEVICE_MARKS)
    os = LineField(label=_("OS"), max_length=100, required=False, forbidden=DEVICE_MARKS)

    def __init__(self, *args, has_quotes: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        # A post may be a quoted mail alone; without one, the member must write something.
        self.fields["body"].required = not has_quotes


class ThreadForm(ReplyForm):
    title = TitleField(label=_("Title"), max_length=settings.DAIOU_MAX_TITLE_LENGTH)
    field_order = ["title", "subtitle", "body", "device", "os"]


class DraftForm(forms.Form):
    key = forms.RegexField(regex=r"^(thread:[a-z][a-z0-9-]{0,39}|reply:\d{1,19})\Z", max_length=64)
    title = forms.CharField(max_length=settings.DAIOU_MAX_TITLE_LENGTH, required=False, strip=False)
    subtitle = forms.CharField(max_length=200, required=False, strip=False)
    body = BodyField(max_length=settings.DAIOU_MAX_BODY_LENGTH, required=False, strip=False)

    def clean_body(self):
        return self.cleaned_data.get("body", "")


class DisplayNameMixin:
    def clean_display_name(self):
        name = self.cleaned_data["display_name"]
        taken = Profile.objects.filter(display_name_key=name_key(name))
        if getattr(self, "profile", None) is not None:
            taken = taken.exclude(pk=self.profile.pk)
        if taken.exists():
            raise forms.ValidationError(_("This name is already used by another member."), code="taken")
        if name_is_reserved(name, user=self.profile.user if getattr(self, "profile", None) else None):
            raise forms.ValidationError(
                _("This name belongs to an author of the old board's archive. If it is yours, ask an admin to "
                  "link it to your account."), code="reserved")
        return name


class SignupForm(DisplayNameMixin, UserCreationForm):
    display_name = LineField(label=_("Display name"), max_length=50, forbidden=NAME_MARKS,
                             help_text=_("Shown on your posts, like 【name】 on the old board."))
    email = forms.EmailField(label=_("E-mail address"))

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ["username", "display_name", "email"]

    def clean_email(self):
        email = self.cleaned_data["email"]
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(_("An account with this e-mail address exists already."), code="taken")
        return email


class ProfileForm(DisplayNameMixin, forms.ModelForm):
    display_name = LineField(label=_("Display name"), max_length=50, forbidden=NAME_MARKS)
    handle = LineField(label=_("Handle"), max_length=50, required=False, forbidden=NAME_MARKS)
    device = LineField(label=_("Device"), max_length=100, required=False, forbidden=DEVICE_MARKS)
    os = LineField(label=_("OS"), max_length=100, required=False, forbidden=DEVICE_MARKS)

    class Meta:
        model = Profile
        fields = ["display_name", "handle", "device", "os"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.profile = self.instance if self.instance.pk else None
