"""Typing for queries where SQLModel's annotations fall short; nothing here changes the SQL.

- A table's ``id`` is typed ``int | None`` on the model, since a new row has none before
  its INSERT; a row read from the database, or flushed to it, always has one.
  :func:`id_of` says so for a row, :func:`id_col` for the column selected in a query.
- ``sqlmodel.select()`` is typed for four columns at most (fastapi/sqlmodel#271), though it
  takes any number: :func:`select_columns` builds the same statement for more.
"""

from typing import Any, Protocol, cast

from sqlalchemy import SQLColumnExpression
from sqlalchemy.orm import Mapped
from sqlmodel import col
from sqlmodel.sql.expression import Select


class HasId(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: HasId) -> int:
    """The id of a row read from the database or flushed to it."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id


def id_col(column: int | None) -> Mapped[int]:
    """A table's ``id`` column (``Family.id``) in a query, typed as never NULL."""
    return cast("Mapped[int]", col(column))


def select_columns(*columns: SQLColumnExpression[Any]) -> Select[*tuple[Any, ...]]:
    """``select(a, b, c, d, e, …)`` for five columns or more: sqlmodel's own ``Select``, as its
    ``select()`` returns at run time, with rows typed ``tuple[Any, ...]``."""
    return Select(*columns)
