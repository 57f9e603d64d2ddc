"""Forms of the moderation pages and of members' reports; every one works without JavaScript.

Moderators' forms carry a required reason in the same form as the button: no action without one."""

from django import forms
from django.utils.translation import gettext_lazy as _

from forum.forms import ReplyForm
from forum.models import Board

from .actions import MAX_NOTE_LENGTH, MAX_REASON_LENGTH, REPORT_REASONS
from .models import HIDE_CATEGORIES, Ban, ModerationLog


def reason_field() -> forms.CharField:
    return forms.CharField(label=_("Reason (for the log)"), max_length=MAX_REASON_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           error_messages={"required": _("Give a reason: other moderators read it in the log.")})


class ReasonForm(forms.Form):
    reason = reason_field()


POST_ACTIONS = {
    "approve": _("Approve"),
    "reject": _("Reject"),
    "hide": _("Hide"),
    "restore": _("Restore"),
    "delete": _("Delete for good"),
}


class PostActionForm(ReasonForm):
    action = forms.ChoiceField(choices=list(POST_ACTIONS.items()))
    category = forms.ChoiceField(label=_("Shown to readers as"), required=False,
                                 choices=[(c.value, c.label) for c in HIDE_CATEGORIES])


class RedactForm(ReasonForm):
    text = forms.CharField(label=_("Text to redact"), strip=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Exactly as the source below shows it. Every copy is replaced by xxxx: "
                                       "the post, its earlier versions, the search index and the indicators."))


THREAD_ACTIONS = {
    "lock": _("Lock"),
    "unlock": _("Unlock"),
    "hide": _("Hide the thread"),
    "restore": _("Show the thread again"),
    "move": _("Move"),
    "merge": _("Merge into"),
}


class ThreadActionForm(ReasonForm):
    action = forms.ChoiceField(choices=list(THREAD_ACTIONS.items()))
    board = forms.ModelChoiceField(label=_("Board"), queryset=Board.objects.all(), required=False,
                                   empty_label=None)
    number = forms.IntegerField(label=_("Thread NO."), required=False, min_value=1, max_value=2**31 - 1)

    def clean(self):
        data = super().clean()
        if data.get("action") in ("move", "merge") and not data.get("board"):
            self.add_error("board", _("Choose the board."))
        if data.get("action") == "merge" and not data.get("number"):
            self.add_error("number", _("Give the NO. of the thread to merge into."))
        return data


class ModeratorEditForm(ReplyForm):
    """A moderator editing someone else's post says why."""

    reason = reason_field()


class SanctionForm(ReasonForm):
    kind = forms.ChoiceField(label=_("Sanction"), choices=[(k.value, k.label) for k in Ban.MEMBER_KINDS])
    days = forms.IntegerField(label=_("Days"), required=False, min_value=1, max_value=3650,
                              help_text=_("Required to silence or suspend; empty bans the account until lifted."))


class AddressBanForm(ReasonForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in
                                                       (Ban.Kind.EMAIL, Ban.Kind.DOMAIN, Ban.Kind.IP)])
    value = forms.CharField(label=_("Address, domain or range"), max_length=254)
    days = forms.IntegerField(label=_("Days"), required=False, min_value=1, max_value=3650,
                              help_text=_("Empty: until lifted."))


class CloseReportForm(ReasonForm):
    outcome = forms.ChoiceField(choices=[("upheld", _("Done: acted on")), ("dismissed", _("Dismiss"))])


class ReportForm(forms.Form):
    reason = forms.ChoiceField(label=_("What is wrong?"), widget=forms.RadioSelect,
                               choices=[(r.value, r.label) for r in REPORT_REASONS],
                               error_messages={"required": _("Choose what is wrong.")})
    note = forms.CharField(label=_("Note for the moderators"), required=False, max_length=MAX_NOTE_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("Required for “other”. Do not repeat personal data here."))


class RemovalRequestForm(forms.Form):
    url = forms.CharField(label=_("Address of the post"), max_length=500,
                          help_text=_("Copy it from the address bar, e.g. https://…/info/916/#p3"))
    what = forms.CharField(label=_("What should be removed?"), max_length=MAX_NOTE_LENGTH,
                           widget=forms.Textarea(attrs={"rows": 4}),
                           help_text=_("Describe it (e.g. “my phone number in the second quote”); you do not "
                                       "need to write the data itself."))
    email = forms.EmailField(label=_("Your e-mail address, for our answer"))


class LogFilterForm(forms.Form):
    actor = forms.CharField(label=_("Moderator"), required=False, max_length=150)
    action = forms.ChoiceField(label=_("Action"), required=False,
                               choices=[("", _("all actions")), *ModerationLog.Action.choices])
    board = forms.ModelChoiceField(label=_("Board"), queryset=Board.objects.all(), required=False,
                                   empty_label=_("all boards"))
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
