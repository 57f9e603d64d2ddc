"""PostgreSQL's search documents also hold their trigrams (forum.search_text.trigram_lexemes).

A term of three characters or more was found by its bigrams, which every post holding them
apart also has: a rare phrase made of common bigrams was checked against the text of
thousands of posts, and its first search took seconds on a million posts. Its trigrams find
it exactly (three characters) or nearly. The tsvectors are made again from the stored text
here; SQLite's FTS5 index has positions and needs nothing.
"""

from django.db import migrations


def add_trigrams(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from forum.search_index import rewrite_lexemes

    rewrite_lexemes()


class Migration(migrations.Migration):
    atomic = False  # batches of documents, each committed: a big archive is not one transaction

    dependencies = [("forum", "0010_search_gin_pending_list")]

    operations = [migrations.RunPython(add_trigrams, migrations.RunPython.noop)]
