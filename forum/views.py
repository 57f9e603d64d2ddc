"""Thin views: reads through QuerySet methods, writes through forum.actions."""

import math

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.db.models import Prefetch
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from incidents import mail as mail_parser

from . import actions, quoting
from .forms import DraftForm, ProfileForm, ReplyForm, SignupForm, ThreadForm
from .models import Board, Draft, Post, Profile, Thread, Volume
from .links import allowed_hosts
from .render import render_markdown

HOME_THREADS_PER_BOARD = 5
PENDING_DRAFT = "pending_draft"


@require_GET
def home(request):
    newest = Thread.objects.visible_to(request.user).order_by("-number")[:HOME_THREADS_PER_BOARD]
    boards = Board.objects.prefetch_related(Prefetch("threads", queryset=newest, to_attr="newest_threads"))
    return render(request, "forum/home.html", {"boards": boards})


def _board(slug: str) -> Board:
    return get_object_or_404(Board, slug=slug)


def _volume_page(request, board: Board, volume: Volume | None):
    threads = []
    newer = older = None
    if volume is not None:
        threads = volume.threads.visible_to(request.user).order_by("-number")
        around = board.volumes.order_by()
        newer = around.filter(number__gt=volume.number).order_by("number").values_list("number", flat=True).first()
        older = around.filter(number__lt=volume.number).order_by("-number").values_list("number", flat=True).first()
    return render(request, "forum/volume.html", {
        "board": board, "volume": volume, "threads": threads, "newer": newer, "older": older,
    })


@require_GET
def board_index(request, board):
    board = _board(board)
    return _volume_page(request, board, board.volumes.order_by("-number").first())


@require_GET
def volume_detail(request, board, number):
    board = _board(board)
    return _volume_page(request, board, get_object_or_404(Volume, board=board, number=number))


def _page_number(request, pages: int) -> int:
    raw = request.GET.get("page", "1")
    if raw == "last":
        return pages
    if not raw.isdecimal() or not 1 <= int(raw) <= pages:
        raise Http404(_("No such page."))
    return int(raw)


@require_GET
def thread_detail(request, board, number):
    thread = get_object_or_404(
        Thread.objects.visible_to(request.user).select_related("board", "volume"),
        board__slug=board, number=number,
    )
    per_page = settings.DAIOU_POSTS_PER_PAGE
    pages = max(1, math.ceil(thread.last_position / per_page))
    page = _page_number(request, pages)
    # Pages cut the thread by stored position: no COUNT and no OFFSET, whatever the page.
    posts = (
        thread.posts.visible_to(request.user)
        .in_positions((page - 1) * per_page + 1, page * per_page)
        .select_related("reply_to")
        .only("thread_id", "position", "author_id", "author_name", "handle", "device", "os", "posted_at",
              "subtitle", "html", "format", "hidden", "edited_at", "reply_to__position")
    )
    return render(request, "forum/thread.html", {
        "thread": thread, "board": thread.board, "posts": posts, "page": page, "pages": pages,
        "page_range": range(1, pages + 1), "per_page": per_page,
        "moderator": request.user.has_perm("forum.moderate"),
    })


def _draft_fields(data) -> dict:
    """What can be kept of a submit that failed: whatever was typed, cut to what fits.

    NUL cannot be stored (PostgreSQL refuses it); over-long text is cut, not lost whole."""
    limits = {"title": settings.DAIOU_MAX_TITLE_LENGTH, "subtitle": 200, "body": settings.DAIOU_MAX_BODY_LENGTH}
    return {field: data.get(field, "").replace("\x00", "")[:limit] for field, limit in limits.items()}


