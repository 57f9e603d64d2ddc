"""Django admin for every model, usable at a million posts: raw ids, no full counts."""

from django.contrib import admin

from .models import (AllowedLinkHost, ArchiveAuthor, Board, Draft, LearnedRecipient, Post, Profile, SearchDocument,
                     Thread, Volume)


class LargeTableAdmin(admin.ModelAdmin):
    show_full_result_count = False
    list_per_page = 50


@admin.register(Board)
class BoardAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position", "threads_per_volume", "last_thread_number", "last_volume_number"]
    search_fields = ["name", "slug"]
    readonly_fields = ["last_thread_number", "last_volume_number"]


@admin.register(Volume)
class VolumeAdmin(LargeTableAdmin):
    list_display = ["__str__", "board", "number", "imported", "thread_count"]
    list_filter = ["board", "imported"]
    search_fields = ["=number"]
    list_select_related = ["board"]


@admin.register(Thread)
class ThreadAdmin(LargeTableAdmin):
    list_display = ["number", "title", "board", "originator_name", "started_on", "post_count", "locked", "hidden"]
    list_filter = ["board", "locked", "hidden"]
    search_fields = ["=number", "title", "originator_name"]
    list_select_related = ["board"]
    raw_id_fields = ["volume", "originator"]
    date_hierarchy = "started_on"


@admin.register(Post)
class PostAdmin(LargeTableAdmin):
    list_display = ["__str__", "thread", "position", "author_name", "posted_at", "format", "hidden"]
    list_filter = ["format", "hidden", "thread__board"]
    search_fields = ["author_name", "handle", "subtitle"]
    list_select_related = ["thread", "thread__board"]
    raw_id_fields = ["thread", "author", "reply_to"]
    readonly_fields = ["html", "render_version", "edited_at"]


@admin.register(Profile)
class ProfileAdmin(LargeTableAdmin):
    list_display = ["display_name", "user", "handle", "device", "os"]
    search_fields = ["display_name", "handle", "user__username", "user__email"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]


@admin.register(Draft)
class DraftAdmin(LargeTableAdmin):
    list_display = ["user", "key", "updated_at"]
    search_fields = ["user__username", "key"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]


@admin.register(ArchiveAuthor)
class ArchiveAuthorAdmin(LargeTableAdmin):
    """Spellings of the old board's authors: link spellings of one person, or a spelling to a member."""

    list_display = ["name", "handle", "same_as", "member"]
    search_fields = ["name", "handle", "member__username"]
    list_filter = [("member", admin.EmptyFieldListFilter), ("same_as", admin.EmptyFieldListFilter)]
    raw_id_fields = ["same_as", "member"]
    list_select_related = ["same_as", "member"]


@admin.register(AllowedLinkHost)
class AllowedLinkHostAdmin(admin.ModelAdmin):
    """Hosts whose links stay clickable in members' own text; every other link is defanged."""

    list_display = ["host", "note"]
    search_fields = ["host", "note"]


@admin.register(LearnedRecipient)
class LearnedRecipientAdmin(LargeTableAdmin):
    list_display = ["user", "kind", "value"]
    list_filter = ["kind"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
    list_select_related = ["user"]


@admin.register(SearchDocument)
class SearchDocumentAdmin(LargeTableAdmin):
    """Read-only: the index is written by forum.search_index and rebuilt by rebuild_search_index."""

    list_display = ["post", "thread_id"]
    raw_id_fields = ["post"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
