"""A child's planning shown: the grid over a week, a month or a day, moved around at the
keyboard, the cell under the cursor explained; pending edits drawn over what is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Footer, Header, Static

from regie_tui import clock, formatting
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ask_date
from regie_tui.screens.planning.dialogs import LegendScreen
from regie_tui.screens.planning.edits import Batch, Key, pending_text
from regie_tui.services.bookings.cells import STATE_LABELS
from regie_tui.services.bookings.planning import CLOSED_GLYPH, NEXT_VIEW, View, child_grid, period_of, shift
from regie_tui.widgets.reservation_grid import ReservationGrid

if TYPE_CHECKING:
    from regie_tui.codes import BookingState
    from regie_tui.services.bookings.planning import ChildGrid, GridCell


class GridScreen(RegieScreen):
    """A child's planning, read one period at a time; every cell loaded is kept (``known``)."""

    def __init__(self, child_id: int, day: date | None = None) -> None:
        super().__init__()
        self.child_id = child_id
        self.day = day
        self.view = View.WEEK
        self.grid: ChildGrid | None = None
        self.known: dict[Key, GridCell] = {}  # every cell loaded so far (stamps for the save)
        self.unsaved = Batch()
        self.message = ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="planning-head"):
            yield Static("", id="planning-title")
            yield Static("", id="planning-count")
        yield ReservationGrid(id="planning-grid")
        yield Static("Chargement…", id="planning-status")
        yield Footer()

    def title_text(self) -> str:
        """Whose planning this is: the child's name once loaded."""
        return f"planning de {self.grid.child_name}" if self.grid else f"planning de l'enfant n° {self.child_id}"

    @property
    def grid_widget(self) -> ReservationGrid:
        return self.query_one("#planning-grid", ReservationGrid)

    def on_mount(self) -> None:
        self.sub_title = "Planning"
        if self.day is None:
            self.day = self.desk.today
        self.grid_widget.focus()
        self.refresh_grid()

    # ---------------------------------------------------------------- reading

    def refresh_grid(self, then: Callable[[], None] | None = None) -> None:
        day, view, child_id, now = self.day or self.desk.today, self.view, self.child_id, clock.now()
        first, last = period_of(view, day)

        def show(grid: ChildGrid) -> None:
            self._show(grid)
            if then is not None:
                then()

        self.load(lambda db: child_grid(db, child_id=child_id, first=first, last=last, now=now), show)

    def _show(self, grid: ChildGrid) -> None:
        widget = self.grid_widget
        unit = widget.cursor_unit
        self.grid = grid
        self.known.update(grid.cells)
        widget.show(grid, self.view, today=self.desk.today, pending=self.unsaved.states, day=self.day, unit_id=unit)
        period = self._period_text(grid)
        self.query_one("#planning-title", Static).update(escape(f"{grid.child_name} · {period}"))
        self.sub_title = f"Planning — {grid.child_name} (famille {grid.family_name})"
        self._show_count()
        if not grid.rows:
            self._status("Aucune inscription acceptée sur cette période.")

    def _period_text(self, grid: ChildGrid) -> str:
        if self.view == View.DAY:
            return formatting.long_date(grid.first)
        if self.view == View.MONTH:
            return f"{formatting.long_date(grid.first).split(' ', 2)[2]}"
        return f"semaine du {grid.first:%d/%m} au {formatting.short_date(grid.last)}"

    def _show_count(self) -> None:
        self.query_one("#planning-count", Static).update(pending_text(len(self.unsaved.requests)))
        self.grid_widget.set_pending(self.unsaved.states)

    def _status(self, text: str, *, refused: bool = False) -> None:
        status = self.query_one("#planning-status", Static)
        status.update(escape(text))
        status.set_class(refused, "-refused")
        self.message = text

    @on(ReservationGrid.CursorMoved)
    def _cursor_moved(self, event: ReservationGrid.CursorMoved) -> None:
        if event.day is not None:
            self.day = event.day
        self._explain()

    def _explain(self) -> None:
        grid, day, unit_id = self.grid, self.grid_widget.cursor_day, self.grid_widget.cursor_unit
        if grid is None or day is None or unit_id is None:
            return
        row = next(r for r in grid.rows if r.unit_id == unit_id)
        where = f"{formatting.short_date(day)} {row.unit_name} : "
        key = (day, unit_id)
        cell = grid.cells.get(key)
        if key in self.unsaved.states:
            state = self.unsaved.states[key]
            now = STATE_LABELS[state] if state else "libre"
            was = STATE_LABELS[cell.state] if cell and cell.state else "libre"
            self._status(f"{where}{now}, non enregistré (était : {was})")
        elif cell is not None:
            self._status(where + cell.explanation)

    @on(ReservationGrid.EdgeReached)
    def _edge(self, event: ReservationGrid.EdgeReached) -> None:
        day = self.grid_widget.cursor_day or self.day or self.desk.today
        if self.grid is not None and self.day is not None and self.day not in self.grid.days:
            day = self.day  # the next period is still loading: keep counting the keys from where they lead
        self._go_to(day + timedelta(days=event.direction))

    # ---------------------------------------------------------------- the cells

    def _effective(self, key: Key) -> BookingState | None:
        """The cell's state with the pending edits."""
        if key in self.unsaved.states:
            return self.unsaved.states[key]
        cell = self.known.get(key)
        return cell.state if cell else None

    def _closed_day(self, key: Key) -> bool:
        cell = self.known.get(key)
        return cell is not None and cell.state is None and cell.glyph == CLOSED_GLYPH

    def _stored(self, key: Key) -> BookingState | None:
        cell = self.known.get(key)
        return cell.state if cell else None

    # ------------------------------------------------------------ moving around

    def _go_to(self, day: date) -> None:
        self.day = day
        self.refresh_grid()

    def action_period(self, steps: int) -> None:
        self._go_to(shift(self.view, self.day or self.desk.today, steps))

    def action_cycle_view(self) -> None:
        self.view = NEXT_VIEW[self.view]
        self.refresh_grid()

    def action_today(self) -> None:
        self._go_to(self.desk.today)

    def action_go_to(self) -> None:
        refused = partial(self._status, refused=True)
        ask_date(self.app, "Aller au (JJ/MM/AAAA)", self.day, self._go_to, refused)

    def action_legend(self) -> None:
        self.app.push_screen(LegendScreen())

    def action_reload(self) -> None:
        self.refresh_grid()
