from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("log/", views.log, name="log"),
    path("post/<int:pk>/", views.post_page, name="post"),
    path("post/<int:pk>/act/", views.post_act, name="post_act"),
    path("post/<int:pk>/redact/", views.post_redact, name="post_redact"),
    path("thread/<int:pk>/", views.thread_page, name="thread"),
    path("thread/<int:pk>/act/", views.thread_act, name="thread_act"),
    path("member/<int:pk>/", views.member_page, name="member"),
    path("bans/", views.ban_list, name="bans"),
    path("bans/<int:pk>/lift/", views.ban_lift, name="ban_lift"),
    path("reports/<int:pk>/close/", views.report_close, name="report_close"),
    # Members' report forms, linked from every post and thread.
    path("report/<slug:board>/<int:number>/", views.report_thread, name="report_thread"),
    path("report/<slug:board>/<int:number>/p<int:position>/", views.report_post, name="report_post"),
]
