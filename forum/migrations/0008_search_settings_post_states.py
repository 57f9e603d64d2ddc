"""Search functions run with JIT, parallel workers and sequential scans off (PostgreSQL); a
draft keeps its pending quotes; a post can be held for approval, say why it is hidden, and
carries the composer's one-time token.

The search functions read a few hundred rows through indexes. On a table never analyzed (just
after a bulk load) the planner's estimates triggered JIT compilation, which cost a second, and
a parallel worker's start cost more than the query; "hidden" must be read from its partial
index even when statistics are missing or stale.
"""

from django.conf import settings
from django.db import migrations, models

SEARCH_FUNCTIONS = [
    "forum_search_windows(bigint, bigint)",
    "forum_search_pass(tsquery, text[], text[], text[], int, boolean, bigint, bigint, int)",
    "forum_search_hits(tsquery, tsquery, text[], text[], text[], boolean, int, bigint, bigint, bigint, int)",
    "forum_search_count(tsquery, text[], text[], boolean, bigint, bigint, int)",
]


def set_function_settings(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for function in SEARCH_FUNCTIONS:
        schema_editor.execute(
            f"ALTER FUNCTION {function} SET jit = off SET max_parallel_workers_per_gather = 0 "
            "SET enable_seqscan = off", params=None)


def reset_function_settings(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for function in SEARCH_FUNCTIONS:
        schema_editor.execute(f"ALTER FUNCTION {function} RESET ALL", params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("forum", "0007_allowed_link_hosts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(set_function_settings, reset_function_settings),
        migrations.AddField(
            model_name='draft',
            name='quotes',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='post',
            name='client_token',
            field=models.CharField(blank=True, default='', editable=False, max_length=40),
        ),
        migrations.AddField(
            model_name='post',
            name='held',
            field=models.BooleanField(default=False, verbose_name='awaiting approval'),
        ),
        migrations.AddField(
            model_name='post',
            name='hidden_reason',
            field=models.CharField(blank=True, max_length=20, verbose_name='hidden because'),
        ),
        migrations.AddConstraint(
            model_name='post',
            constraint=models.UniqueConstraint(condition=models.Q(('client_token', ''), _negated=True), fields=('author', 'client_token'), name='post_client_token_per_author'),
        ),
    ]
