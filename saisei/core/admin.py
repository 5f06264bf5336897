from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from saisei.core.models import AuditEntry, Organisation, RoleGrant, Site, User


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [RoleGrantInline]
    list_display = ("username", "display_name", "organisation", "is_active")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Saisei", {"fields": ("organisation", "display_name", "preferred_language")}),
    )


admin.site.register(Organisation)
admin.site.register(Site)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the ledger is written by services only."""

    list_display = (
        "organisation",
        "seq",
        "at",
        "actor_label",
        "action",
        "subject_type",
        "subject_id",
    )
    list_filter = ("organisation", "action")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
