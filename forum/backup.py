"""A complete backup of Daiou and its restore into an empty database (docs/reliability.md, "Backups").

A backup is a folder:

- `manifest.json`: the format, when and from which database it was made, the migrations applied,
  the rows of every table, and every file's size and SHA-256;
- `data.jsonl.gz`: every row of every table but the few in EXCLUDED (Django's JSON Lines, one row
  a line, primary keys kept, so every reference stays as it was);
- `archive/`: every volume as text (`export_archive --all`), readable without Daiou;
- `media/`: the files under MEDIA_ROOT (members' screenshots).

Rows and volumes are read in one snapshot (a read-only REPEATABLE READ transaction on PostgreSQL,
a deferred read transaction on SQLite's WAL): the site goes on serving and writing meanwhile.

The restore loads the rows with raw multi-row INSERTs in one transaction: no model's save() or
signal runs (moderation log rows, which refuse updates, go in as they were; nothing is indexed
twice), foreign keys are checked at the end, and the row counts must equal the manifest's or
nothing is kept. Then it rebuilds what EXCLUDED leaves out and checks that the restored database
writes every volume byte for byte as the backup holds it.
"""

from __future__ import annotations

import datetime
import gzip
import hashlib
import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.jsonl import Serializer as JSONLinesSerializer
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

FORMAT = "daiou-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data.jsonl.gz"
ARCHIVE = "archive"
MEDIA = "media"
INSERT_ROWS = 500  # rows per INSERT while restoring
MAX_PARAMETERS = 60_000  # PostgreSQL takes at most 65,535 parameters in one statement

# Rows a backup leaves out: each is derived from the others or lives only for a while.
EXCLUDED = {
    "forum.searchdocument": "the search index (with SQLite's FTS5 table or PostgreSQL's tsv column): "
                            "the restore rebuilds it (rebuild_search_index)",
    "limits.ratecounter": "rate-limit windows counted while the cache was down: they expire within the hour",
    "sessions.session": "logins: members log in again after a restore",
}
# Rows migrations make in a new database; a restore replaces them with the backup's own.
SEEDED = {
    "contenttypes.contenttype", "auth.permission", "auth.group", "auth.group_permissions", "forum.board",
    "forum.allowedlinkhost", "incidents.brand", "incidents.indicatorstate",
}


class BackupError(Exception):
    """The backup or restore cannot be done; nothing was changed (the message says why)."""


Log = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


# ---- what is kept ----------------------------------------------------------------------------


def backed_up_models() -> list:
    """Every table's model, many-to-many tables included, but the EXCLUDED ones."""
    return [model for model in apps.get_models(include_auto_created=True)
            if model._meta.managed and not model._meta.proxy and model._meta.label_lower not in EXCLUDED]


def _row_fields(model) -> list[str]:
    # Many-to-many relations are their own tables (auth.user_groups…), kept as rows like any other.
    return [field.name for field in model._meta.local_concrete_fields if not field.primary_key]


def applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        applied.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(applied.items())}


def _code_migrations() -> dict[str, list[str]]:
    from django.db.migrations.loader import MigrationLoader

    known: dict[str, list[str]] = {}
    for app, name in MigrationLoader(None, ignore_no_migrations=True).graph.nodes:
        known.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(known.items())}


# ---- files -----------------------------------------------------------------------------------


def file_digest(path: Path) -> dict:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def _files_under(root: Path) -> Iterator[Path]:
    """Regular files below `root`, in a stable order; symbolic links and unfinished uploads
    (forum.figures writes `.upload-*` and renames it into place) are not files of the site."""
    if not root.is_dir():
        return
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if not path.is_symlink() and path.is_file() and not name.startswith(".upload-"):
                yield path


def _inside(root: Path, relative: str) -> Path:
    """A path the manifest names, refused unless it stays inside `root`."""
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise BackupError(f"the manifest names a file outside the backup: {relative!r}")
    return root.joinpath(*pure.parts)


