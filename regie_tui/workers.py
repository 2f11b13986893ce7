"""The user interface's one road to the database: thread workers, one session per call.

The app's start-up, every screen and the command palette reach the database through
here, so that the UI thread never waits on it and every failure reaches the agent the
same way: one French line (see :func:`regie_tui.errors.error_message`), no traceback.
Results are plain data (services never hand out live ORM objects).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias, TypeVar

from textual.dom import DOMNode
from textual.worker import Worker, WorkerCancelled, WorkerFailed, get_current_worker

from regie_tui.errors import RegieError, error_message

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from regie_tui.services.portal.dashboard import DashboardCounts
    from regie_tui.services.trust.agents import AgentInfo

T = TypeVar("T")

#: The names the user interface annotates with, since it never imports SQLAlchemy, SQLModel or
#: the models: ``Database``, the app's open database; ``Db``, the session of the unit of work
#: that a worker hands to the service call it runs (the UI passes it on, and does nothing else
#: with it: no query, no commit; ``tests/test_layering.py`` checks both).
Database: TypeAlias = "Engine"
Db: TypeAlias = "Session"
#: Opens the database for the agent at the keyboard; hands the dashboard's counters over as soon as it can.
Connect = Callable[[Callable[["DashboardCounts"], None]], "tuple[Database, AgentInfo]"]


def _engine(node: DOMNode) -> Database | None:
    """The app's open database (None before it is opened)."""
    engine: Database | None = getattr(node.app, "engine", None)
    return engine


def run_in_thread(
    node: DOMNode,
    work: Callable[[], T],
    deliver: Callable[[T], object],
    *,
    group: str,
    on_error: Callable[[str], object] | None = None,
    exclusive: bool = True,
) -> Worker[None]:
    """Run ``work()`` in a thread worker of ``node``, then ``deliver(result)`` on the UI thread.

    With ``exclusive``, a newer call of the same group cancels the older one, whose
    result is dropped. A failure is told to the agent by ``on_error(message)``
    (default: a notification) and leaves the worker in the ERROR state.
    """
    app = node.app
    engine = _engine(node)

    def job() -> None:
        try:
            result = work()
        except Exception as error:
            message = error_message(error, engine.url if engine is not None else None)
            app.call_from_thread(on_error or _notify_failure(node), message)
            raise
        if not get_current_worker().is_cancelled:
            app.call_from_thread(deliver, result)

    return node.run_worker(job, name=group, group=group, thread=True, exclusive=exclusive, exit_on_error=False)


def _notify_failure(node: DOMNode) -> Callable[[str], None]:
    def notify(message: str) -> None:
        node.app.notify(message, title="Lecture impossible", severity="error", timeout=10)

    return notify


def read(
    node: DOMNode,
    query: Callable[[Db], T],
    deliver: Callable[[T], object],
    *,
    group: str = "read",
    exclusive: bool = True,
    on_error: Callable[[str], object] | None = None,
) -> Worker[None]:
    """Run ``query(session)`` in a thread, in its own unit of work, and deliver its result
    (a failure: ``on_error(message)``, by default a notification).

    Reads only: on SQLite the transaction is deferred and never waits for a writer; a
    ``query`` that writes belongs in :func:`write`."""
    from regie_tui.db import session_scope

    def work() -> T:
        engine = _engine(node)
        if engine is None:
            raise RegieError("La base n'est pas encore ouverte.")
        with session_scope(engine) as session:
            return query(session)

    return run_in_thread(node, work, deliver, group=group, on_error=on_error, exclusive=exclusive)


async def fetch(node: DOMNode, query: Callable[[Db], T], *, group: str = "fetch") -> T | None:
    """``await`` form of :func:`read`, for async code (the command palette): the result,
    or None when the read failed (the agent was told) or was cancelled."""
    results: list[T] = []
    worker = read(node, query, results.append, group=group, exclusive=False)
    try:
        await worker.wait()
    except (WorkerFailed, WorkerCancelled):
        return None
    return results[0] if results else None


def write(
    node: DOMNode,
    action: Callable[[Db], T],
    deliver: Callable[[T], object],
    *,
    on_error: Callable[[str], object],
    group: str = "write",
) -> Worker[None]:
    """Run ``action(session)`` in a thread as one unit of work (committed, or rolled back on
    failure); ``deliver`` its result, or tell ``on_error`` the French reason nothing was written.

    A writing unit of work (``session_scope(write=True)``): on SQLite it begins IMMEDIATE and
    waits for another desk's write to end (within the busy timeout); :func:`read` stays
    deferred and never waits for a writer."""
    from regie_tui.db import session_scope

    def work() -> T:
        engine = _engine(node)
        if engine is None:
            raise RegieError("La base n'est pas encore ouverte.")
        with _ONE_WRITER, session_scope(engine, write=True) as session:
            return action(session)

    return run_in_thread(node, work, deliver, group=group, on_error=on_error, exclusive=False)


#: This desk's writes run one after the other, in the order asked (keys typed quickly: two
#: marks of the roster), rather than polling SQLite's busy handler against each other;
#: other desks' writers are waited for by the database (BEGIN IMMEDIATE, row locks).
_ONE_WRITER = threading.Lock()


def connect_to(database_url: str) -> Connect:
    """How the app opens ``database_url`` in a worker once its first screen is up: the schema
    checked, the agent at the keyboard resolved (a desk role), the dashboard's counters
    handed over first."""

    def connect(show_counts: Callable[[DashboardCounts], None]) -> tuple[Database, AgentInfo]:
        from regie_tui.db import open_database, session_scope
        from regie_tui.services.portal.dashboard import counts_for_login
        from regie_tui.services.trust.identity import desk_login

        opened = open_database(database_url)
        try:
            # The counters first, for a known active agent: SQLAlchemy Core only. The
            # ORM (SQLModel and the models, most of the start-up time) comes after.
            with opened.connect() as connection:
                agent_login = desk_login(connection)
                counts = counts_for_login(connection, agent_login)
            if counts is not None:
                show_counts(counts)
            from regie_tui.services.trust.access import Permission
            from regie_tui.services.trust.agents import resolve_agent

            with session_scope(opened) as session:
                agent = resolve_agent(session, agent_login)
                agent.require(Permission.DESK)
                return opened, agent
        except Exception:
            opened.dispose()
            raise

    return connect
