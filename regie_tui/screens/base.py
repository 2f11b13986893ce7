"""What every screen of the app shares: loading data off the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from textual import work
from textual.screen import Screen
from textual.worker import Worker, WorkerState, get_current_worker

if TYPE_CHECKING:
    from sqlmodel import Session

T = TypeVar("T")


class RegieScreen(Screen[None]):
    """A screen that reads the database in thread workers, one session per call."""

    @property
    def regie(self) -> Any:
        """The RegieApp (typed loosely to keep screens importable on their own)."""
        return self.app

    @work(thread=True, exclusive=True, exit_on_error=False, group="load")
    def load(self, query: Callable[[Session], T], deliver: Callable[[T], None]) -> None:
        """Run ``query`` in a worker thread and hand its result to ``deliver`` on the UI.

        A newer call cancels an older one; a cancelled call's result is dropped.
        """
        from regie_tui.db import session_scope

        with session_scope(self.regie.engine) as session:
            result = query(session)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(deliver, result)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        from regie_tui.app import error_message

        message = error_message(event.worker.error, self.regie.engine.url)
        self.notify(message, title="Lecture impossible", severity="error", timeout=10)