def _copy_file(source: Path, target: Path) -> None:
    """Whole or not at all (a temporary file renamed into place), readable, never executable."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".restore-")
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as stream:
            shutil.copyfileobj(stream, out, 1 << 20)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# ---- making a backup ---------------------------------------------------------------------------


@contextmanager
def snapshot() -> Iterator[None]:
    """Everything read inside sees the database at one moment, while the site goes on writing."""
    if connection.in_atomic_block:  # a caller's transaction (the tests'): read inside it
        yield
        return
    if connection.vendor == "sqlite":
        # Daiou's SQLite transactions take the write lock at once (IMMEDIATE); a backup only
        # reads, and a deferred read transaction in WAL mode blocks no writer.
        connection.ensure_connection()
        saved, connection.transaction_mode = connection.transaction_mode, "DEFERRED"
        try:
            with transaction.atomic():
                yield
        finally:
            connection.transaction_mode = saved
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


class ExactJSONEncoder(DjangoJSONEncoder):
    """Django's encoder (dumpdata's) cuts times to milliseconds (ECMA-262); a backup keeps every
    microsecond, or restored pages would show other times in feeds and the API."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


class RowSerializer(JSONLinesSerializer):
    """Django's JSON Lines with a row a line written at once: json.dump streams through the
    pure-Python encoder, four times slower than json.dumps' C encoder."""

    def end_object(self, obj):
        self.stream.write(json.dumps(self.get_dump_object(obj), **self.json_kwargs) + "\n")
        self._current = None


def _counting(rows: Iterable, counter: Counter, label: str) -> Iterator:
    for row in rows:
        counter[label] += 1
        yield row


def write_rows(path: Path, log: Log = _quiet) -> dict[str, int]:
    """Every kept row into `path` (gzip'd JSON Lines); the rows written per table."""
    counts: Counter = Counter()
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=6) as out:
        for model in backed_up_models():
            label = model._meta.label_lower
            counts[label] = 0
            rows = model._base_manager.order_by(model._meta.pk.name).iterator(chunk_size=2000)
            RowSerializer().serialize(_counting(rows, counts, label), stream=out, fields=_row_fields(model),
                                  cls=ExactJSONEncoder)
            if counts[label]:
                log(f"  {label}: {counts[label]} rows")
    return dict(sorted(counts.items()))


def write_archive(folder: Path) -> dict[str, str]:
    """Every volume as `export_archive --all` writes it, into `folder`; the volumes the format
    cannot hold as they are (a board renamed with a space…), with why: a backup never fails on
    them, their rows are in data.jsonl.gz like all others."""
    from forum.archive.volume import ArchiveError
    from forum.archive_io import volume_page, volumes_for_export

    folder.mkdir(parents=True, exist_ok=True)
    unwritable = {}
    for volume in volumes_for_export():
        name = f"{volume.board.slug}-{volume.number:05d}.txt"
        try:
            (folder / name).write_bytes(volume_page(volume).encode("utf-8"))
        except ArchiveError as error:
            unwritable[name] = str(error)
    return unwritable


def _figure_files() -> set[str]:
    """The files every Figure row needs, relative to MEDIA_ROOT."""
    from forum.figures.models import Figure, file_path

    media = Path(settings.MEDIA_ROOT)
    return {file_path(sha, ext).relative_to(media).as_posix()
            for sha, ext in Figure.objects.values_list("sha256", "ext").distinct()}


