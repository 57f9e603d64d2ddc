"""Atom feeds: new threads of a board, and new indicators (entries link to Daiou's pages only)."""
from django.contrib.auth.models import AnonymousUser
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext_lazy as _

from forum.models import Board, Thread

from .models import ROLE_LABELS, Indicator, roles_of

FEED_LENGTH = 50


class BoardThreadsFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, board):
        return get_object_or_404(Board, slug=board)

    def title(self, board):
        return _("Daiou: new threads on %(board)s") % {"board": board.name}

    def link(self, board):
        return reverse("board", args=[board.slug])

    def subtitle(self, board):
        return board.description

    def items(self, board):
        return (Thread.objects.visible_to(AnonymousUser()).filter(board=board).select_related("board")
                .order_by("-created_at", "-id")[:FEED_LENGTH])

    def item_title(self, thread):
        return f"NO.{thread.number} {thread.title}"

    def item_description(self, thread):
        return ""

    def item_link(self, thread):
        return thread.get_absolute_url()

    def item_pubdate(self, thread):
        return thread.created_at

    def item_author_name(self, thread):
        return thread.originator_name


class IndicatorsFeed(Feed):
    feed_type = Atom1Feed
    title = _("Daiou: new indicators")
    subtitle = _("URLs, hosts, senders and phone numbers newly quoted as evidence (shown defanged).")

    def link(self):
        return reverse("incidents:indicators")

    def items(self):
        return Indicator.objects.seen().select_related("brand").order_by("-created_at", "-id")[:FEED_LENGTH]

    def item_title(self, indicator):
        return f"{indicator.kind_label}: {indicator.defanged}"

    def item_description(self, indicator):
        roles = ", ".join(str(ROLE_LABELS[role]) for role in roles_of(indicator.roles))
        brand = f" — {indicator.brand.name}" if indicator.brand else ""
        return f"{indicator.get_assessment_display()}{brand}; {roles}"

    def item_link(self, indicator):
        return indicator.get_absolute_url()

    def item_pubdate(self, indicator):
        return indicator.created_at

    def item_updateddate(self, indicator):
        return indicator.updated_at
