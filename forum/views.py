"""Thin views: reads through QuerySet methods, writes through forum.actions."""

import functools
import math
import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.db import router, transaction
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from incidents import mail as mail_parser

from . import actions, headers, pagecache, post_html, quoting
from .limits import confirmation, gate, ratelimit
from .figures import actions as figure_actions
from .forms import DraftForm, FigureForm, ProfileForm, ReplyForm, SignupForm, ThreadForm
from .models import Board, Draft, Post, Profile, Thread, Volume
from .moderation import actions as moderation_actions
from .moderation.forms import ModeratorEditForm
from .moderation.models import ThreadRedirect
from .moderation.queries import with_public_note
from .moderation.templatetags.moderation_tags import public_note
from .moderation.roles import can_moderate, moderates_everything
from .precompiled import Precompiled
from .stencil import Stencil
from .links import allowed_hosts
from .render import figure_html, render_markdown

HOME_THREADS_PER_BOARD = 5
PENDING_DRAFT = "pending_draft"
MAX_SESSION_TOKEN = 2_000_000


@require_GET
def home(request):
    boards = Board.objects.with_newest_threads(request.user, HOME_THREADS_PER_BOARD)
    return render(request, "forum/home.html", {"boards": boards})


def _board(slug: str) -> Board:
    return get_object_or_404(Board, slug=slug)


def _volume_page(request, board: Board, volume: Volume | None, canonical: str):
    def render_page():
        threads = volume.threads.visible_to(request.user).order_by("-number") if volume else []
        return render(request, "forum/volume.html", {
            "board": board, "volume": volume, "threads": threads, "newer": getattr(volume, "newer", None),
            "older": getattr(volume, "older", None), "canonical": request.build_absolute_uri(canonical),
        })

    if volume is None:
        return render_page()
    # The key carries every thread's (id, version) and the neighbours: read with the volume.
    return pagecache.serve(request, ("volume", canonical, volume.pk, volume.threads_fingerprint, volume.newer,
                                     volume.older), render_page)


@require_GET
def board_index(request, board):
    volume = pagecache.volumes_with_page_facts().filter(board__slug=board).order_by("-number").first()
    return _volume_page(request, volume.board if volume else _board(board), volume,
                        reverse("board", args=[board]))


@require_GET
def volume_detail(request, board, number):
    volume = get_object_or_404(pagecache.volumes_with_page_facts().filter(board__slug=board), number=number)
    return _volume_page(request, volume.board, volume, reverse("volume", args=[board, number]))


def _page_number(request, pages: int) -> int:
    raw = request.GET.get("page", "1")
    if raw == "last":
        return pages
    if not raw.isdecimal() or not 1 <= int(raw) <= pages:
        raise Http404(_("No such page."))
    return int(raw)


@require_GET
def thread_detail(request, board, number):
    per_page = settings.DAIOU_POSTS_PER_PAGE
    if pagecache.cacheable(request):
        if settings.DAIOU_PAGE_CACHE:
            # Anonymous readers get the page from the cache, named by the thread's version read
            # in one light query. No visibility test here: a page is cached only after the full
            # view below rendered it for a reader, and hiding a thread bumps its version.
            probe = pagecache.thread_version(board, number)
            if probe is not None:
                pk, version, last_position = probe
                page = _page_number(request, max(1, math.ceil(last_position / per_page)))
                return pagecache.serve(request, ("thread", pk, version, per_page, page),
                                       lambda: _thread_detail(request, board, number, page))
        elif (thread := _visible_thread(request.user, board, number)) is not None:
            # No cache to look in: the thread's own query has the version the ETag needs.
            pages = max(1, math.ceil(thread.last_position / per_page))
            page = _page_number(request, pages)
            return pagecache.serve(request, ("thread", thread.pk, thread.version, per_page, page),
                                   lambda: _thread_page(request, thread, page, max(pages, page), per_page))
    return _thread_detail(request, board, number)


