from django.contrib.auth.management import create_permissions
from django.db import migrations

MODERATORS = "moderators"


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; the group needs its one now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=MODERATORS)
    group.permissions.add(Permission.objects.get(codename="moderate", content_type__app_label="forum"))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=MODERATORS).delete()


class Migration(migrations.Migration):
    dependencies = [("forum", "0002_default_boards"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_roles, remove_roles)]
