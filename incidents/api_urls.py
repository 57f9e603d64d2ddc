from django.urls import path

from . import views

app_name = "incidents_api"
urlpatterns = [
    path("indicators.json", views.api_lookup, name="lookup"),
    path("<slug:board>/<int:number>.json", views.api_thread, name="thread"),
]