def _reader(user) -> tuple[str, tuple]:
    """What of the reader the thread page's queries hold: nothing for an anonymous reader or a
    moderator of every board (who sees everything), the id for any other member."""
    if not user.is_authenticated:
        return "anonymous", ()
    if moderates_everything(user):
        return "everything", ()
    return "member", (user.pk,)


def _visible(queryset, kind: str, member):
    if kind == "anonymous":
        return queryset.visible_to(AnonymousUser())
    if kind == "member":
        return queryset.visible_to_member(member)
    return queryset  # a moderator of every board sees everything


@functools.cache
def _thread_query(alias: str, kind: str) -> Precompiled:
    """A thread by board and number as a kind of reader sees it (`_reader`), with its latest
    public moderation (moved, merged, locked), its SQL written once per process: building it
    cost 15 times running it."""
    slug, number, member = Precompiled.stand_in(0, str), Precompiled.stand_in(1), Precompiled.stand_in(2)
    threads = with_public_note(_visible(Thread.objects.select_related("board", "volume"), kind, member))
    return Precompiled(threads.filter(board__slug=slug, number=number).order_by()[:1], alias,
                       (slug, number, member) if kind == "member" else (slug, number))


@functools.cache
def _posts_query(alias: str, kind: str, per_page: int) -> Precompiled:
    """A page of a thread's posts as a kind of reader sees them (rows for forum.post_html), its
    SQL written once per process."""
    thread, first, last, member = (Precompiled.stand_in(n) for n in range(4))
    posts = _visible(Post.objects.filter(thread_id=thread), kind, member)
    return Precompiled(posts.in_positions(first, last).page_rows()[:per_page], alias,
                       (thread, first, last, member) if kind == "member" else (thread, first, last))


def _visible_thread(user, board: str, number: int) -> Thread | None:
    kind, values = _reader(user)
    found = _thread_query(router.db_for_read(Thread), kind)(board, number, *values)
    return found[0] if found else None


def _thread_detail(request, board: str, number: int, page: int | None = None):
    thread = _visible_thread(request.user, board, number)
    if thread is None:
        return _moved_thread(request, board, number)
    per_page = settings.DAIOU_POSTS_PER_PAGE
    pages = max(1, math.ceil(thread.last_position / per_page))
    if page is None:
        page = _page_number(request, pages)
    return _thread_page(request, thread, page, max(pages, page), per_page)


# Anonymous readers' thread pages come from a stencil of the template: about a third of an
# uncached page's time was Django rendering the same frame around a dozen values.
THREAD_PAGE = Stencil(
    "forum/thread.html", shape=("locked", "noindex", "moderator"),
    text=("title", "heading", "board_name", "canonical"), html=("note", "pagination"),
    words=("board_slug",), numbers=("number", "volume_number", "thread_id"),
    constants={"posts_slot": post_html.SLOT})


def _thread_page(request, thread: Thread, page: int, pages: int, per_page: int):
    # Pages cut the thread by stored position: no COUNT and no OFFSET, whatever the page. The
    # LIMIT (a page holds at most per_page positions anyway) lets PostgreSQL walk the
    # (thread, position) index; without it, it read the whole thread through thread_id, as
    # most threads are shorter than a page (docs/query-plans.md).
    kind, values = _reader(request.user)
    posts = _posts_query(router.db_for_read(Post), kind, per_page)(
        thread.pk, (page - 1) * per_page + 1, page * per_page, *values)
    moderator = can_moderate(request.user, thread.board)
    page_html = THREAD_PAGE.render(request, _thread_page_values(request, thread, posts, page, pages, moderator),
                                   thread=thread)
    return HttpResponse(post_html.page_with_posts(page_html, post_html.thread_posts_html(
        posts, thread=thread, user=request.user, moderator=moderator, per_page=per_page)))