def make_backup(target: Path | str, log: Log = _quiet) -> dict:
    """Write a complete backup into the folder `target` (new, or empty); returns the manifest.

    The folder appears only once everything is written: the work is done in a hidden folder
    beside it and renamed at the end, so a backup that failed half-way leaves nothing behind."""
    target = Path(target).absolute()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} exists and is not an empty folder: a backup never overwrites another")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
    try:
        started = timezone.now()
        with snapshot():
            migrations = applied_migrations()
            log("rows:")
            rows = write_rows(work / DATA, log)
            needed = _figure_files()
            unwritable = write_archive(work / ARCHIVE)
        files = {DATA: file_digest(work / DATA)}
        for path in _files_under(work / ARCHIVE):
            files[path.relative_to(work).as_posix()] = file_digest(path)
        media_root = Path(settings.MEDIA_ROOT)
        for path in _files_under(media_root):
            relative = path.relative_to(media_root).as_posix()
            _copy_file(path, work / MEDIA / relative)
            files[f"{MEDIA}/{relative}"] = file_digest(work / MEDIA / relative)
        missing = sorted(name for name in needed if f"{MEDIA}/{name}" not in files)
        manifest = {
            "format": FORMAT, "version": FORMAT_VERSION, "created_at": started.isoformat(),
            "database": connection.vendor, "release": getattr(settings, "DAIOU_RELEASE", ""),
            "migrations": migrations, "rows": rows, "excluded": EXCLUDED,
            "volumes": sum(1 for name in files if name.startswith(f"{ARCHIVE}/")),
            "media_files": sum(1 for name in files if name.startswith(f"{MEDIA}/")),
            # Volumes the archive format cannot hold as they are (their rows are kept all the same).
            "archive_errors": unwritable,
            # Figures whose file was already gone from MEDIA_ROOT: their posts show a broken image.
            "missing_media": missing,
            "files": files,
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        if target.exists():
            target.rmdir()
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if missing:
        log(f"warning: {len(missing)} figure files were missing from MEDIA_ROOT: {', '.join(missing[:5])}")
    for name, error in unwritable.items():
        log(f"warning: {name} was not written as text: {error}")
    return manifest


# ---- restoring ---------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{source} holds no {MANIFEST}: not a backup, or one that was never finished") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BackupError(f"{source / MANIFEST} is damaged: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{source / MANIFEST} is not a Daiou backup's manifest")
    if manifest.get("version") != FORMAT_VERSION:
        raise BackupError(f"this backup has format version {manifest.get('version')!r}; "
                          f"this Daiou reads version {FORMAT_VERSION}")
    for key, kind in (("files", dict), ("rows", dict), ("migrations", dict)):
        if not isinstance(manifest.get(key), kind):
            raise BackupError(f"{source / MANIFEST} is damaged: no {key!r}")
    return manifest


def verify_files(source: Path, manifest: dict, log: Log = _quiet) -> None:
    """Every file the manifest names is there, whole (size and SHA-256), before anything changes."""
    bad = []
    for relative, expected in manifest["files"].items():
        path = _inside(source, relative)
        if not path.is_file():
            bad.append(f"{relative}: missing")
        elif file_digest(path) != {"bytes": expected.get("bytes"), "sha256": expected.get("sha256")}:
            bad.append(f"{relative}: changed or damaged")
    if DATA not in manifest["files"]:
        bad.append(f"{DATA}: not in the manifest")
    if bad:
        raise BackupError(f"the backup is not whole ({len(bad)} files): " + "; ".join(bad[:10]))
    log(f"checked {len(manifest['files'])} files of the backup")


def _check_migrations(manifest: dict) -> bool:
    """Whether the database must be migrated first (it has no tables yet). The backup's rows
    fit only the schema they were read from: this Daiou's migrations must be the backup's."""
    code = _code_migrations()
    if manifest["migrations"] != code:
        differences = sorted(
            {f"{app}.{name}" for app, names in manifest["migrations"].items() for name in names}
            ^ {f"{app}.{name}" for app, names in code.items() for name in names})
        raise BackupError(
            "the backup was made by a Daiou with other migrations (differing: " + ", ".join(differences[:8])
            + "). Restore it with the release that made it (its migrations are in manifest.json), "
            "then update the code and run `manage.py migrate` as for any upgrade.")
    recorder = MigrationRecorder(connection)
    if not recorder.has_table() or not recorder.applied_migrations():
        return True
    if applied_migrations() != code:
        raise BackupError("the database is migrated only part of the way: run `manage.py migrate` first, "
                          "or restore into a new database")
    return False


def _rows_present() -> dict[str, int]:
    """Rows in the database that a new one does not have (what migrations seed aside)."""
    present = {}
    for model in backed_up_models():
        label = model._meta.label_lower
        if label not in SEEDED and model._base_manager.exists():
            present[label] = model._base_manager.count()
    return present


def _check_media_target(source: Path, manifest: dict) -> list[tuple[Path, Path]]:
    """The media files to copy; refused if MEDIA_ROOT has another file under one of their names."""
    media_root = Path(settings.MEDIA_ROOT)
    copies = []
    for relative, expected in manifest["files"].items():
        if not relative.startswith(f"{MEDIA}/"):
            continue
        target = _inside(media_root, relative.removeprefix(f"{MEDIA}/"))
        if target.exists():
            if file_digest(target)["sha256"] != expected["sha256"]:
                raise BackupError(f"{target} exists with other content than the backup's: "
                                  "restore into an empty MEDIA_ROOT")
            continue
        copies.append((_inside(source, relative), target))
    return copies


def _insert(model, objects: list) -> None:
    fields = model._meta.local_concrete_fields
    size = max(1, min(INSERT_ROWS, MAX_PARAMETERS // max(1, len(fields)),
                      connection.ops.bulk_batch_size(fields, objects) or INSERT_ROWS))
    for start in range(0, len(objects), size):
        # A raw INSERT as loaddata's (Model.save_base(raw=True)) but many rows at a time: no
        # save(), no signal, auto_now fields keep their stored values.
        model._base_manager._insert(objects[start:start + size], fields=fields, raw=True, using=connection.alias)


def load_rows(path: Path, expected: dict[str, int], log: Log = _quiet) -> dict[str, int]:
    """Replace every table's rows with the backup's, in one transaction; verified counts."""
    kept = {model._meta.label_lower: model for model in backed_up_models()}
    unknown = sorted(set(expected) - set(kept))
    if unknown:
        raise BackupError(f"the backup holds tables this Daiou does not know: {', '.join(unknown)}")
    loaded: Counter = Counter()
    with transaction.atomic():
        # Every table, the seeded rows and the search index's too (rebuilt afterwards). Checks of
        # earlier writes still deferred in this transaction run first: PostgreSQL refuses to
        # TRUNCATE a table with pending trigger events.
        connection.check_constraints()
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables, reset_sequences=True))
        model, batch = None, []
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            for item in serializers.deserialize("jsonl", stream):
                row = item.object
                if type(row) is not model or len(batch) >= INSERT_ROWS * 4:
                    if batch:
                        _insert(model, batch)
                    model, batch = type(row), []
                    if row._meta.label_lower not in kept:
                        raise BackupError(f"the backup's rows include {row._meta.label_lower}, which a backup "
                                          "never holds")
                batch.append(row)
                loaded[row._meta.label_lower] += 1
        if batch:
            _insert(model, batch)
        wrong = {label: (loaded.get(label, 0), count) for label, count in expected.items()
                 if loaded.get(label, 0) != count}
        wrong.update({label: (count, 0) for label, count in loaded.items() if label not in expected})
        if wrong:
            raise BackupError("rows read do not match the manifest (read, expected): "
                              + ", ".join(f"{label} {got}/{want}" for label, (got, want) in sorted(wrong.items())))
        connection.check_constraints()
        # PostgreSQL's sequences go on after the highest id loaded (SQLite's follow by themselves).
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), list(kept.values())):
                cursor.execute(statement)
    for label, count in sorted(loaded.items()):
        log(f"  {label}: {count} rows")
    return dict(loaded)


