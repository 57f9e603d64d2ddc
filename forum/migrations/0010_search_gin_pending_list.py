"""The search index's GIN index takes new documents into its pending list (PostgreSQL).

With `fastupdate = off` every new post updated the index lexeme by lexeme, about a thousand
entries each: an import spent two thirds of its time there. With a pending list of up to 4 MB
the entries are merged into the index in sorted batches (by the insert that fills the list,
by autovacuum, or by `forum.search_index` after a bulk write), and a search reads the small
pending list besides the index.
"""

from django.db import migrations

INDEX = "forum_searchdocument_tsv"


def pending_list_on(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX IF EXISTS {INDEX} SET (fastupdate = on, gin_pending_list_limit = 4096)",
                              params=None)


def pending_list_off(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX IF EXISTS {INDEX} SET (fastupdate = off)", params=None)
        schema_editor.execute(f"ALTER INDEX IF EXISTS {INDEX} RESET (gin_pending_list_limit)", params=None)


class Migration(migrations.Migration):

    dependencies = [("forum", "0009_post_held_index")]

    operations = [migrations.RunPython(pending_list_on, pending_list_off)]