def _thread_page_values(request, thread: Thread, posts: list, page: int, pages: int, moderator: bool) -> dict:
    """What forum/thread.html prints of a thread's page (THREAD_PAGE declares each value's kind)."""
    canonical = thread.get_absolute_url() + (f"?page={page}" if page > 1 else "")
    note = public_note(thread)
    return {
        "locked": thread.locked, "moderator": moderator,
        # Search engines keep no copy of hidden threads or of pages with a hidden post.
        "noindex": thread.hidden or any(post.hidden for post in posts),
        "title": thread.title, "board_name": thread.board.name, "canonical": request.build_absolute_uri(canonical),
        "heading": headers.thread_heading(thread.number, thread.title, thread.originator_name, thread.started_on),
        "note": format_html('<p class="moderation-note">{}</p>', note) if note else "",
        "pagination": render_to_string("forum/_pagination.html", {"page": page, "page_range": range(1, pages + 1)})
        if pages > 1 else "",
        "board_slug": thread.board.slug, "number": thread.number, "volume_number": thread.volume.number,
        "thread_id": thread.pk,
    }


def _moved_thread(request, board: str, number: int):
    """The old address of a thread moved or merged elsewhere redirects there for good."""
    moved = ThreadRedirect.objects.filter(board__slug=board, number=number).select_related("thread__board").first()
    if moved is None:
        raise Http404(_("No such thread."))
    query = request.META.get("QUERY_STRING", "")
    return redirect(moved.thread.get_absolute_url() + (f"?{query}" if query else ""), permanent=True)


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


def new_client_token() -> str:
    """A one-time token for one composer form: sent twice, the form makes one post."""
    return secrets.token_urlsafe(24)


def client_token(request) -> str:
    """The composer's token as sent (checked again by the actions), or ""."""
    token = request.POST.get("client_token", "")
    return token if actions.CLIENT_TOKEN.fullmatch(token) else ""


def _figure_error(code: str) -> str:
    return {
        "expired": _("The figures of this form expired or were altered; attach them again."),
        "gone": _("A figure of this form is no longer there (figures not posted are deleted after a day); "
                  "attach it again."),
        "too_many": _("A post holds at most %(n)d figures.") % {"n": figure_actions.MAX_FIGURES_PER_POST},
        "too_many_pending": _("Too many of your figures are waiting to be posted: post or remove some first."),
    }[code]


def _carried(request, post=None) -> tuple[list, list, list[str]]:
    """The pending quotes and figures the composer form carried (signed), and what went wrong."""
    quotes, figures, errors = [], [], []
    try:
        quotes = quoting.unsign(request.POST.get("quotes_token", ""))
    except quoting.QuoteError as error:
        errors.append(str(error))
    try:
        figures = figure_actions.unsign(request.POST.get("figures_token", ""), request.user, post)
    except figure_actions.FigureError as error:
        errors.append(_figure_error(error.code))
    return quotes, figures, errors


def _is_figure_step(step: str) -> bool:
    return step == "add_figure" or step.startswith("remove_figure:")


def _figure_step(request, step: str, figures: list) -> tuple[list, FigureForm | None, list[str]]:
    """Attach a screenshot (re-encoded and stored at once, unattached, owned by the member) or
    remove one. The bound form comes back when it has errors, to show them."""
    if step != "add_figure":
        index = step.removeprefix("remove_figure:")
        if index.isdecimal() and int(index) < len(figures):
            return figures[:int(index)] + figures[int(index) + 1:], None, []
        return figures, None, [_("That figure is no longer there.")]
    if len(figures) >= figure_actions.MAX_FIGURES_PER_POST:
        return figures, None, [_figure_error("too_many")]
    form = FigureForm(request.POST, request.FILES, prefix="figure")
    if not form.is_valid():
        return figures, form, []
    try:
        figure = figure_actions.store_upload(user=request.user, image=form.cleaned_data["file"],
                                             caption=form.cleaned_data["caption"])
    except figure_actions.FigureError as error:
        return figures, None, [_figure_error(error.code)]
    return figures + [figure], None, []


def _attach_chosen_figure(request, step: str, figures: list) -> tuple[list, FigureForm | None, list[str]]:
    """A screenshot chosen but not attached when the member previews or posts is attached first,
    not dropped silently; (figures, form with errors or None, errors) as for a figure step."""
    if step in ("post", "preview") and request.FILES.get("figure-file") is not None:
        return _figure_step(request, "add_figure", figures)
    return figures, None, []


