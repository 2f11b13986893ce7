"""What every screen of the app shares: what it may ask of the app, and reading data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Protocol, TypeVar, cast, runtime_checkable

from textual.screen import Screen
from textual.signal import Signal
from textual.worker import Worker

from regie_tui import workers

if TYPE_CHECKING:
    from regie_tui.services.portal.dashboard import DashboardCounts
    from regie_tui.services.trust.agents import AgentInfo
    from regie_tui.workers import Db

T = TypeVar("T")


@runtime_checkable
class Desk(Protocol):
    """What screens need of the app (the RegieApp): written here so that screens never
    import the app, which imports them. The database itself is the workers' business."""

    agent: AgentInfo | None
    today: date
    database_opened: Signal[None]
    counters_ready: Signal[DashboardCounts]

    @property
    def connected(self) -> bool: ...

    def open_family(self, family_id: int) -> None: ...


class RegieScreen(Screen[None]):
    """A screen of the app; it reads the database through :mod:`regie_tui.workers`."""

    @property
    def desk(self) -> Desk:
        """The app as a screen sees it: the agent at the keyboard, today, the database's state."""
        return cast(Desk, self.app)

    def load(self, query: Callable[[Db], T], deliver: Callable[[T], object]) -> Worker[None]:
        """Run ``query`` in a worker thread and hand its result to ``deliver`` on the UI thread.

        A newer call cancels an older one; a cancelled call's result is dropped.
        """
        return workers.read(self, query, deliver, group="load")