def compare_archive(source: Path, manifest: dict) -> list[str]:
    """Volumes the restored database writes differently from the backup's text (names)."""
    with tempfile.TemporaryDirectory() as folder:
        unwritable = write_archive(Path(folder) / ARCHIVE)
        written = {path.name: path.read_bytes() for path in _files_under(Path(folder) / ARCHIVE)}
    kept = {path.name: path.read_bytes() for path in _files_under(source / ARCHIVE)}
    differing = {name for name in written.keys() | kept.keys() if written.get(name) != kept.get(name)}
    return sorted(differing | (unwritable.keys() ^ manifest.get("archive_errors", {}).keys()))


def restore_backup(source: Path | str, log: Log = _quiet) -> dict:
    """Restore the backup in `source` into this (empty) database and MEDIA_ROOT."""
    from forum import search_index
    from forum.counters import rebuild_counters

    source = Path(source).absolute()
    manifest = read_manifest(source)
    verify_files(source, manifest, log)
    must_migrate = _check_migrations(manifest)
    if not must_migrate and (present := _rows_present()):
        raise BackupError("the database is not empty (" + ", ".join(f"{label}: {n}" for label, n in present.items())
                          + "): a backup is restored only into a new database")
    copies = _check_media_target(source, manifest)
    if must_migrate:
        log("creating the tables (migrate)")
        call_command("migrate", interactive=False, verbosity=0)
    log("rows:")
    loaded = load_rows(source / DATA, manifest["rows"], log)
    for origin, target in copies:
        _copy_file(origin, target)
    log(f"copied {len(copies)} media files into {settings.MEDIA_ROOT}")
    indexed = search_index.rebuild()
    log(f"search index: {indexed} posts indexed")
    wrong = rebuild_counters()
    if any(wrong.values()):  # the backup's counters disagreed with its rows: they are right now
        log(f"counters recomputed: {wrong['threads']} threads and {wrong['volumes']} volumes were wrong")
    differing = compare_archive(source, manifest)
    if differing:
        raise BackupError("the restored database writes these volumes differently from the backup: "
                          + ", ".join(differing[:10]))
    log(f"the restored database writes all {manifest.get('volumes', 0)} volumes exactly as the backup holds them")
    return {"rows": loaded, "media_files": len(copies), "indexed": indexed, "counters_wrong": wrong}
