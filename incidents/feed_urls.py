from django.urls import path

from .feeds import BoardThreadsFeed, IndicatorsFeed

app_name = "incidents_feeds"
urlpatterns = [
    path("indicators.atom", IndicatorsFeed(), name="indicators"),
    path("<slug:board>.atom", BoardThreadsFeed(), name="board"),
]
