"""A page's template rendered once per process and shape with stand-in values, and cut where
they land: an anonymous reader's page is then its cut pieces joined with the request's values,
escaped as the template escapes them.

Django's template engine spent about as long on the thread page's frame (its blocks, tags and
forty nodes) as on the 50 posts inside it, for text that is the same from page to page but for
a dozen values. A stencil is not a cache of pages: it holds no thread's data, only the
template's own text, and every request fills in its own values, so a change to a thread shows
at once, as with the page cache off.

What a stencil relies on, and checks:
- Each value is declared by kind. `text` is printed with autoescaping (its stand-in `<…>` is
  found as `&lt;…&gt;`); `html` is printed as it is (safe strings made by the view; a plain str
  is escaped, as the template would); `words` are slugs (letters, digits, `-`, `_`) and
  `numbers` whole numbers, printed unchanged in addresses and text. The request's path (the
  footer's language links) is one more word.
- A value the template changes whole (a filter, a format, escaping where html is declared or
  none where text is) leaves its stand-in changed, and cutting fails. A value cut short would
  not always be caught there; the tests compare stencil and template byte for byte on real
  pages of every shape (forum/tests/test_stencil.py).
- What decides the page's structure (an `{% if %}`) is in `shape`: a stencil is cut for each
  combination of those values, and of language, script prefix and URL configuration. Values
  are printed, never tested: each cut is made twice with different stand-ins, and the two must
  agree.
- Only requests whose reader-dependent parts are the same for everyone are served from a
  stencil: anonymous readers without a session or messages cookie (`pagecache.cacheable`), the
  readers the page cache serves one stored page to. Any other request, or a word that is not
  plain, gets the template rendered as usual (`render_plain`). A page that would hold a CSRF
  token or change the session is refused when it is cut.
"""

from __future__ import annotations

import copy
import re
import secrets
import weakref

from django.template.loader import get_template, render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from .templatetags.frame import language_key

_WORD = re.compile(r"[-A-Za-z0-9_]+")
_PATH = re.compile(r"[-A-Za-z0-9_/]+")
PATH = "\x00path"  # the slot name of the request's path

_stencils: weakref.WeakSet[Stencil] = weakref.WeakSet()


def clear() -> None:
    """Forget every stencil's cuts (tests change settings, templates and URLs)."""
    for stencil in list(_stencils):
        stencil._cuts.clear()


class StencilError(ValueError):
    """The template cannot be cut: a value is changed, tested, or not declared."""


class Stencil:
    def __init__(self, template_name: str, *, shape=(), text=(), html=(), words=(), numbers=(), constants=None):
        self.template_name = template_name
        self.shape, self.text, self.html = tuple(shape), tuple(text), tuple(html)
        self.words, self.numbers = tuple(words), tuple(numbers)
        self.constants = dict(constants or {})
        declared = (*self.shape, *self.text, *self.html, *self.words, *self.numbers)
        self.names = frozenset(declared)
        if len(self.names) != len(declared):
            raise StencilError("a value is declared twice")
        self._cuts: dict[tuple, tuple] = {}
        _stencils.add(self)

    def render_plain(self, request, values: dict, **extra) -> str:
        """The template rendered as usual, with the same values (and any others a reader who is
        not served from the stencil needs)."""
        return render_to_string(self.template_name, {**self.constants, **values, **extra}, request)

    def render(self, request, values: dict, **extra) -> str:
        """The page for this request: from the stencil when the request is an anonymous reader's
        and every word is a plain word, else `render_plain(request, values, **extra)`."""
        from .pagecache import cacheable

        if values.keys() != self.names:
            raise StencilError(f"values {sorted(values)} are not the declared {sorted(self.names)}")
        filled = dict(values)
        filled[PATH] = request.path
        if not (cacheable(request) and _PATH.fullmatch(request.path) and all(_WORD.fullmatch(values[n]) for n in self.words)
                and all(type(values[n]) is int and values[n] >= 0 for n in self.numbers)):
            return self.render_plain(request, values, **extra)
        key = (*(values[n] for n in self.shape), *language_key())
        if (cut := self._cuts.get(key)) is None:
            cut = self._cuts[key] = self._cut(request, {n: values[n] for n in self.shape})
        pieces, slots = cut
        out = [pieces[0]]
        for (name, kind), piece in zip(slots, pieces[1:]):
            value = filled[name]
            if kind == "text" or kind == "html":
                if not isinstance(value, str):
                    raise StencilError(f"{name!r} is {kind}: a str, not {type(value).__name__}")
                # As the template does: html values are safe strings, any other str is escaped.
                value = conditional_escape(value)
            elif kind == "number":
                value = str(value)
            out.append(value)
            out.append(piece)
        return mark_safe("".join(out))

    # ---- cutting ---------------------------------------------------------------------------

    def _cut(self, request, shape: dict) -> tuple:
        first, second = self._cut_once(request, shape), self._cut_once(request, shape)
        if first != second:
            raise StencilError(f"{self.template_name}: the page changes with its values beyond printing them "
                               "(a value is tested or measured: put what decides the page in `shape`)")
        return first

    def _cut_once(self, request, shape: dict) -> tuple:
        token = secrets.token_hex(6)
        base = (10**12 + secrets.randbelow(10**11)) * 100
        stand_ins, found = {}, {}
        for at, name in enumerate(self.text):
            stand_ins[name] = f"<{token}t{at}>"
            found[f"&lt;{token}t{at}&gt;"] = (name, "text")
        for at, name in enumerate(self.html):
            stand_ins[name] = SafeString(f"<{token}h{at}>")
            found[f"<{token}h{at}>"] = (name, "html")
        for at, name in enumerate(self.words):
            stand_ins[name] = f"{token}w{at}"
            found[stand_ins[name]] = (name, "word")
        for at, name in enumerate(self.numbers):
            stand_ins[name] = base + at  # a number: addresses' int converters take no word
            found[str(base + at)] = (name, "number")
        path = f"/{token}p/"
        found[path] = (PATH, "word")
        reader = copy.copy(request)
        reader.META = request.META.copy()
        reader.path = reader.path_info = path
        template = get_template(self.template_name)
        text = template.render({**self.constants, **shape, **stand_ins}, reader)
        if reader.META.get("CSRF_COOKIE_NEEDS_UPDATE") or getattr(reader, "session", None) is not None \
                and reader.session.modified:
            raise StencilError(f"{self.template_name}: a stencil's page must not hold a CSRF token or touch the session")
        parts = re.split("(" + "|".join(map(re.escape, found)) + ")", text)
        pieces, slots = parts[0::2], tuple(found[p] for p in parts[1::2])
        marks = (token, *(str(base + at) for at in range(len(self.numbers))))
        if any(mark in piece for piece in pieces for mark in marks):
            raise StencilError(f"{self.template_name}: a value is printed changed (a filter, a format, "
                               "escaped where declared html or not escaped where declared text)")
        # Compared between two cuts without their random stand-ins.
        return tuple(pieces), slots
