from django.urls import path

from . import views

app_name = "watching"
urlpatterns = [
    path("", views.notifications, name="notifications"),
    path("read/", views.read, name="read"),
    path("digest/", views.digest, name="digest"),
    path("watch/<int:pk>/", views.watch, name="watch"),
    path("unwatch/<int:pk>/", views.unwatch, name="unwatch"),
]
