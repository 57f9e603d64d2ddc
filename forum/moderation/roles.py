"""Who may moderate what. Members, moderators of one board (BoardModerator rows), moderators
of every board (the "moderators" group: permission forum.moderate) and admins (superusers, or
anyone given moderation.delete_for_good).

`can_moderate(user, board)` is the one question every view, action and query asks.
"""

from functools import cache, wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import Q
from django.utils.translation import gettext as _

GLOBAL_PERMISSION = "forum.moderate"
PURGE_PERMISSION = "moderation.delete_for_good"


def moderates_everything(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(GLOBAL_PERMISSION))


def moderated_board_ids(user) -> frozenset[int]:
    """The boards this member moderates by a BoardModerator row (one query, kept on the user)."""
    if not (user and user.is_authenticated and user.is_active):
        return frozenset()
    cached = getattr(user, "_moderated_board_ids", None)
    if cached is None:
        from .models import BoardModerator

        cached = frozenset(_moderated_board_ids_query(router.db_for_read(BoardModerator))(user.pk))
        user._moderated_board_ids = cached
    return cached


@cache
def _moderated_board_ids_query(alias: str):
    """moderated_board_ids' query (asked on every post), its SQL written once per process."""
    from forum.precompiled import Precompiled

    from .models import BoardModerator

    member = Precompiled.stand_in(0)
    return Precompiled(BoardModerator.objects.filter(user_id=member).values_list("board_id", flat=True),
                       alias, (member,))


def can_moderate(user, board) -> bool:
    """May `user` moderate `board` (a Board or its id)? None, for something on no board (a
    removal request naming no post), asks for a moderator of every board."""
    if moderates_everything(user):
        return True
    board_id = getattr(board, "pk", board)
    return board_id in moderated_board_ids(user)


def is_moderator(user) -> bool:
    """Moderates at least one board: may open the staff pages."""
    return moderates_everything(user) or bool(moderated_board_ids(user))


def can_purge(user) -> bool:
    """Admins only: delete for good."""
    return bool(user and user.is_authenticated and user.is_active and user.has_perm(PURGE_PERMISSION))


def board_filter(user, field: str = "board") -> Q | None:
    """A filter to the boards `user` moderates (`field` leads to a Board), None for all of them."""
    if moderates_everything(user):
        return None
    return Q(**{f"{field}__in": list(moderated_board_ids(user))})


def moderated_boards_subquery(user):
    """The boards `user` moderates by a row, as a subquery: no query of its own."""
    return boards_moderated_by(user.pk)


def boards_moderated_by(user_id):
    """moderated_boards_subquery() by the member's id (or a stand-in for it: forum.precompiled)."""
    from .models import BoardModerator

    return BoardModerator.objects.filter(user_id=user_id).values("board_id")


def staff_required(view):
    """Staff pages: anonymous readers are sent to log in, members are refused (403)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_moderator(request.user):
            raise PermissionDenied(_("Only moderators may open this page."))
        return view(request, *args, **kwargs)

    return wrapper
