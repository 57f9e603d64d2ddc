"""Thin views of moderation: staff pages (queue, log, a post's, a thread's and a member's page,
bans), members' report forms, and the removal request form open to anyone.

Reads go through forum.moderation.queries, writes through forum.moderation.actions. A refused
action shows its page again with the message (400) and changes nothing; refused for the role
(another board's moderator, a moderator of one board where every board's are needed, not an
admin) it is the 403 page, asked before the form is read wherever the target alone decides.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from forum.limits import ratelimit
from forum.models import Post, Thread
from forum.views import post_url

from . import actions, queries, roles
from .forms import (AddressBanForm, CloseReportForm, LogFilterForm, PostActionForm, ReasonForm, RedactForm,
                    RemovalRequestForm, ReportForm, SanctionForm, ThreadActionForm)
from .models import HIDE_CATEGORIES, Ban, ModerationLog, PostRevision, Report

LOG_PAGE = 50
MAX_ID = 2**31 - 1


def _object_or_404(queryset, pk: int, message: str):
    if pk > MAX_ID:
        raise Http404(message)
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise Http404(message)
    return found


def _decide(form, run) -> str | None:
    """Run a moderator's decision (`run(cleaned_data)`) from a bound form. None when it is done;
    otherwise why not: the refusal's message, or "" when the form shows its own errors."""
    if not form.is_valid():
        return ""
    try:
        run(form.cleaned_data)
    except actions.ModerationForbidden as forbidden:  # e.g. moving a thread to a board not theirs
        raise PermissionDenied(str(forbidden)) from None
    except actions.ModerationRefused as refused:
        return str(refused)
    return None


def _require_global(request) -> None:
    if not roles.moderates_everything(request.user):
        raise PermissionDenied(_("Only moderators of every board may do this."))


