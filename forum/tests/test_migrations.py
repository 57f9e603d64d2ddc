"""Migrations (issue 9, point 6): every migration of every app runs forwards from empty,
backwards as far as it is reversible and forwards again, on both databases; a database
populated at an older state migrates forwards without losing a row or a value.

Whatever migrations exist are covered: the plans come from the migration graph, so the apps
and migrations added later (forum.moderation, forum.limits, forum.figures, …) are included.
"""
from datetime import date, datetime, timezone

import pytest
from django.apps import apps as current_apps
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
from django.test import Client
from django.utils import translation

TRANSACTIONAL = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def leaves(executor) -> list[tuple[str, str]]:
    return executor.loader.graph.leaf_nodes()


def irreversible(migration) -> bool:
    return not all(operation.reversible for operation in migration.operations)


def backward_targets(executor) -> dict[str, str | None]:
    """Per app, how far back it can go: zero (None), or the newest migration that cannot be
    unapplied (kept, with every migration it needs)."""
    graph = executor.loader.graph
    targets: dict[str, str | None] = {app: None for app, _ in leaves(executor)}

    def keep(node):
        for app, name in graph.forwards_plan(node):
            kept = targets[app]
            if kept is None or (app, kept) in graph.forwards_plan((app, name)):
                targets[app] = name

    for _ in range(100):
        plan = executor.migration_plan(list(targets.items()))
        blocked = [migration for migration, backwards in plan if backwards and irreversible(migration)]
        if not blocked:
            return targets
        keep((blocked[0].app_label, blocked[0].name))
    raise AssertionError(f"no reversible plan found; targets {targets}")


def schema() -> dict[str, set[str]]:
    """Table → columns, as the database has them."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        return {table: {column.name for column in connection.introspection.get_table_description(cursor, table)}
                for table in tables}


def pending_changes() -> dict:
    """What makemigrations would write: nothing, if the migrations match the models."""
    executor = MigrationExecutor(connection)
    with translation.override(None):  # as makemigrations compares verbose names: untranslated
        detector = MigrationAutodetector(executor.loader.project_state(), ProjectState.from_apps(current_apps))
        return detector.changes(graph=executor.loader.graph)


@TRANSACTIONAL
def test_every_migration_runs_backwards_to_empty_and_forwards_again():
    assert pending_changes() == {}, "models changed without a migration"
    before = schema()
    executor = MigrationExecutor(connection)
    latest = leaves(executor)
    targets = backward_targets(executor)
    ours = {app for app in targets if current_apps.get_app_config(app).name.startswith(("forum", "incidents"))}
    executor.migrate([(app, name) for app, name in targets.items() if app in ours])
    # Django's own auth migrations cannot shrink columns over longer values on PostgreSQL
    # (permission names over 50 characters): content types and permissions are rows Django
    # makes again after every migrate, so they go before Django's apps are unapplied.
    ContentType.objects.all().delete()
    MigrationExecutor(connection).migrate(list(targets.items()))
    gone = {app for app, name in targets.items() if name is None}
    after_backwards = schema()
    for model in current_apps.get_models():
        if model._meta.app_label in gone and model._meta.managed:
            assert model._meta.db_table not in after_backwards, model
    # Forwards again the way a deployment does, signals included (permissions, content types).
    call_command("migrate", verbosity=0, interactive=False)
    executor = MigrationExecutor(connection)
    assert not executor.migration_plan(latest), "not every migration was applied again"
    assert schema() == before
    # The data migrations ran again: the boards, the roles, the brands are back.
    from django.contrib.auth.models import Group

    from forum.models import Board
    from incidents.models import Brand

    assert Board.objects.filter(slug="info").exists()
    assert Group.objects.filter(name="moderators").exists()
    assert Brand.objects.exists()
    ContentType.objects.clear_cache()  # their ids changed: no stale cache for the next tests


# --- a populated database at an older state --------------------------------------------------------

OLD_STATE = ("forum", "0007_allowed_link_hosts")
AT = datetime(2020, 9, 8, 5, 54, tzinfo=timezone.utc)


def populate(apps) -> None:
    """Rows of every kind the forum held at OLD_STATE, written with that state's models."""
    User = apps.get_model("auth", "User")
    get = apps.get_model
    user = User.objects.create(username="old-member", email="old@example.org", password="!", date_joined=AT)
    get("forum", "Profile").objects.create(user=user, display_name="古参会員", display_name_key="古参会員",
                                           handle="寫眞機", device="PC-9801", os="MS-DOS")
    board = get("forum", "Board").objects.get(slug="info")
    board.last_thread_number, board.last_volume_number = 40, 5
    board.save()
    volume = get("forum", "Volume").objects.create(board=board, number=5, thread_count=2)
    imported = get("forum", "Volume").objects.create(board=board, number=4, imported=True, thread_count=0,
                                                     archive_layout={"final_newline": True, "line_break": "\n"})
    thread = get("forum", "Thread").objects.create(
        board=board, volume=volume, number=40, title="移行前のスレッド", originator_name="古参会員", originator=user,
        started_on=date(2020, 9, 8), created_at=AT, post_count=2, last_position=2, last_posted_at=AT, version=3)
    get("forum", "Thread").objects.create(
        board=board, volume=volume, number=39, title="鍵のかかったスレッド", originator_name="古参会員",
        started_on=date(2020, 9, 7), created_at=AT, locked=True, hidden=True, imported=True,
        archive_layout={"title_line": "NO.39 鍵<起稿 古参会員>(20/09/07)", "blank_after_title": 2, "page_order": 0})
    Post = get("forum", "Post")
    Post.objects.create(thread=thread, position=1, author=user, author_name="古参会員", handle="寫眞機",
                        device="PC-9801", os="MS-DOS", posted_at=AT, subtitle="副題", source="移行前の**本文**",
                        format="markdown", blocks=[{"type": "text", "text": "移行前の**本文**"}],
                        quote_details=[{"kind": "mail", "html": "", "html_text": "", "attachments": []}],
                        html="<p>移行前の<strong>本文</strong></p>", render_version=1)
    Post.objects.create(thread=thread, position=2, author_name="旧掲示板の誰か", posted_at=AT, source="古い本文",
                        format="archive", blocks=[{"type": "text", "text": "古い本文"}], html="<p>古い本文</p>",
                        render_version=1, hidden=True, edited_at=AT,
                        archive_layout={"header_line": "【旧掲示板の誰か】 2020/09/08 (Tue) 14:54",
                                        "blank_after_header": 1, "blank_after_body": 2}, reply_to_id=None)
    get("forum", "Draft").objects.create(user=user, key=f"reply:{thread.pk}", title="", subtitle="下書きの副題",
                                         body="書きかけ")
    get("forum", "LearnedRecipient").objects.create(user=user, kind="address", value="me@example.jp")
    get("forum", "ArchiveAuthor").objects.create(name="旧掲示板の誰か", handle="", name_key="旧掲示板の誰か",
                                                 handle_key="")
    get("forum", "AllowedLinkHost").objects.create(host="example.org", note="test")


