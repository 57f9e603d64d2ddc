from django.urls import path

from . import views

urlpatterns = [
    path("<slug:board>/", views.board_index, name="board"),
    path("<slug:board>/new/", views.new_thread, name="new_thread"),
    path("<slug:board>/vol/<int:number>/", views.volume_detail, name="volume"),
    path("<slug:board>/<int:number>/", views.thread_detail, name="thread"),
    path("<slug:board>/<int:number>/reply/", views.reply, name="reply"),
    path("<slug:board>/<int:number>/p<int:position>/edit/", views.edit_post, name="edit_post"),
]
