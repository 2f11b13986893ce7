"""Alembic environment: runs on the engine regie-tui made (pragmas included)."""

from alembic import context
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import regie_tui.models  # noqa: F401

target_metadata = SQLModel.metadata
config = context.config


def run_migrations_online() -> None:
    engine: Engine = config.attributes["engine"]  # put there by regie_tui.db.alembic_config
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("regie-tui migrations run online only: use 'regie db upgrade'.")
run_migrations_online()