def _quote_step(request, step: str, quotes: list) -> tuple[list, list[str]]:
    """One step of quoting in the composer: add a mail or an SMS, remove a quote, redact a flag."""
    errors = []
    try:
        if step in ("add_mail", "add_sms") and len(quotes) >= quoting.MAX_QUOTES_PER_POST:
            raise quoting.QuoteError(_("A post holds at most %(n)d quotes.") % {"n": quoting.MAX_QUOTES_PER_POST})
        if step == "add_mail":
            upload = request.FILES.get("mail_file")
            if upload is not None:
                if upload.size > mail_parser.MAX_MAIL_BYTES:
                    raise quoting.QuoteError(_("The file is larger than 10 MB: not a mail Daiou can quote."))
                data = upload.read()
            else:
                data = request.POST.get("mail_source", "")
            added, addresses, names = quoting.quote_mail(data, request.user)
            for quote in added:
                quoting.check_quote(quote, len(quotes) + 1)
            quoting.remember(request.user, addresses, names)
            quotes = quotes + added
        elif step == "add_sms":
            quote = quoting.quote_sms(sender=request.POST.get("sms_sender", ""), text=request.POST.get("sms_text", ""),
                                      received=request.POST.get("sms_received", ""), user=request.user)
            quoting.check_quote(quote, len(quotes) + 1)
            quotes = quotes + [quote]
        elif step.startswith("remove:") and step[7:].isdecimal() and int(step[7:]) < len(quotes):
            quotes = quotes[: int(step[7:])] + quotes[int(step[7:]) + 1:]
        elif step.startswith("redact:") and step.count(":") == 2:
            i, j = step.split(":")[1:]
            if not (i.isdecimal() and j.isdecimal() and int(i) < len(quotes)):
                raise quoting.QuoteError(_("That mark is no longer there."))
            quotes = [*quotes[: int(i)], quoting.redact_flag(quotes[int(i)], int(j)), *quotes[int(i) + 1:]]
        else:
            raise quoting.QuoteError(_("Unknown step."))
    except quoting.QuoteError as error:
        errors.append(str(error))
    return quotes, errors


def _compose(request, *, form_class, draft_key, template, context, initial, submit):
    """The composer's common flow: quote mails and SMS (redacted at once, carried signed),
    preview, post; restore a draft, keep the text whatever goes wrong."""
    if not request.user.is_authenticated:
        if request.method == "POST":
            # The session expired while writing: keep the text in this (anonymous) session,
            # which survives the login, and put it back in the form afterwards.
            request.session[PENDING_DRAFT] = {"key": draft_key, **_draft_fields(request.POST)}
            messages.warning(request, _("Your session had expired. Log in again: your text has been kept."))
        return redirect_to_login(request.get_full_path())

    pending = request.session.get(PENDING_DRAFT)
    if pending and pending.get("key") == draft_key:
        actions.save_draft(user=request.user, key=draft_key,
                           **{f: pending.get(f, "") for f in ("title", "subtitle", "body")})
        del request.session[PENDING_DRAFT]

    quotes, quote_errors, preview, status = [], [], None, 200
    if request.method == "POST":
        try:
            quotes = quoting.unsign(request.POST.get("quotes_token", ""))
        except quoting.QuoteError as error:
            quote_errors.append(str(error))
        step = request.POST.get("step", "post")
        if step not in ("post", "preview"):
            quotes, errors = _quote_step(request, step, quotes)
            quote_errors += errors
            # Not a submit yet: show the text as typed, without judging it.
            form = form_class(initial={k: v for k, v in request.POST.items() if k in form_class.base_fields},
                              has_quotes=bool(quotes))
        else:
            form = form_class(request.POST, has_quotes=bool(quotes))
            if form.is_valid() and not quote_errors:
                try:
                    if step == "preview":
                        preview = actions.preview_html(_fields(form, quotes))
                    else:
                        return submit(form, quotes)
                except actions.ActionRefused as refused:
                    form.add_error(None, str(refused))
            if preview is None:
                actions.save_draft(user=request.user, key=draft_key, **_draft_fields(request.POST))
                status = 400
        if quote_errors:
            status = 400
    else:
        draft = Draft.objects.filter(user=request.user, key=draft_key).first()
        if draft:
            initial.update({"title": draft.title, "subtitle": draft.subtitle, "body": draft.body})
            messages.info(request, _("Your draft has been restored."))
        form = form_class(initial=initial)
    return render(request, template, {
        **context, "form": form, "draft_key": draft_key, "action": request.get_full_path(),
        "quotes": [(q, actions.preview_quote_html(q, n)) for n, q in enumerate(quotes, 1)],
        "quotes_token": quoting.sign(quotes) if quotes else "", "quote_errors": quote_errors, "preview": preview,
    }, status=status)


def _profile_initial(user) -> dict:
    profile = Profile.objects.filter(user=user).first() if user.is_authenticated else None
    return {"device": profile.device, "os": profile.os} if profile else {}


def _fields(form, quotes=()) -> actions.PostFields:
    data = form.cleaned_data
    return actions.PostFields(body=data["body"], subtitle=data["subtitle"], device=data["device"], os=data["os"],
                              quotes=tuple(quotes))