def snapshot(apps, models) -> dict:
    """Every row of these models, every column the old state has, by primary key."""
    rows = {}
    for label in models:
        model = apps.get_model(label)
        fields = [model._meta.pk.attname] + [f.attname for f in model._meta.concrete_fields
                                             if f is not model._meta.pk]
        rows[label] = {row[fields[0]]: row for row in model._base_manager.values(*fields)}
    return rows


@TRANSACTIONAL
def test_a_database_populated_at_an_older_state_migrates_forwards_without_losing_data():
    executor = MigrationExecutor(connection)
    latest = leaves(executor)
    # Back to the old state (what depends on the later forum migrations goes back with it).
    executor.migrate([OLD_STATE])
    old_apps = MigrationExecutor(connection).loader.project_state(OLD_STATE, at_end=True).apps
    populate(old_apps)
    models = [f"{m._meta.app_label}.{m._meta.model_name}" for m in old_apps.get_models()
              if m._meta.app_label in ("forum", "auth")]
    before = snapshot(old_apps, models)
    assert len(before["forum.post"]) >= 2 and len(before["forum.thread"]) >= 2

    call_command("migrate", verbosity=0, interactive=False)
    assert not MigrationExecutor(connection).migration_plan(latest)

    new_apps = MigrationExecutor(connection).loader.project_state().apps
    for label, rows in before.items():
        columns = list(next(iter(rows.values()), {}))
        if not columns:
            continue
        model = new_apps.get_model(label)
        after = {row[columns[0]]: row for row in model._base_manager.values(*columns)}
        # Every old row is there with every old value (data migrations may add rows).
        lost = {pk: (row, after.get(pk)) for pk, row in rows.items() if after.get(pk) != row}
        assert not lost, (label, lost)
    # Columns added since then hold their defaults on the old rows.
    Post = new_apps.get_model("forum", "Post")
    assert set(Post.objects.filter(thread__number=40).values_list("held", "client_token", "hidden_reason")) == {
        (False, "", "")}
    # And the pages show the old rows.
    page = Client().get("/info/40/")
    assert page.status_code == 200
    assert "移行前の<strong>本文</strong>" in page.content.decode()
    ContentType.objects.clear_cache()
