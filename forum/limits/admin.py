from django.contrib import admin

from .models import PendingConfirmation


@admin.register(PendingConfirmation)
class PendingConfirmationAdmin(admin.ModelAdmin):
    """Members who have not confirmed their address; deleting a row confirms it by hand."""

    list_display = ["user", "created_at"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
