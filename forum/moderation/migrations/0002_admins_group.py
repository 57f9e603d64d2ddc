"""The "admins" group: moderators of every board who may also delete posts for good.

Members of a single board's moderators are BoardModerator rows; moderators of every board
are the "moderators" group (forum migration 0003_roles). Superusers hold every permission.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINS = "admins"
PERMISSIONS = [("forum", "moderate"), ("moderation", "delete_for_good"), ("moderation", "view_moderationlog")]


def create_admins(apps, schema_editor):
    # Permissions are normally made after all migrations; the group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=ADMINS)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(Permission.objects.get(codename=codename, content_type__app_label=app_label))


def remove_admins(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=ADMINS).delete()


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial"), ("forum", "0003_roles")]
    operations = [migrations.RunPython(create_admins, remove_admins)]
