from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("watching", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="digestsetting",
            name="language",
            field=models.CharField(blank=True, default="", editable=False, max_length=16, verbose_name="language"),
        ),
    ]
