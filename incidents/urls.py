from django.urls import path

from . import views

app_name = "incidents"
urlpatterns = [
    path("", views.indicator_list, name="indicators"),
    path("<int:pk>/", views.indicator_detail, name="indicator"),
    path("<int:pk>/review/", views.indicator_review, name="review"),
    path("brands/", views.brand_list, name="brands"),
    path("brands/<slug:slug>/", views.brand_detail, name="brand"),
    path("export.csv", views.export_csv, name="export_csv"),
    path("export.stix.json", views.export_stix, name="export_stix"),
]
