"""Admins edit brands; indicators are derived rows, shown read-only (moderators review them on
their page, so every review goes through incidents.actions with a reason)."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import Brand, Indicator, IndicatorReview


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "slug", "updated_at"]
    search_fields = ["name", "name_en", "slug", "aliases", "domains"]
    prepopulated_fields = {"slug": ["name_en"]}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        messages.info(request, _("Hosts under its domains or carrying its keywords are judged again now. Quoted "
                                 "mails are tagged again with changed aliases by manage.py rebuild_indicators."))


class ReviewInline(admin.TabularInline):
    model = IndicatorReview
    extra = 0
    can_delete = False
    fields = ["created_at", "reviewer_name", "verdict", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ["defanged", "kind", "brand", "assessment", "verdict", "exported", "times_seen", "first_seen",
                    "last_seen"]
    list_filter = ["kind", "assessment", "verdict", "exported", "brand"]
    search_fields = ["=value", "=host", "=registrable_domain"]
    list_select_related = ["brand"]
    show_full_result_count = False
    inlines = [ReviewInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False
