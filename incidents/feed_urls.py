from django.urls import path
from django.views.decorators.http import require_safe

from .feeds import BoardThreadsFeed, IndicatorsFeed

app_name = "incidents_feeds"
# Django's Feed answers any method; a feed is read with GET or HEAD only (others: 405).
urlpatterns = [
    path("indicators.atom", require_safe(IndicatorsFeed()), name="indicators"),
    path("<slug:board>.atom", require_safe(BoardThreadsFeed()), name="board"),
]
