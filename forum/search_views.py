"""The search page, /search/ (ISSUE 7): a GET form and one page of results."""

from datetime import date

from django import forms
from django.core.validators import ProhibitNullCharactersValidator
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from . import search
from . import search_text as st
from .limits.ratelimit import rate_limited
from .models import Board
from .moderation import roles

# A longer raw query cannot fold down to MAX_QUERY_CHARS (white space aside): refused unread.
MAX_RAW_QUERY = 4 * st.MAX_QUERY_CHARS
OLDEST_DAY = date(1900, 1, 1)
NEWEST_DAY = date(2200, 12, 31)


class FreeTextField(forms.CharField):
    """Any text, control characters included: folding turns them into spaces, so a query
    pasted from a mail with a stray NUL still searches instead of failing."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]


class SearchForm(forms.Form):
    q = FreeTextField(label=_("Search for"), required=False, strip=True,
                      widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    board = forms.ChoiceField(label=_("Board"), required=False)
    author = FreeTextField(label=_("Author"), required=False, strip=True)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    quotes = forms.BooleanField(label=_("Only posts that quote a mail"), required=False)
    brand = forms.ChoiceField(label=_("Brand"), required=False)
    order = forms.ChoiceField(label=_("Order"), required=False,
                              choices=[(search.RELEVANCE, _("Relevance")), (search.NEWEST, _("Newest first"))])
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, boards, brand_lookup=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.boards = {board.slug: board for board in boards}
        self.fields["board"].choices = [("", _("All boards"))] + [(b.slug, b.name) for b in boards]
        self.brand_lookup = brand_lookup
        if brand_lookup is None:
            del self.fields["brand"]
        else:
            self.fields["brand"].choices = [("", _("Any brand"))] + list(brand_lookup.choices())

    def clean_q(self):
        raw = self.cleaned_data["q"]
        too_long = forms.ValidationError(
            _("The search is too long: at most %(chars)s characters and %(words)s words."),
            code="too_long", params={"chars": st.MAX_QUERY_CHARS, "words": st.MAX_TERMS},
        )
        if len(raw) > MAX_RAW_QUERY:
            raise too_long
        try:
            self.parsed = st.parse_query(raw)
        except st.QueryTooLong:
            raise too_long from None
        return raw

    def clean_author(self):
        author = self.cleaned_data["author"]
        if len(author) > 100:
            raise forms.ValidationError(_("An author's name has at most 100 characters."), code="too_long")
        return author

    def _clean_day(self, name):
        day = self.cleaned_data[name]
        if day is not None and not OLDEST_DAY <= day <= NEWEST_DAY:
            raise forms.ValidationError(_("Give a date between 1900 and 2200."), code="out_of_range")
        return day

    def clean_since(self):
        return self._clean_day("since")

    def clean_until(self):
        return self._clean_day("until")

    def clean_after(self):
        raw = self.cleaned_data["after"]
        if not raw:
            return None
        cursor = search.Cursor.parse(raw)
        if cursor is None:
            raise forms.ValidationError(_("This link to a page of results is damaged."), code="cursor")
        return cursor

    def criteria(self, *, moderator: bool, moderated_boards=()) -> search.Search | None:
        """What to search for, or None when the form asks for nothing (then nothing is run)."""
        data = self.cleaned_data
        brand_terms = ()
        if data.get("brand") and self.brand_lookup is not None:
            names = {st.fold(name).strip() for name in self.brand_lookup.names(data["brand"])}
            brand_terms = tuple(st.Term(name) for name in sorted(names) if name)
        board = self.boards.get(data["board"])
        wanted = search.Search(
            terms=self.parsed.terms, board_id=board.pk if board else None, author=data["author"],
            since=data["since"], until=data["until"], with_quotes=data["quotes"], brand_terms=brand_terms,
            brand_selected=bool(data.get("brand")), order=data["order"] or search.RELEVANCE, moderator=moderator,
            moderated_boards=tuple(sorted(moderated_boards)),
        )
        if not (wanted.terms or board or wanted.author or wanted.since or wanted.until or wanted.with_quotes
                or wanted.brand_selected):
            return None
        return wanted


@require_GET
@rate_limited("search", when=lambda request: bool(request.GET))  # the empty form costs nothing
def search_page(request):
    boards = list(Board.objects.only("pk", "slug", "name"))
    form = SearchForm(request.GET or None, boards=boards, brand_lookup=search.brand_lookup())
    context = {"form": form, "count_cap": search.COUNT_CAP}
    if form.is_bound and form.is_valid():
        # Hidden posts for moderators: of every board, or of the boards a member moderates.
        everything = roles.moderates_everything(request.user)
        wanted = form.criteria(moderator=everything,
                               moderated_boards=() if everything else roles.moderated_board_ids(request.user))
        if wanted is None:
            context["nothing_asked"] = bool(form.cleaned_data["q"])
        else:
            page = search.run(wanted, after=form.cleaned_data["after"])
            context.update(
                page=page, rows=search.rows(page, wanted),
                newest_only=bool(wanted.terms) and wanted.order == search.RELEVANCE and not wanted.relevance,
                next_url=_page_url(request, page.next_cursor) if page.next_cursor else None,
                first_url=_page_url(request, None) if form.cleaned_data["after"] else None,
            )
    return render(request, "forum/search.html", context, status=400 if form.errors else 200)


def _page_url(request, cursor) -> str:
    params = request.GET.copy()
    params.pop("after", None)
    if cursor is not None:
        params["after"] = str(cursor)
    return f"{request.path}?{params.urlencode()}"