def _figures_context(figures: list, figure_form, figure_errors: list[str]) -> dict:
    numbered = len(figures) > 1
    return {
        "figures": [(f, figure_html(f.caption, f.image(), n if numbered else None)) for n, f in enumerate(figures, 1)],
        "figures_token": figure_actions.sign(figures), "figure_errors": figure_errors,
        "figure_form": figure_form or FigureForm(prefix="figure"),
        "can_add_figure": len(figures) < figure_actions.MAX_FIGURES_PER_POST,
        "max_figures": figure_actions.MAX_FIGURES_PER_POST,
    }


def _draft_from_session(user, kept: dict) -> list | None:
    """The pending quotes and figures a submit after an expired session carried, for the draft;
    None (the draft's are kept) if they cannot be read back."""
    try:
        quotes = quoting.unsign(kept.get("quotes_token", ""))
        figures = figure_actions.unsign(kept.get("figures_token", ""), user)
    except (quoting.QuoteError, figure_actions.FigureError):
        return None
    return quoting.to_draft(quotes, figures)


def _compose(request, *, form_class, draft_key, template, context, initial, submit):
    """The composer's common flow: quote mails and SMS (redacted at once, carried signed),
    preview, post; restore a draft, keep the text whatever goes wrong. `initial()` gives the
    empty form's values (asked on GET only: a submit brings its own); `submit(form, decision)`
    makes the post the gate let through (forum.limits.gate.Decision)."""
    if not request.user.is_authenticated:
        if request.method == "POST":
            # The session expired while writing: keep the text in this (anonymous) session,
            # which survives the login, and put it back in the form afterwards.
            request.session[PENDING_DRAFT] = {
                "key": draft_key, **_draft_fields(request.POST),
                # Signed as the form carried them: quotes redacted already, figures by id. A token
                # too large for a session row is left out whole (a cut one could not be read).
                **{name: token for name in ("quotes_token", "figures_token")
                   if len(token := request.POST.get(name, "")) <= MAX_SESSION_TOKEN},
            }
            messages.warning(request, _("Your session had expired. Log in again: your text has been kept."))
        return redirect_to_login(request.get_full_path())

    pending = request.session.get(PENDING_DRAFT)
    if pending and pending.get("key") == draft_key:
        actions.save_draft(user=request.user, key=draft_key,
                           **{f: pending.get(f, "") for f in ("title", "subtitle", "body")},
                           pending=_draft_from_session(request.user, pending))
        del request.session[PENDING_DRAFT]

    quotes, figures, quote_errors, preview, status, refusal = [], [], [], None, 200, None
    figure_form, figure_errors = None, []
    if request.method == "POST":
        quotes, figures, quote_errors = _carried(request)
        # A token that could not be read leaves the draft's pending quotes and figures as they were.
        carried = not quote_errors
        step = request.POST.get("step", "post")
        earlier = actions.post_for_token(request.user, client_token(request)) if step == "post" else None
        if earlier is not None:
            # The same form again (a double click, a retry after a timeout): one post only.
            messages.info(request, _("This form had been sent already: here is the post it made."))
            return redirect(post_url(earlier.thread, earlier.position))
        figures, figure_form, figure_errors = _attach_chosen_figure(request, step, figures)
        if step not in ("post", "preview"):
            if _is_figure_step(step):
                figures, figure_form, figure_errors = _figure_step(request, step, figures)
            else:
                quotes, errors = _quote_step(request, step, quotes)
                quote_errors += errors
            # Not a submit yet: show the text as typed, without judging it.
            form = form_class(initial={k: v for k, v in request.POST.items() if k in form_class.base_fields},
                              has_quotes=bool(quotes or figures))
            actions.save_draft(user=request.user, key=draft_key, **_draft_fields(request.POST),
                               pending=quoting.to_draft(quotes, figures) if carried else None)
        else:
            form = form_class(request.POST, has_quotes=bool(quotes or figures))
            if form.is_valid() and not quote_errors and not figure_errors and figure_form is None:
                try:
                    if step == "preview":
                        preview = actions.preview_html(_fields(form, quotes, figures))
                    else:
                        decision = gate.decide(request.user, fields=_fields(form, quotes, figures),
                                               ip=ratelimit.client_ip(request), client_token=client_token(request))
                        if not decision.refused:
                            response = submit(form, decision)
                            if decision.held:
                                messages.info(request, decision.reason)
                            return response
                        refusal = decision
                        if decision.code != "unconfirmed":  # that one is shown above the form, with its button
                            form.add_error(None, decision.reason)
                except actions.ActionRefused as refused:
                    form.add_error(None, str(refused))
            if preview is None:
                actions.save_draft(user=request.user, key=draft_key, **_draft_fields(request.POST),
                                   pending=quoting.to_draft(quotes, figures) if carried else None)
                status = refusal.status if refusal else 400
        if quote_errors or figure_errors or (figure_form is not None and figure_form.errors):
            status = 400
    else:
        initial = initial()
        draft = Draft.objects.filter(user=request.user, key=draft_key).first()
        if draft:
            initial.update({"title": draft.title, "subtitle": draft.subtitle, "body": draft.body})
            quotes, figure_ids = quoting.from_draft(draft.quotes)
            figures = figure_actions.load_kept(figure_ids, request.user)
            messages.info(request, _("Your draft has been restored."))
            if len(figures) < len(figure_ids):
                figure_errors.append(_("Figures of your draft that were not posted within a day have been deleted: "
                                       "attach them again."))
        form = form_class(initial=initial)
    return render(request, template, {
        **context, "form": form, "draft_key": draft_key, "action": request.get_full_path(),
        "quotes": [(q, actions.preview_quote_html(q, n)) for n, q in enumerate(quotes, 1)],
        "quotes_token": quoting.sign(quotes) if quotes else "", "quote_errors": quote_errors, "preview": preview,
        "gate_notice": gate.notice(request.user),  # confirm your address first, or: posts wait for approval
        **_figures_context(figures, figure_form, figure_errors),
        # Kept across previews and failed submits: the token names the post this form will make.
        "client_token": client_token(request) or new_client_token(),
    }, status=status)