def _next(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


# ---- the queue -------------------------------------------------------------------------------

@roles.staff_required
@require_GET
def queue(request):
    return render(request, "moderation/queue.html", {
        **queries.review_queue(request.user), "can_purge": roles.can_purge(request.user),
        "action_form": PostActionForm(), "close_form": CloseReportForm(), "categories": HIDE_CATEGORIES,
    })


# ---- posts -----------------------------------------------------------------------------------

def _moderated_post(request, pk: int) -> Post:
    post = _object_or_404(Post.objects.select_related("thread__board", "author__profile"), pk,
                          _("This post no longer exists."))
    if not roles.can_moderate(request.user, post.thread.board):
        raise PermissionDenied(_("Only moderators of this board may do this."))
    return post


def _post_page(request, post: Post, *, status: int = 200, action_form=None, redact_form=None, error: str = ""):
    if error:
        messages.error(request, error)
    reports = list(Report.objects.filter(post=post).select_related("reporter__profile").order_by("-created_at")[:50])
    return render(request, "moderation/post.html", {
        "post": post, "thread": post.thread, "board": post.thread.board, "reports": reports,
        "open_reports": [r for r in reports if r.status == Report.Status.OPEN], "categories": HIDE_CATEGORIES,
        "revisions": PostRevision.objects.filter(post=post).select_related("edited_by").order_by("-number"),
        "entries": ModerationLog.objects.filter(post=post).order_by("-created_at", "-id")[:50],
        "history": queries.author_histories([post.author_id]).get(post.author_id),
        "action_form": action_form or PostActionForm(), "redact_form": redact_form or RedactForm(),
        "can_purge": roles.can_purge(request.user), "post_url": post_url(post.thread, post.position),
    }, status=status)


@roles.staff_required
@require_GET
def post_page(request, pk):
    return _post_page(request, _moderated_post(request, pk))


POST_ACTIONS = {
    "approve": actions.approve_post,
    "reject": actions.reject_post,
    "restore": actions.restore_post,
    "delete": actions.delete_post,
}


@roles.staff_required
@require_POST
def post_act(request, pk):
    post = _moderated_post(request, pk)
    form = PostActionForm(request.POST)
    done = []

    def run(data):
        if data["action"] == "hide":
            done.append(actions.hide_post(post=post, actor=request.user, reason=data["reason"],
                                          category=data["category"]))
        elif data["action"] == "approve":
            # The version the moderator read (the form's `seen`): an edit since then refuses it.
            done.append(actions.approve_post(post=post, actor=request.user, reason=data["reason"],
                                             seen=request.POST.get("seen")))
        else:
            done.append(POST_ACTIONS[data["action"]](post=post, actor=request.user, reason=data["reason"]))

    refusal = _decide(form, run)
    if refusal is not None:
        return _post_page(request, post, status=400, action_form=form, error=refusal)
    messages.success(request, _("Done: %(what)s.") % {"what": done[0].get_action_display()})
    if not Post.objects.filter(pk=post.pk).exists():  # the thread's only post went with its thread
        return redirect("moderation:queue")
    return redirect(_next(request, reverse("moderation:post", args=[post.pk])))


@roles.staff_required
@require_POST
def post_redact(request, pk):
    post = _moderated_post(request, pk)
    form = RedactForm(request.POST)
    places = []
    refusal = _decide(form, lambda data: places.append(
        actions.redact_post(post=post, actor=request.user, reason=data["reason"], text=data["text"])))
    if refusal is not None:
        return _post_page(request, post, status=400, redact_form=form, error=refusal)
    messages.success(request, _("Redacted in %(n)d places.") % {"n": places[0]})
    return redirect("moderation:post", post.pk)


# ---- threads ---------------------------------------------------------------------------------

def _moderated_thread(request, pk: int) -> Thread:
    thread = _object_or_404(Thread.objects.select_related("board", "volume"), pk, _("This thread no longer exists."))
    if not roles.can_moderate(request.user, thread.board):
        raise PermissionDenied(_("Only moderators of this board may do this."))
    return thread


def _thread_page(request, thread: Thread, *, status: int = 200, form=None, error: str = ""):
    if error:
        messages.error(request, error)
    return render(request, "moderation/thread.html", {
        "thread": thread, "board": thread.board,
        "reports": Report.objects.filter(thread=thread, post__isnull=True).select_related("reporter__profile")
                                 .order_by("-created_at")[:50],
        "entries": ModerationLog.objects.filter(thread=thread).order_by("-created_at", "-id")[:50],
        "form": form or ThreadActionForm(initial={"board": thread.board_id}),
        "close_form": CloseReportForm(),
    }, status=status)


@roles.staff_required
@require_GET
def thread_page(request, pk):
    return _thread_page(request, _moderated_thread(request, pk))


THREAD_ACTIONS = {
    "lock": actions.lock_thread,
    "unlock": actions.unlock_thread,
    "hide": actions.hide_thread,
    "restore": actions.restore_thread,
}


@roles.staff_required
@require_POST
def thread_act(request, pk):
    thread = _moderated_thread(request, pk)
    form = ThreadActionForm(request.POST)
    landed = [thread]  # where the thread is afterwards: merged, it is the target

    def run(data):
        actor = request.user
        if data["action"] == "move":
            actions.move_thread(thread=thread, board=data["board"], actor=actor, reason=data["reason"])
        elif data["action"] == "merge":
            target = Thread.objects.filter(board=data["board"], number=data["number"]).first()
            if target is None:
                raise actions.ModerationRefused(_("There is no thread %(label)sNO.%(n)d.") % {
                    "label": data["board"].name, "n": data["number"]})
            landed[0] = actions.merge_threads(source=thread, target=target, actor=actor, reason=data["reason"])
        else:
            THREAD_ACTIONS[data["action"]](thread=thread, actor=actor, reason=data["reason"])

    refusal = _decide(form, run)
    if refusal is not None:
        return _thread_page(request, thread, status=400, form=form, error=refusal)
    messages.success(request, _("Done."))
    return redirect("moderation:thread", landed[0].pk)


# ---- reports ---------------------------------------------------------------------------------

@roles.staff_required
@require_POST
def report_close(request, pk):
    report = _object_or_404(Report.objects.select_related("thread__board"), pk, _("This report no longer exists."))
    if report.thread_id is None:  # a removal request naming no post: for moderators of every board
        _require_global(request)
    elif not roles.can_moderate(request.user, report.thread.board_id):
        raise PermissionDenied(_("Only moderators of this board may do this."))
    form = CloseReportForm(request.POST)
    back = _next(request, reverse("moderation:queue"))
    refusal = _decide(form, lambda data: actions.close_report(report=report, actor=request.user, reason=data["reason"],
                                                              upheld=data["outcome"] == "upheld"))
    if refusal is not None:
        return _refused(request, form, refusal, back)
    messages.success(request, _("The report is closed."))
    return redirect(back)


def _refused(request, form, refusal: str, back: str):
    """A decision sent from another page (the queue, a member's page) was not taken."""
    messages.error(request, refusal or " ".join(e for errors in form.errors.values() for e in errors))
    return render(request, "moderation/refused.html", {"back": back}, status=400)


def _report_form(request, *, thread: Thread, post: Post | None):
    back = post_url(thread, post.position) if post else thread.get_absolute_url()
    form = ReportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.file_report(reporter=request.user, reason=form.cleaned_data["reason"],
                                    note=form.cleaned_data["note"], post=post, thread=thread)
            except actions.ModerationRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("Thank you: moderators will look at your report."))
                return redirect(back)
        status = 400
    return render(request, "moderation/report.html", {
        "form": form, "thread": thread, "board": thread.board, "post": post, "back": back}, status=status)


