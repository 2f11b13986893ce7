"""Migrations build exactly the schema of the models, and databases we cannot use are refused.

Every refusal is a :class:`regie_tui.errors.DatabaseError` whose French message says
what is wrong and what to do, never a driver traceback.
"""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from regie_tui import db
from regie_tui.errors import DatabaseError

from pg_cluster import PgCluster

FUTURE_REVISION = "9f3a_from_a_newer_regie"


def refusal(call: Callable[[], Any]) -> str:
    """The French message of the DatabaseError that ``call`` raises, with no driver error chained."""
    with pytest.raises(DatabaseError) as caught:
        call()
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__), (
        "the driver's exception must not be chained: the agent would see its traceback"
    )
    assert "Traceback" not in error.message and "(psycopg" not in error.message
    return error.message


def set_revision(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :rev"), {"rev": revision})


def same_backend_database(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second, empty database on the same engine as ``db_url``."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'other.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


# --------------------------------------------------------------------------------------
# The migrations match the models
# --------------------------------------------------------------------------------------


def test_autogenerate_finds_nothing_to_migrate(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], "the models changed without a migration: run alembic revision --autogenerate"


def schema_snapshot(engine: Engine) -> dict[str, dict[str, Any]]:
    """What the database really holds, including what autogenerate does not compare:
    CHECK constraints, partial-index conditions, ON DELETE rules and column defaults."""
    inspector = sa.inspect(engine)

    def options(mapping: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted((k, re.sub(r"\s+", " ", str(v))) for k, v in mapping.items() if v not in (None, [], {})))

    # One query per kind of object for all tables (PostgreSQL reflection is slow per table).
    columns = inspector.get_multi_columns()
    primary_keys = inspector.get_multi_pk_constraint()
    foreign_keys = inspector.get_multi_foreign_keys()
    uniques = inspector.get_multi_unique_constraints()
    indexes = inspector.get_multi_indexes()
    checks = inspector.get_multi_check_constraints()
    snapshot: dict[str, dict[str, Any]] = {}
    for key in sorted(columns, key=lambda k: k[1]):
        table = key[1]
        if table == "alembic_version":
            continue
        snapshot[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in columns[key]],
            "primary key": (primary_keys[key]["name"], tuple(primary_keys[key]["constrained_columns"])),
            "foreign keys": sorted(
                (
                    fk["name"],
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                    options(fk.get("options", {})),
                )
                for fk in foreign_keys[key]
            ),
            "unique constraints": sorted((u["name"], tuple(u["column_names"])) for u in uniques[key]),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]), options(i.get("dialect_options", {})))
                for i in indexes[key]
            ),
            "check constraints": sorted((c["name"], re.sub(r"\s+", " ", c["sqltext"])) for c in checks[key]),
        }
    return snapshot


