"""Engines, sessions and the schema's version, for SQLite and PostgreSQL alike.

Every failure to reach or recognise a database becomes a :class:`DatabaseError`
with a French message saying what to do.

Writers wait their turn on SQLite. SQLite has one writer at a time. A transaction begun
with a plain (deferred) ``BEGIN`` that reads, then writes after another process committed
gets SQLITE_BUSY at once: in WAL mode the busy timeout does not apply to that upgrade
from reader to writer, and the agent would read "database is locked". So a unit of work
that writes says so, ``session_scope(engine, write=True)``; its transactions then begin
with ``BEGIN IMMEDIATE``, which takes the write lock first and waits for it up to
:data:`SQLITE_BUSY_TIMEOUT_MS`. Every later read and write of that unit of work sees the
latest commit, so a stale save is told by the version checks ("changed since"), never by
a lock error. Read-only units of work (the default) keep the deferred ``BEGIN``: in WAL
mode readers never wait for a writer, even a long one such as the monthly invoicing run.

The mechanism is one execution option, :data:`WRITES`, set by :func:`for_writing` on the
engine a writing unit of work is bound to (``session_scope(write=True)`` does it; the demo
seed, on a Core connection, too) and read by the ``begin`` listener of SQLite engines.
PostgreSQL ignores it: its writers queue on row locks anyway.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import DatabaseError as SADatabaseError

from regie_tui.errors import DatabaseError, explain_connection_error, shown_url, system_error

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSIONS_DIR = MIGRATIONS_DIR / "versions"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"Adresse de base de données invalide : « {url} ». Exemples : "
            "sqlite:///data/regie.db ou postgresql+psycopg://agent:motdepasse@serveur/regie"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"Moteur « {parsed.get_backend_name()} » non pris en charge : "
            "utilisez SQLite (sqlite:///…) ou PostgreSQL (postgresql+psycopg://…)."
        )
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, open transactions (see _begin_sqlite): the
    # module's own handling leaves DDL outside them, so a failed migration would stay half done.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Execution option of an engine or connection whose transactions write (see the module's
#: docstring): on SQLite they begin with BEGIN IMMEDIATE.
WRITES = "regie_writes"


def _begin_sqlite(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def for_writing(engine: Engine) -> Engine:
    """``engine`` for units of work that write: on SQLite, each of their transactions takes
    the write lock as it begins (waiting for it within the busy timeout). Same pool, same
    listeners; on PostgreSQL nothing changes."""
    return engine.execution_options(**{WRITES: True})


def make_engine(url: str | URL, *, create: bool = False) -> Engine:
    """An engine for ``url``; a missing SQLite file is an error unless ``create``."""
    parsed = parse_url(url) if isinstance(url, str) else url
    path = sqlite_path(parsed)
    if path is not None:
        try:
            exists = path.exists()
            if not exists and create:
                path.parent.mkdir(parents=True, exist_ok=True)
                # The base holds health data: readable by its desk's account only (an empty file
                # is an empty SQLite base; its -wal and -shm files take the same permissions).
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                exists = True
        except OSError as exc:
            raise DatabaseError(f"Base « {path} » inaccessible à votre compte : {system_error(exc)}.") from None
        if not exists:
            raise DatabaseError(
                f"La base « {path} » n'existe pas. Créez-la avec : regie db upgrade --db {shown_url(parsed)}"
            )
        if not os.access(path, os.R_OK | os.W_OK):
            raise DatabaseError(
                f"La base « {path} » n'est pas accessible en lecture et écriture à votre compte : "
                "un poste seul, son fichier appartient à son agent ; à plusieurs agents, utilisez PostgreSQL."
            )
        engine = sa.create_engine(
            parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    try:
        return sa.create_engine(
            parsed, pool_pre_ping=True, connect_args={"connect_timeout": 5, "application_name": "regie-tui"}
        )
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"Pilote de base de données manquant : {exc}") from None


def alembic_config(engine: Engine) -> "Config":
    """Alembic's configuration, running on ``engine`` (Alembic is imported only to migrate)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", shown_url(engine.url).replace("%", "%%"))
    cfg.attributes["engine"] = for_writing(engine)  # migrations write: BEGIN IMMEDIATE on SQLite
    return cfg


def _known_revisions() -> list[str]:
    """Revision ids of the shipped migrations, oldest first.

    Each migration file is named after its revision id ('0002_….py', revision '0002'),
    so reading the folder is enough: opening a database does not import Alembic.
    """
    return sorted(path.name.split("_", 1)[0] for path in VERSIONS_DIR.glob("[0-9]*_*.py"))


def head_revision() -> str:
    return _known_revisions()[-1]


def current_revision(engine: Engine) -> str | None:
    """The revision stamped in the database, or None if it has no regie-tui schema."""
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    except (OperationalError, SADatabaseError) as exc:
        raise explain_connection_error(exc, engine.url) from None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Create or upgrade the schema to the head revision; returns (before, after)."""
    from alembic import command

    before = current_revision(engine)
    if before is not None and before not in _known_revisions():
        raise _newer_schema(before)
    if before is None:
        _refuse_foreign_database(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, head_revision()


def _newer_schema(revision: str) -> DatabaseError:
    return DatabaseError(
        f"Cette base a été mise à jour par une version plus récente de regie-tui (schéma {revision}). "
        "Installez la même version que les autres postes avant de l'ouvrir."
    )


def _tables(engine: Engine) -> set[str]:
    """The tables of the database, Alembic's bookkeeping table aside."""
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _refuse_foreign_database(engine: Engine) -> None:
    tables = _tables(engine)
    if tables:
        raise DatabaseError(
            f"La base {shown_url(engine.url)} contient déjà des tables qui ne sont pas celles de regie-tui "
            f"({', '.join(sorted(tables)[:5])}…) : choisissez une base vide ou une base regie-tui."
        )


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema is not exactly the one this version expects."""
    revision = current_revision(engine)
    head = head_revision()
    if revision == head:
        return
    where = shown_url(engine.url)
    if revision is None:
        if _tables(engine):
            raise DatabaseError(f"La base {where} n'est pas une base regie-tui.")
        raise DatabaseError(f"La base {where} est vide. Créez le schéma avec : regie db upgrade --db {where}")
    if revision not in _known_revisions():
        raise _newer_schema(revision)
    raise DatabaseError(
        f"Le schéma de la base ({revision}) est plus ancien que celui de regie-tui ({head}). "
        f"Mettez-la à jour avec : regie db upgrade --db {where}"
    )


def open_database(url: str) -> Engine:
    """An engine on an existing regie-tui database at the current schema."""
    engine = make_engine(url)
    check_schema(engine)
    return engine


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> "Iterator[Session]":
    """One unit of work: committed if the block succeeds, rolled back otherwise.

    ``write``: the unit of work writes (or may write). On SQLite its transactions begin
    IMMEDIATE: it waits for the other writers (within the busy timeout) instead of failing
    with "database is locked" when it writes after reading. Leave it False for reads only:
    a reader never waits for a writer.

    SQLModel and the models are imported here, by the first unit of work, not with this
    module: opening a database (and the dashboard's counters) needs SQLAlchemy Core only.
    """
    from sqlmodel import Session

    import regie_tui.models  # noqa: F401  (every mapper known before the first query)

    with Session(for_writing(engine) if write else engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