def _posting(request) -> bool:
    return request.method == "POST"


def _visible_thread(request, board: str, number: int) -> Thread:
    return get_object_or_404(Thread.objects.visible_to(request.user).select_related("board"),
                             board__slug=board, number=number)


@login_required
@ratelimit.rate_limited("report", when=_posting)
def report_thread(request, board, number):
    return _report_form(request, thread=_visible_thread(request, board, number), post=None)


@login_required
@ratelimit.rate_limited("report", when=_posting)
def report_post(request, board, number, position):
    thread = _visible_thread(request, board, number)
    post = get_object_or_404(thread.posts.visible_to(request.user), position=position)
    return _report_form(request, thread=thread, post=post)


@ratelimit.rate_limited("removal", when=_posting)
def removal_request(request):
    """Anyone, member or not, asks for their personal data to be removed."""
    form = RemovalRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.request_removal(requester=request.user, email=data["email"], url=data["url"],
                                        what=data["what"])
            except actions.ModerationRefused as refused:
                form.add_error(None, str(refused))
            else:
                messages.success(request, _("Thank you: we will look at your request and answer by e-mail."))
                return redirect("removal_request")
        status = 400
    return render(request, "moderation/removal_request.html", {"form": form}, status=status)


# ---- members and bans ------------------------------------------------------------------------

@roles.staff_required
def member_page(request, pk):
    member = _object_or_404(get_user_model().objects.select_related("profile"), pk, _("No such member."))
    if request.method == "POST":
        _require_global(request)
    form = SanctionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        refusal = _decide(form, lambda data: actions.sanction_member(
            member=member, actor=request.user, reason=data["reason"], kind=data["kind"], days=data["days"]))
        if refusal is None:
            messages.success(request, _("Done."))
            return redirect("moderation:member", member.pk)
        if refusal:
            messages.error(request, refusal)
        status = 400
    return render(request, "moderation/member.html", {
        "member": member, "form": form, "lift_form": ReasonForm(),
        "history": queries.author_histories([member.pk]).get(member.pk),
        "bans": Ban.objects.filter(user=member).select_related("created_by", "lifted_by"),
        "now": timezone.now(), "can_sanction": roles.moderates_everything(request.user),
    }, status=status)


@roles.staff_required
def ban_list(request):
    _require_global(request)
    form = AddressBanForm(request.POST or None)
    status = 200
    if request.method == "POST":
        refusal = _decide(form, lambda data: actions.ban_address(
            kind=data["kind"], value=data["value"], actor=request.user, reason=data["reason"], days=data["days"]))
        if refusal is None:
            messages.success(request, _("Done."))
            return redirect("moderation:bans")
        if refusal:
            messages.error(request, refusal)
        status = 400
    return render(request, "moderation/bans.html", {
        "form": form, "bans": Ban.objects.active().select_related("user", "created_by")[:200],
        "lift_form": ReasonForm(),
    }, status=status)


@roles.staff_required
@require_POST
def ban_lift(request, pk):
    _require_global(request)
    ban = _object_or_404(Ban.objects.all(), pk, _("This ban no longer exists."))
    back = _next(request, reverse("moderation:bans"))
    form = ReasonForm(request.POST)
    refusal = _decide(form, lambda data: actions.lift_ban(ban=ban, actor=request.user, reason=data["reason"]))
    if refusal is not None:
        return _refused(request, form, refusal, back)
    messages.success(request, _("The ban is lifted."))
    return redirect(back)


# ---- the log ---------------------------------------------------------------------------------

@roles.staff_required
@require_GET
def log(request):
    form = LogFilterForm(request.GET or None)
    if request.GET and not form.is_valid():
        return render(request, "moderation/log.html", {"form": form, "page": None}, status=400)
    data = form.cleaned_data if request.GET else {}
    entries = queries.log_entries(actor=data.get("actor", ""), action=data.get("action", ""),
                                  board=data.get("board"), since=data.get("since"), until=data.get("until"))
    paginator = Paginator(entries, LOG_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "moderation/log.html", {"form": form, "page": page, "query": query.urlencode()})