def test_migrated_schema_is_the_models_schema(
    engine: Engine, db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Migrating to head gives the same tables, constraints and indexes as the models' DDL."""
    modelled_engine = db.make_engine(same_backend_database(db_url, request, tmp_path), create=True)
    try:
        SQLModel.metadata.create_all(modelled_engine)
        modelled = schema_snapshot(modelled_engine)
    finally:
        modelled_engine.dispose()
    migrated = schema_snapshot(engine)

    assert sorted(migrated) == sorted(modelled)
    differences = [
        f"{table}.{part}:\n  migration: {migrated[table][part]}\n  models:    {modelled[table][part]}"
        for table in migrated
        for part in migrated[table]
        if migrated[table][part] != modelled[table][part]
    ]
    assert not differences, "\n".join(differences)


def test_downgrade_to_base_and_upgrade_again(engine: Engine) -> None:
    """Every downgrade works and undoes its upgrade exactly."""
    before = schema_snapshot(engine)
    command.downgrade(db.alembic_config(engine), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    assert db.current_revision(engine) is None
    command.upgrade(db.alembic_config(engine), "head")
    assert schema_snapshot(engine) == before


def test_database_downgraded_to_base_counts_as_empty(engine: Engine) -> None:
    command.downgrade(db.alembic_config(engine), "base")
    assert "est vide" in refusal(lambda: db.check_schema(engine))
    assert db.upgrade(engine) == (None, db.head_revision())


def test_upgrade_of_a_current_database_is_a_no_op(engine: Engine) -> None:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda _c, _cur, statement, *_: statements.append(statement))

    assert db.upgrade(engine) == (db.head_revision(), db.head_revision())

    writes = [
        s
        for s in statements
        if s.split(None, 1)[0].upper() in {"CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE"}
    ]
    assert writes == []
    db.check_schema(engine)


def test_upgrade_creates_the_schema_of_an_empty_database(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url, create=True)
    try:
        assert db.upgrade(engine) == (None, db.head_revision())
        db.check_schema(engine)
    finally:
        engine.dispose()
    db.open_database(empty_db_url).dispose()


# --------------------------------------------------------------------------------------
# Databases at another schema
# --------------------------------------------------------------------------------------


def test_empty_database_is_refused(empty_db_url: str) -> None:
    message = refusal(lambda: db.open_database(empty_db_url))
    assert "est vide" in message
    assert "regie db upgrade --db " in message


def test_foreign_database_is_refused_and_left_alone(empty_db_url: str) -> None:
    engine = db.make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE clients (id INTEGER PRIMARY KEY, nom VARCHAR(40))"))
        assert "n'est pas une base regie-tui" in refusal(lambda: db.check_schema(engine))
        message = refusal(lambda: db.upgrade(engine))
        assert "contient déjà des tables" in message and "clients" in message
        assert set(sa.inspect(engine).get_table_names()) == {"clients"}
    finally:
        engine.dispose()


def previous_revision() -> str | None:
    script = ScriptDirectory(str(db.MIGRATIONS_DIR))
    head = script.get_current_head()
    assert head is not None, "the migrations have one head"
    down = script.get_revision(head).down_revision
    assert down is None or isinstance(down, str), "the head must not be a merge point for this test"
    return down


def test_older_schema_is_refused_until_upgraded(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    older = previous_revision()
    if older is None:
        # Only one revision so far: play a regie-tui whose head is one step further.
        older = db.head_revision()
        known = db._known_revisions()
        monkeypatch.setattr(db, "head_revision", lambda: FUTURE_REVISION)
        monkeypatch.setattr(db, "_known_revisions", lambda: [*known, FUTURE_REVISION])
        can_upgrade = False
    else:
        command.downgrade(db.alembic_config(engine), older)
        can_upgrade = True

    message = refusal(lambda: db.open_database(db_url))
    assert f"Le schéma de la base ({older}) est plus ancien que celui de regie-tui ({db.head_revision()})" in message
    assert "regie db upgrade --db " in message
    assert str(engine.url.database) in message

    if can_upgrade:
        assert db.upgrade(engine) == (older, db.head_revision())
        db.open_database(db_url).dispose()


def test_newer_schema_is_refused(engine: Engine, db_url: str) -> None:
    set_revision(engine, FUTURE_REVISION)
    for attempt in (lambda: db.open_database(db_url), lambda: db.upgrade(engine)):
        message = refusal(attempt)
        assert "mise à jour par une version plus récente de regie-tui" in message
        assert FUTURE_REVISION in message
    with engine.connect() as conn:  # and nothing was touched
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == FUTURE_REVISION


# --------------------------------------------------------------------------------------
# Databases we cannot open
# --------------------------------------------------------------------------------------


def test_sqlite_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "factures.db"
    path.write_bytes(b"Ceci n'est pas une base SQLite.\n" * 200)
    message = refusal(lambda: db.open_database(f"sqlite:///{path}"))
    assert f"Le fichier « {path} » n'est pas une base de données regie-tui" in message


def test_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "faute-de-frappe.db"
    message = refusal(lambda: db.open_database(f"sqlite:///{path}"))
    assert f"La base « {path} » n'existe pas" in message
    assert "regie db upgrade --db " in message
    assert not path.exists()


def test_postgresql_wrong_password(pg_cluster: Any) -> None:
    # The right password gets through (to a database without our schema)…
    assert "est vide" in refusal(lambda: db.open_database(pg_cluster.tcp_url("postgres")))
    # …a wrong one is refused, and never shown.
    message = refusal(lambda: db.open_database(pg_cluster.tcp_url("postgres", password="mauvais-secret")))
    assert "identifiant ou mot de passe incorrect" in message
    assert "mauvais-secret" not in message and "***" in message


def test_postgresql_database_missing_on_the_server(pg_cluster: Any) -> None:
    message = refusal(lambda: db.open_database(pg_cluster.url("regie_absente")))
    assert "La base « regie_absente » n'existe pas sur le serveur" in message


def test_postgresql_server_unreachable() -> None:
    message = refusal(lambda: db.open_database("postgresql+psycopg://agent:s3cret@127.0.0.1:1/regie"))
    assert "Impossible de joindre le serveur de base de données" in message
    assert "127.0.0.1:1" in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql+pymysql://agent:s3cret@localhost/regie", "Moteur « mysql » non pris en charge"),
        ("oracle://agent@localhost/regie", "Moteur « oracle » non pris en charge"),
        ("pas une adresse", "Adresse de base de données invalide : « pas une adresse »"),
    ],
    ids=["mysql", "oracle", "not-a-url"],
)
def test_unsupported_url(url: str, expected: str) -> None:
    message = refusal(lambda: db.open_database(url))
    assert expected in message
    assert "s3cret" not in message


def test_head_read_from_file_names_is_alembics_head() -> None:
    """Opening a database reads revisions from file names ('0001_….py'); they must agree
    with what Alembic itself finds in the migration scripts."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(db.MIGRATIONS_DIR))
    assert db.head_revision() == script.get_current_head()
    assert db._known_revisions() == sorted(rev.revision for rev in script.walk_revisions())
    for path in db.VERSIONS_DIR.glob("[0-9]*_*.py"):
        assert script.get_revision(path.name.split("_", 1)[0]).path == str(path)


def test_a_populated_town_goes_down_to_0005_and_up_again(fresh_town_url: str) -> None:
    """0006 rebuilds tables other rows point to (invoice, payment): a real town's data must pass both ways."""
    engine = db.make_engine(fresh_town_url)
    try:
        with engine.connect() as conn:
            invoices = conn.exec_driver_sql("SELECT count(*) FROM invoice").scalar()
            allocations = conn.exec_driver_sql("SELECT count(*) FROM allocation").scalar()
        assert invoices and allocations
        command.downgrade(db.alembic_config(engine), "0005")
        assert db.current_revision(engine) == "0005"
        command.upgrade(db.alembic_config(engine), "head")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM invoice").scalar() == invoices
            assert conn.exec_driver_sql("SELECT count(*) FROM allocation").scalar() == allocations
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    finally:
        engine.dispose()
