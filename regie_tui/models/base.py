"""Shared column helpers: naming convention, enum columns, timestamps and versions."""

from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import Enum as SAEnum
from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from regie_tui import clock

# Deterministic constraint names, so that Alembic migrations can refer to them
# on SQLite (batch mode) and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def enum_type(enum_cls: type[StrEnum], name: str) -> SAEnum:
    """A portable enum: VARCHAR plus a CHECK constraint listing the values."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        validate_strings=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
    )


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index over the rows matching ``where`` only, on SQLite and PostgreSQL alike."""
    return Index(name, *columns, unique=unique, sqlite_where=text(where), postgresql_where=text(where))


def created_at_field() -> datetime:
    return cast(datetime, Field(default_factory=clock.utc_now, nullable=False))


def version_field() -> int:
    """Optimistic-locking counter, bumped by every service that updates the row."""
    return cast(int, Field(default=1, nullable=False, ge=1))


class Source(StrEnum):
    """Who produced a row: an agent at the desk, the family portal, or the system."""

    AGENT = "agent"
    PORTAL = "portal"
    SYSTEM = "system"
