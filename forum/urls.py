from django.urls import path, register_converter

from . import views
from .models import RESERVED_BOARD_SLUGS


class BoardSlugConverter:
    """A board's slug in an address: any slug but a path of the site itself
    (RESERVED_BOARD_SLUGS), which falls through to the site's own pattern. So the boards'
    addresses can come first in the URLconf: the thread page is the busiest, and trying the
    thirty patterns before it was a tenth of a cached thread page's time."""

    regex = "[-a-zA-Z0-9_]+"

    def to_python(self, value: str) -> str:
        if value in RESERVED_BOARD_SLUGS:
            raise ValueError(value)  # no match: the resolver tries the next pattern
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(BoardSlugConverter, "board")

urlpatterns = [
    path("<board:board>/<int:number>/", views.thread_detail, name="thread"),
    path("<board:board>/", views.board_index, name="board"),
    path("<board:board>/new/", views.new_thread, name="new_thread"),
    path("<board:board>/vol/<int:number>/", views.volume_detail, name="volume"),
    path("<board:board>/<int:number>/reply/", views.reply, name="reply"),
    path("<board:board>/<int:number>/p<int:position>/edit/", views.edit_post, name="edit_post"),
]
