from django.db import migrations

BOARDS = [
    ("情報", "info", 0, "フィッシングメール、詐欺SMS、詐欺のニュースの情報"),
    ("雑談", "chat", 1, "雑談"),
]


def create_boards(apps, schema_editor):
    Board = apps.get_model("forum", "Board")
    for name, slug, position, description in BOARDS:
        Board.objects.get_or_create(slug=slug, defaults={"name": name, "position": position, "description": description})


def remove_boards(apps, schema_editor):
    Board = apps.get_model("forum", "Board")
    Board.objects.filter(slug__in=[slug for _, slug, _, _ in BOARDS], threads__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("forum", "0001_initial")]
    operations = [migrations.RunPython(create_boards, remove_boards)]