def _profile_initial(user) -> dict:
    profile = Profile.objects.filter(user=user).first() if user.is_authenticated else None
    return {"device": profile.device, "os": profile.os} if profile else {}


def _fields(form, quotes=(), figures=None) -> actions.PostFields:
    data = form.cleaned_data
    return actions.PostFields(body=data["body"], subtitle=data["subtitle"], device=data["device"], os=data["os"],
                              quotes=tuple(quotes), figures=None if figures is None else tuple(figures))


def new_thread(request, board):
    board = _board(board)

    def submit(form, decision):
        thread = actions.create_thread(board=board, user=request.user, title=form.cleaned_data["title"],
                                       fields=decision.fields, draft_key=f"thread:{board.slug}",
                                       client_token=client_token(request), held=decision.held,
                                       bans_checked=decision.bans_checked)
        return redirect(thread)

    return _compose(request, form_class=ThreadForm, draft_key=f"thread:{board.slug}",
                    template="forum/new_thread.html", context={"board": board},
                    initial=lambda: _profile_initial(request.user), submit=submit)


def reply(request, board, number):
    # The thread page's own query (compiled once per kind of reader): the same visibility.
    if (thread := _visible_thread(request.user, board, number)) is None:
        raise Http404(_("No such thread."))
    reply_to = None
    if request.GET.get("to", "").isdecimal():
        reply_to = get_object_or_404(Post, thread=thread, position=int(request.GET["to"]))
    if thread.locked:
        return render(request, "forum/locked.html", {"thread": thread, "board": thread.board}, status=403)

    def submit(form, decision):
        post = actions.create_reply(thread=thread, user=request.user, fields=decision.fields,
                                    reply_to=reply_to, draft_key=f"reply:{thread.pk}",
                                    client_token=client_token(request), held=decision.held,
                                    bans_checked=decision.bans_checked)
        return redirect(post_url(thread, post.position))

    return _compose(request, form_class=ReplyForm, draft_key=f"reply:{thread.pk}",
                    template="forum/reply.html",
                    context={"thread": thread, "board": thread.board, "reply_to": reply_to},
                    initial=lambda: _profile_initial(request.user), submit=submit)


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
    pending = None  # a script that sends no tokens leaves the draft's quotes and figures as they are
    if "quotes_token" in request.POST or "figures_token" in request.POST:
        quotes, figures, errors = _carried(request)
        pending = None if errors else quoting.to_draft(quotes, figures)
    actions.save_draft(user=request.user, key=data["key"], title=data["title"], subtitle=data["subtitle"],
                       body=data["body"], pending=pending)
    return HttpResponse(status=204)


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        ip = ratelimit.client_ip(request)
        if refusal := gate.ban_refusal(None, ip, "signup", email=form.cleaned_data["email"]):
            form.add_error(None, refusal)
        elif not (limited := ratelimit.hit("signup", ratelimit.network_of(ip))).allowed:
            form.add_error(None, _("Too many accounts were made from your network.") + " " + limited.wait_message)
            status = 429
        else:
            with transaction.atomic():
                user = form.save()
                Profile.objects.create(user=user, display_name=form.cleaned_data["display_name"])
                confirmation.require(user)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to Daiou."))
            if confirmation.send(request, user):
                messages.info(request, _("We sent a link to %(email)s: open it to confirm your address, then you "
                                         "can post.") % {"email": user.email})
            else:
                messages.warning(request, _("The confirmation mail could not be sent just now: ask for it again "
                                            "when you write your first post."))
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form},
                  status=400 if status == 200 and form.errors else status)


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
    # A moderator editing someone else's post says why (kept in the log with the revision).
    moderating = post.author_id != request.user.pk
    form_class = ModeratorEditForm if moderating else ReplyForm
    initial = {"subtitle": post.subtitle, "body": post.source, "device": post.device, "os": post.os}
    figures, figure_form, figure_errors = list(post.figures.all()), None, []
    if request.method == "POST":
        if "figures_token" in request.POST:  # the post's figures as the form carries them, or the post's own
            _quotes, figures, figure_errors = _carried(request, post=post)
        step = request.POST.get("step", "post")
        figures, figure_form, errors = _attach_chosen_figure(request, step, figures)
        figure_errors += errors
        if _is_figure_step(step):
            figures, figure_form, errors = _figure_step(request, step, figures)
            figure_errors += errors
            form = form_class(initial={k: v for k, v in request.POST.items() if k in form_class.base_fields})
        else:
            form = form_class(request.POST, initial=initial, has_quotes=bool(post.quote_details or figures))
            if form.is_valid() and not figure_errors and figure_form is None:
                try:
                    decision = gate.decide(request.user, fields=_fields(form, figures=figures),
                                           ip=ratelimit.client_ip(request), editing=True)
                    if decision.refused:
                        raise actions.ActionRefused(decision.reason)
                    if moderating:
                        moderation_actions.edit_post(post=post, actor=request.user, reason=form.cleaned_data["reason"],
                                                     fields=decision.fields)
                    else:
                        actions.edit_post(post=post, user=request.user, fields=decision.fields, held=decision.held)
                    if decision.held:  # a new member's edit waits for approval
                        messages.info(request, decision.reason)
                    else:
                        messages.success(request, _("The post has been saved."))
                    return redirect(post_url(post.thread, post.position))
                except actions.ActionRefused as refused:
                    form.add_error(None, str(refused))
    else:
        form = form_class(initial=initial, has_quotes=bool(post.quote_details))
    bad = form.errors or figure_errors or (figure_form is not None and figure_form.errors)
    return render(request, "forum/edit_post.html", {
        "form": form, "post": post, "thread": post.thread, "board": post.thread.board,
        **_figures_context(figures, figure_form, figure_errors),
    }, status=400 if bad else 200)