def new_thread(request, board):
    board = _board(board)

    def submit(form, quotes):
        thread = actions.create_thread(board=board, user=request.user, title=form.cleaned_data["title"],
                                       fields=_fields(form, quotes), draft_key=f"thread:{board.slug}")
        return redirect(thread)

    return _compose(request, form_class=ThreadForm, draft_key=f"thread:{board.slug}",
                    template="forum/new_thread.html", context={"board": board},
                    initial=_profile_initial(request.user), submit=submit)


def reply(request, board, number):
    thread = get_object_or_404(
        Thread.objects.visible_to(request.user).select_related("board"), board__slug=board, number=number
    )
    reply_to = None
    if request.GET.get("to", "").isdecimal():
        reply_to = get_object_or_404(Post, thread=thread, position=int(request.GET["to"]))
    if thread.locked:
        return render(request, "forum/locked.html", {"thread": thread, "board": thread.board}, status=403)

    def submit(form, quotes):
        post = actions.create_reply(thread=thread, user=request.user, fields=_fields(form, quotes), reply_to=reply_to,
                                    draft_key=f"reply:{thread.pk}")
        return redirect(post_url(thread, post.position))

    return _compose(request, form_class=ReplyForm, draft_key=f"reply:{thread.pk}",
                    template="forum/reply.html",
                    context={"thread": thread, "board": thread.board, "reply_to": reply_to},
                    initial=_profile_initial(request.user), submit=submit)


def post_url(thread: Thread, position: int) -> str:
    page = math.ceil(position / settings.DAIOU_POSTS_PER_PAGE)
    query = f"?page={page}" if page > 1 else ""
    return f"{reverse('thread', args=[thread.board.slug, thread.number])}{query}#p{position}"


@require_POST
def preview(request):
    """markdownx's live preview: the very renderer posts are saved with; members only."""
    if not request.user.is_authenticated:
        return HttpResponseForbidden(_("Log in to preview."), content_type="text/plain; charset=utf-8")
    content = request.POST.get("content", "")
    if len(content) > settings.DAIOU_MAX_BODY_LENGTH:
        return HttpResponse(_("The text is too long to preview."), status=413, content_type="text/plain; charset=utf-8")
    return HttpResponse(render_markdown(content, allowed_hosts()))


@require_POST
def save_draft(request):
    if not request.user.is_authenticated:
        return HttpResponseForbidden(_("Log in to keep drafts."), content_type="text/plain; charset=utf-8")
    form = DraftForm(request.POST)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
    data = form.cleaned_data
    actions.save_draft(user=request.user, key=data["key"], title=data["title"], subtitle=data["subtitle"],
                       body=data["body"])
    return HttpResponse(status=204)


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            Profile.objects.create(user=user, display_name=form.cleaned_data["display_name"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, _("Welcome to Daiou."))
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def profile_edit(request):
    profile, _created = Profile.objects.get_or_create(
        user=request.user, defaults={"display_name": request.user.get_username()}
    )
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your profile has been saved."))
        return redirect("profile")
    return render(request, "registration/profile.html", {"form": form}, status=400 if form.errors else 200)


@require_GET
def switch_language(request, code):
    if code not in dict(settings.LANGUAGES):
        raise Http404(_("No such language."))
    target = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("home")
    response = redirect(target)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, code, max_age=365 * 24 * 3600, samesite="Lax",
                        secure=request.is_secure(), httponly=True)
    return response


def csrf_failure(request, reason=""):
    return render(request, "403_csrf.html", status=403)


def edit_post(request, board, number, position):
    post = get_object_or_404(
        Post.objects.select_related("thread__board"),
        thread__board__slug=board, thread__number=number, position=position,
    )
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not actions.can_edit(request.user, post):
        raise PermissionDenied(_("Only the author or a moderator may edit this post."))
    if post.format != Post.Format.MARKDOWN:
        raise PermissionDenied(_("Archived posts are kept as they were written."))
    initial = {"subtitle": post.subtitle, "body": post.source, "device": post.device, "os": post.os}
    form = ReplyForm(request.POST or None, initial=initial, has_quotes=bool(post.quote_details))
    if request.method == "POST" and form.is_valid():
        actions.edit_post(post=post, user=request.user, fields=_fields(form))
        messages.success(request, _("The post has been saved."))
        return redirect(post_url(post.thread, post.position))
    return render(request, "forum/edit_post.html", {
        "form": form, "post": post, "thread": post.thread, "board": post.thread.board,
    }, status=400 if form.errors else 200)
