from django.urls import path

from . import views

app_name = "limits"
urlpatterns = [
    path("again/", views.send_again, name="send_again"),
    path("<str:token>/", views.confirm, name="confirm"),
]
