"""The review queue reads the posts waiting for approval through a partial index of them."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('forum', '0008_search_settings_post_states'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='post',
            index=models.Index(condition=models.Q(('held', True)), fields=['posted_at'], name='post_held_oldest'),
        ),
    ]
