import re

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _
from markdownx.widgets import MarkdownxWidget

from .archive.member_body import check_member_body
from .archive.volume import reads_as_structure
from .blocks import BlockError, build_figure
from .figures.images import MAX_UPLOAD_BYTES, ImageRefused, reencode
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


# What forum.figures.images refuses, by its code, in the member's language.
FIGURE_REFUSALS = {
    "empty": _("The file is empty."),
    "too_large": _("The file is larger than 10 MB."),
    "too_many_pixels": _("The image has too many pixels: at most 40 million (decompression bombs are refused)."),
    "bomb": _("The file holds compressed data that unpacks to far more than an image needs (a decompression "
              "bomb)."),
    "animated": _("Animated images are refused: attach a still screenshot."),
    "not_an_image": _("This is not a PNG, JPEG or WebP image. SVG, GIF, HTML and other files are refused."),
    "broken": _("The image is damaged or truncated and cannot be read."),
    "polyglot": _("The file holds other data after the image (a polyglot file or a motion photo): save the "
                  "screenshot again as a plain image."),
}


class FigureForm(forms.Form):
    """The composer's "attach a figure" step (prefix "figure"): a screenshot, decided by decoding
    it (never by its name or declared type) and re-encoded, and its caption."""

    # `accept` only helps the browser's file picker; what the file is is decided by decoding it.
    file = forms.FileField(label=_("Screenshot (PNG, JPEG or WebP, up to 10 MB)"), allow_empty_file=True,
                           widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
                           error_messages={"required": _("Choose the screenshot to attach.")})
    caption = LineField(label=_("Caption"), max_length=200, error_messages={"required": _("Write a caption.")})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(FIGURE_REFUSALS["too_large"], code="too_large")
        try:
            return reencode(upload.read())
        except ImageRefused as refused:
            raise forms.ValidationError(FIGURE_REFUSALS[refused.code], code=refused.code) from None

    def clean_caption(self):
        caption = self.cleaned_data["caption"]
        try:
            build_figure(None, caption)
        except BlockError:
            raise forms.ValidationError(
                _("A caption cannot start with >, a quote mark or a mark in angle brackets such as <図>."),
                code="structure") from None
        if reads_as_structure(caption) is not None:
            raise forms.ValidationError(_("The caption would be read as a post header; change a character of it."),
                                        code="structure")
        return caption


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


class DeleteAccountForm(forms.Form):
    """Deleting one's account asks for the password again: a session left open is not enough."""

    password = forms.CharField(label=_("Your current password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    confirm = forms.BooleanField(label=_("I understand that my account is deleted for good and my posts stay, "
                                         "shown as written by 退会したメンバー."))

    def __init__(self, *args, user, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    throttled = None  # the failed-login limit's verdict, when over it (the view answers 429)

    def clean_password(self):
        from .limits.forms import Throttled, check_current_password

        password = self.cleaned_data["password"]
        try:
            check_current_password(self.user, password, self.request)  # wrong guesses count as failed logins
        except Throttled as error:
            self.throttled = error.verdict
            raise
        return password
