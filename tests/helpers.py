"""Constants and small helpers shared by the tests (import with ``from helpers import …``).

``tests/`` is on ``sys.path`` during the test session (tests/conftest.py makes sure of
it), so any test module can import this one whatever its folder.
"""

import os
import pwd
import time
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlmodel import Session, SQLModel

T = TypeVar("T")

#: The day the whole test session lives in (REGIE_TODAY is pinned to it).
TODAY = date(2026, 11, 23)
#: The hour of the day the tests live at (REGIE_TODAY=2026-11-23T21:00): after the notice
#: deadlines of the day (15:00), as a desk at closing time.
TODAY_HOUR = "21:00"

#: The agent created by the seeded test town (``town_url``), with the admin role.
ADMIN_LOGIN = "agent.test"

#: Parameters of the seeded test town (``town_url``): same data on every run.
TOWN_FAMILIES = 12
TOWN_SEED = 7


def backend_of(url: str) -> str:
    """'sqlite' or 'postgresql' for a database URL."""
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def act_as(monkeypatch, login: str) -> None:
    """Make ``login`` the agent at the keyboard of every connection of this test.

    In production the agent is the OS account (SQLite) or the session's PostgreSQL role,
    and the tests connect as the cluster's superuser: this replaces the one function that
    reads it (tests/test_identity.py checks the real one, with real accounts and roles).
    """
    from regie_tui.services.trust import identity

    monkeypatch.setattr(identity, "connected_identity", lambda connection: identity.Connected(login=login, owner=False))
    monkeypatch.setattr(identity, "os_login", lambda: login)  # `regie seed`'s administrator


def agent_url(url: str) -> str:
    """The URL a subprocess uses to be the seeded town's administrator for real: on SQLite the
    tests' OS account (added as an administrator), on PostgreSQL the login role of
    ``agent.test`` (the seed created it), through the cluster's Unix socket."""
    from sqlalchemy.engine import make_url
    from sqlmodel import Session, select

    from regie_tui.db import make_engine
    from regie_tui.models import Agent, Role
    from regie_tui.services.trust.agents import add_agent

    if backend_of(url) == "postgresql":
        return make_url(url).set(username=ADMIN_LOGIN).render_as_string(hide_password=False)
    account = pwd.getpwuid(os.getuid()).pw_name  # the real one (act_as replaces identity.os_login)
    engine = make_engine(url)
    with Session(engine) as db:
        if db.exec(select(Agent.id).where(Agent.login == account)).first() is None:
            add_agent(db, login=account, role=Role.ADMIN, display_name=None, by=None)
            db.commit()
    engine.dispose()
    return url


def wait_for_lock_waiters(url: str, count: int, *, timeout: float = 60) -> None:
    """Wait until ``count`` sessions of this PostgreSQL database wait for a lock (pg_stat_activity):
    how a test knows that the transactions it started queue behind the lock it holds, not by luck."""
    from sqlalchemy import text

    from regie_tui.db import make_engine

    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # a fresh view each time
            while True:
                waiting = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
                if waiting >= count:
                    return
                assert time.monotonic() < deadline, f"{waiting} of {count} sessions wait for the lock after {timeout} s"
                time.sleep(0.01)
    finally:
        engine.dispose()


def get_row(session: "Session", model: type[T], key: Any) -> T:
    """``session.get`` for a row the test knows is there: a missing one fails here, by name."""
    row = session.get(model, key)
    assert row is not None, f"no {model.__name__} {key!r}"
    return row


def table_of(model: type["SQLModel"]) -> "Table":
    """A table model's Core table, for statements the ORM does not write (bulk deletes, raw inserts)."""
    # SQLAlchemy's declarative mapping sets __table__ on every table model; SQLModel does not declare it.
    return model.__table__  # type: ignore[attr-defined, no-any-return]
