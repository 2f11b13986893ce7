"""Alembic environment: runs on the engine regie-tui made (pragmas included)."""

from alembic import context
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import regie_tui.models  # noqa: F401

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_online() -> None:
    """All migrations in one transaction.

    On SQLite, foreign keys are off meanwhile: a batch migration rebuilds a table (copy, drop,
    rename), and dropping a table other rows point to would fail. They are checked at the end,
    inside the transaction, so a migration that broke one rolls back.
    """
    engine: Engine = config.attributes["engine"]  # put there by regie_tui.db.alembic_config
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.driver_connection
        assert raw is not None
        if sqlite:  # outside any transaction, where SQLite honours it
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=True,
                    compare_type=True,
                )
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("regie-tui migrations run online only: use 'regie db upgrade'.")
run_migrations_online()
