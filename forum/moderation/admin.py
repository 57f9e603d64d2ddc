"""Admins set who moderates which board; the log, reports, revisions, redirects and bans are
shown read-only (moderators act from the moderation pages, never from here)."""

from django.contrib import admin

from .models import Ban, BoardModerator, ModerationLog, PostRevision, Report, ThreadRedirect


@admin.register(BoardModerator)
class BoardModeratorAdmin(admin.ModelAdmin):
    list_display = ["user", "board", "added_at"]
    list_filter = ["board"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    list_select_related = ["user", "board"]


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModerationLog)
class ModerationLogAdmin(ReadOnlyAdmin):
    """Never editable: no add, change or delete, whoever asks."""

    list_display = ["created_at", "actor_name", "action", "target", "reason"]
    list_filter = ["action", "board"]
    search_fields = ["actor_name", "target"]
    date_hierarchy = "created_at"


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "reason", "status", "reporter", "post", "thread"]
    list_filter = ["status", "reason"]
    list_select_related = ["reporter", "post", "thread"]


@admin.register(PostRevision)
class PostRevisionAdmin(ReadOnlyAdmin):
    list_display = ["post", "number", "edited_by", "edited_at"]
    list_select_related = ["post", "edited_by"]


@admin.register(ThreadRedirect)
class ThreadRedirectAdmin(ReadOnlyAdmin):
    list_display = ["board", "number", "thread", "created_at"]
    list_select_related = ["board", "thread"]


@admin.register(Ban)
class BanAdmin(ReadOnlyAdmin):
    list_display = ["kind", "user", "value", "starts_at", "ends_at", "lifted_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "value"]
    list_select_related = ["user"]
