"""A child's reservation grid, drawn line by line (Line API): rows are units, columns are days.

The widget only draws and moves: it holds a :class:`~regie_tui.services.bookings.planning.ChildGrid`
(plain data, loaded by the screen) and the screen's pending (unsaved) target states, and
never touches the database. A key press repaints the lines it changed, nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from regie_tui import clock
from regie_tui.codes import BookingState
from regie_tui.services.bookings.planning import CLOSED_GLYPH, Appearance, View

if TYPE_CHECKING:
    from regie_tui.services.bookings.planning import ChildGrid, GridCell

WEEKDAY_SHORT = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
WEEKDAY_INITIAL = ("l", "m", "m", "j", "v", "s", "d")
MONTH_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")

#: A few letters after the glyph in the week view, per appearance.
SHORT = {
    Appearance.FREE: "",
    Appearance.PRESENCE: "rés",
    Appearance.PRESENCE_SPECIAL: "spé",
    Appearance.ABSENCE: "abs",
    Appearance.IMPOSSIBLE: "",
    Appearance.NOT_ALLOWED: "n.a.",
    Appearance.CAPACITY: "plein",
    Appearance.LOCKED: "prés",
    Appearance.REQUESTED: "dem",
    Appearance.PAYABLE: "à rég",
    Appearance.BILLED: "fact",
    Appearance.PACKAGE: "fft",
    Appearance.WAITING_LIST: "att",
}
#: A pending (unsaved) cell shows its target state: glyph, short word, long word. None: freed.
PENDING_TEXT: dict[BookingState | None, tuple[str, str, str]] = {
    None: ("·", "lib", "libérée"),
    BookingState.RESERVED: ("●", "rés", "réservée"),
    BookingState.PRESENT: ("✓", "prés", "présent"),
    BookingState.PRESENT_SPECIAL: ("+", "spé", "présence spéciale"),
    BookingState.ABSENT_JUSTIFIED: ("a", "abs", "absence justifiée"),
    BookingState.ABSENT_UNJUSTIFIED: ("A", "ABS", "absence non justifiée"),
    BookingState.WAITING_LIST: ("L", "att", "liste d'attente"),
    BookingState.REQUESTED: ("?", "dem", "en attente de validation"),
}
#: Without colour, a pending cell is told by this mark after its glyph (and bold underline).
PENDING_MARK = "°"

#: Appearance -> component class giving its colour (the glyph says it without colour).
APPEARANCE_CLASS = {
    Appearance.FREE: "reservation-grid--free",
    Appearance.PACKAGE: "reservation-grid--free",
    Appearance.PRESENCE: "reservation-grid--booked",
    Appearance.PRESENCE_SPECIAL: "reservation-grid--attendance",
    Appearance.LOCKED: "reservation-grid--attendance",
    Appearance.ABSENCE: "reservation-grid--absence",
    Appearance.IMPOSSIBLE: "reservation-grid--impossible",
    Appearance.NOT_ALLOWED: "reservation-grid--warning",
    Appearance.CAPACITY: "reservation-grid--warning",
    Appearance.WAITING_LIST: "reservation-grid--warning",
    Appearance.REQUESTED: "reservation-grid--warning",
    Appearance.PAYABLE: "reservation-grid--billed",
    Appearance.BILLED: "reservation-grid--billed",
}
MONTH_LABEL = 12
GAP = " "


@dataclass(frozen=True)
class _Line:
    """A display line: an activity's title (``row`` None) or a unit (index in grid.rows)."""

    text: str
    row: int | None


@dataclass(frozen=True)
class Layout:
    label_width: int
    cell_width: int


def layout_for(view: View, width: int, days: int) -> Layout:
    """Widths of the left column and of a day, so that the period fits ``width``."""
    if view == View.MONTH:
        cell = 2
        label = max(6, min(MONTH_LABEL, width - days * cell - 1))
    elif view == View.WEEK:
        cell = 6
        label = max(8, min(26, width - days * (cell + len(GAP)) - 1))
    else:
        label = max(8, min(26, width // 3))
        cell = max(8, width - label - 2)
    return Layout(label, cell)


def _fit(text: str, width: int) -> str:
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    return set_cell_size(text, width)


class ReservationGrid(ScrollView, can_focus=True, inherit_bindings=False):
    """A child's grid: a fixed left column (activity, then its units with their times),
    two header lines with the days, one cell per day.

    Bindings: ←/→/↑/↓ move the cursor; shift+arrows extend the selection (a rectangle of
    units × days from where it started); Home/End first/last day of the period.
    Messages: :class:`CursorMoved` (the cell under the cursor changed), :class:`EdgeReached`
    (a move beyond the first or last day of the period: the screen shows the previous or
    next period).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(0, -1)", "Jour précédent", show=False),
        Binding("right", "move(0, 1)", "Jour suivant", show=False),
        Binding("up", "move(-1, 0)", "Unité précédente", show=False),
        Binding("down", "move(1, 0)", "Unité suivante", show=False),
        Binding("shift+left", "extend(0, -1)", "Étendre la sélection", show=False, key_display="maj+←"),
        Binding("shift+right", "extend(0, 1)", "Étendre la sélection", show=False, key_display="maj+→"),
        Binding("shift+up", "extend(-1, 0)", "Étendre la sélection", show=False, key_display="maj+↑"),
        Binding("shift+down", "extend(1, 0)", "Étendre la sélection", show=False, key_display="maj+↓"),
        Binding("home", "edge(-1)", "Premier jour", show=False, key_display="début"),
        Binding("end", "edge(1)", "Dernier jour", show=False, key_display="fin"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "reservation-grid--header",
        "reservation-grid--today",
        "reservation-grid--group",
        "reservation-grid--label",
        "reservation-grid--cursor",
        "reservation-grid--selection",
        "reservation-grid--pending",
        "reservation-grid--closed",
        "reservation-grid--free",
        "reservation-grid--booked",
        "reservation-grid--attendance",
        "reservation-grid--absence",
        "reservation-grid--impossible",
        "reservation-grid--warning",
        "reservation-grid--billed",
    }
    DEFAULT_CSS = """
    ReservationGrid { height: 1fr; }
    ReservationGrid > .reservation-grid--header { text-style: bold; background: $panel; }
    ReservationGrid > .reservation-grid--today { text-style: bold reverse; }
    ReservationGrid > .reservation-grid--group { text-style: bold; color: $accent; }
    ReservationGrid > .reservation-grid--label { color: $text; }
    ReservationGrid > .reservation-grid--cursor { text-style: reverse bold; }
    ReservationGrid > .reservation-grid--selection { background: $primary 40%; }
    ReservationGrid > .reservation-grid--pending { text-style: bold underline; color: $warning; }
    ReservationGrid > .reservation-grid--closed { color: $text-disabled; }
    ReservationGrid > .reservation-grid--free { color: $text-muted; }
    ReservationGrid > .reservation-grid--booked { color: $success; }
    ReservationGrid > .reservation-grid--attendance { color: $success; text-style: bold; }
    ReservationGrid > .reservation-grid--absence { color: $warning; }
    ReservationGrid > .reservation-grid--impossible { color: $text-disabled; }
    ReservationGrid > .reservation-grid--warning { color: $error; }
    ReservationGrid > .reservation-grid--billed { color: $secondary; }
    """

    class CursorMoved(Message):
        """The cursor is on another cell (``day``, ``unit_id``); None when the grid is empty."""

        def __init__(self, grid: ReservationGrid, day: date | None, unit_id: int | None) -> None:
            super().__init__()
            self.grid = grid
            self.day = day
            self.unit_id = unit_id

    class EdgeReached(Message):
        """A move left of the first day (-1) or right of the last day (+1) of the period."""

        def __init__(self, grid: ReservationGrid, direction: int) -> None:
            super().__init__()
            self.grid = grid
            self.direction = direction

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.grid: ChildGrid | None = None
        self.view = View.WEEK
        self.today = clock.today()
        self.pending: Mapping[tuple[date, int], BookingState | None] = {}
        self.row = 0  # index in grid.rows
        self.col = 0  # index in grid.days
        self.selection_start: tuple[int, int] | None = None  # where the selection started
        self._lines: list[_Line] = []
        self._line_of_row: list[int] = []
        self._styles: dict[str, Style] = {}

    # ------------------------------------------------------------------ content

    def show(
        self,
        grid: ChildGrid,
        view: View,
        *,
        today: date,
        pending: Mapping[tuple[date, int], BookingState | None],
        day: date | None = None,
        unit_id: int | None = None,
    ) -> None:
        """A newly loaded grid; the cursor goes on ``day`` × ``unit_id`` when shown (else stays near).

        CursorMoved is posted when the cell under the cursor is another one (or the first grid)."""
        before = (self.cursor_day, self.cursor_unit) if self.grid is not None else None
        self.grid, self.view, self.today, self.pending = grid, view, today, pending
        self.selection_start = None
        self._lines = []
        self._line_of_row = []
        activity: int | None = None
        short = view == View.MONTH
        for index, row in enumerate(grid.rows):
            if row.activity_id != activity:
                activity = row.activity_id
                self._lines.append(_Line(row.activity_name, None))
            label = f"  {row.unit_name} {row.hours}"
            if short:  # ~12 cells: the name, and the start time when it fits
                label = f"{row.unit_name} {row.start:%H:%M}"
                label = label if cell_len(label) <= MONTH_LABEL else row.unit_name
            self._line_of_row.append(len(self._lines))
            self._lines.append(_Line(label, index))
        if day is not None and day in grid.days:
            self.col = grid.days.index(day)
        self.col = max(0, min(self.col, len(grid.days) - 1))
        rows = [i for i, r in enumerate(grid.rows) if r.unit_id == unit_id]
        self.row = rows[0] if rows else max(0, min(self.row, len(grid.rows) - 1))
        self._styles = {}
        self._resized()
        self._scroll_to_cursor()
        if before != (self.cursor_day, self.cursor_unit):
            self._announce()

    def set_pending(self, pending: Mapping[tuple[date, int], BookingState | None]) -> None:
        self.pending = pending
        self.refresh()

    @property
    def cursor_day(self) -> date | None:
        return self.grid.days[self.col] if self.grid and self.grid.days else None

    @property
    def cursor_unit(self) -> int | None:
        return self.grid.rows[self.row].unit_id if self.grid and self.grid.rows else None

    @property
    def cursor_cell(self) -> GridCell | None:
        day, unit = self.cursor_day, self.cursor_unit
        if self.grid is None or day is None or unit is None:
            return None
        return self.grid.cells.get((day, unit))

    def selected(self) -> list[tuple[date, int]]:
        """The (day, unit_id) of the selection, row by row; the cursor's cell when none."""
        grid = self.grid
        if grid is None or not grid.rows or not grid.days:
            return []
        rows, cols = self._ranges()
        return [(grid.days[c], grid.rows[r].unit_id) for r in rows for c in cols]

    def selected_units(self) -> list[int]:
        grid = self.grid
        if grid is None or not grid.rows:
            return []
        rows, _ = self._ranges()
        return [grid.rows[r].unit_id for r in rows]

    def _ranges(self) -> tuple[range, range]:
        if self.selection_start is None:
            return range(self.row, self.row + 1), range(self.col, self.col + 1)
        top, bottom = sorted((self.selection_start[0], self.row))
        left, right = sorted((self.selection_start[1], self.col))
        return range(top, bottom + 1), range(left, right + 1)

    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._lines) + self.header_lines)
        self.refresh()

    def on_resize(self, _event: events.Resize) -> None:
        self._resized()

    # ---------------------------------------------------------------- drawing

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name, partial=True)
        return style

    def notify_style_update(self) -> None:
        self._styles = {}
        super().notify_style_update()

    @property
    def header_lines(self) -> int:
        """Weekday and date; the month view spells the day number down two lines (tens, units)."""
        return 3 if self.view == View.MONTH else 2

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        grid = self.grid
        base = self.rich_style
        if grid is None:
            return Strip.blank(width, base)
        layout = layout_for(self.view, width, len(grid.days))
        if y < self.header_lines:
            return self._header(y, layout, width)
        index = self.scroll_offset.y + y - self.header_lines
        if index >= len(self._lines):
            return Strip.blank(width, base)
        line = self._lines[index]
        if line.row is None:
            text = _fit(line.text, width)
            return Strip([Segment(text, base + self._style("reservation-grid--group"))], width)
        segments = [Segment(_fit(line.text, layout.label_width) + GAP, base + self._style("reservation-grid--label"))]
        segments += self._cells(line.row, layout, base)
        return Strip(segments, width).adjust_cell_length(width, base)

    def _header(self, y: int, layout: Layout, width: int) -> Strip:
        grid = self.grid
        assert grid is not None
        header = self.rich_style + self._style("reservation-grid--header")
        segments = [Segment(" " * (layout.label_width + len(GAP)), header)]
        for index, day in enumerate(grid.days):
            if self.view == View.MONTH:
                number = f"{day.day:02d}"
                text = (WEEKDAY_INITIAL[day.weekday()], number[0].replace("0", " "), number[1])[y]
            elif self.view == View.WEEK:
                text = WEEKDAY_SHORT[day.weekday()] if y == 0 else f"{day:%d/%m}"
            else:
                text = (
                    f"{WEEKDAY_SHORT[day.weekday()]} {day.day} {MONTH_SHORT[day.month - 1]} {day.year}"
                    if y == 0
                    else ""
                )
            style = header
            if day == self.today:
                style += self._style("reservation-grid--today")
            elif day in grid.closed_days:
                style += self._style("reservation-grid--closed")
            if index == self.col and self.view != View.DAY:
                style += Style(underline=True)
            segments.append(Segment(_fit(text, layout.cell_width), style))
            if self.view != View.MONTH:
                segments.append(Segment(GAP, header))
        return Strip(segments, width).adjust_cell_length(width, header)

    def _cells(self, row: int, layout: Layout, base: Style) -> list[Segment]:
        grid = self.grid
        assert grid is not None
        unit_id = grid.rows[row].unit_id
        rows, cols = self._ranges() if self.selection_start is not None else (range(0), range(0))
        segments = []
        for col, day in enumerate(grid.days):
            key = (day, unit_id)
            cell = grid.cells.get(key)
            style = base
            if key in self.pending:
                glyph, short, long = PENDING_TEXT.get(self.pending[key], ("?", "", ""))
                text = self._text(glyph + PENDING_MARK, short, long + " (non enregistré)", layout)
                style += self._style("reservation-grid--pending")
            elif cell is not None:
                text = self._text(cell.glyph, SHORT[cell.appearance], "", layout, cell)
                closed = cell.glyph == CLOSED_GLYPH or day in grid.closed_days
                style += self._style("reservation-grid--closed" if closed else APPEARANCE_CLASS[cell.appearance])
            else:
                text = self._text(" ", "", "", layout)
            if row in rows and col in cols:
                style += self._style("reservation-grid--selection")
            if row == self.row and col == self.col:
                style += self._style("reservation-grid--cursor")
            segments.append(Segment(_fit(text, layout.cell_width), style))
            if self.view != View.MONTH:
                segments.append(Segment(GAP, base))
        return segments

    def _text(self, glyph: str, short: str, long: str, layout: Layout, cell: GridCell | None = None) -> str:
        if self.view == View.MONTH:
            return glyph
        if self.view == View.WEEK:
            return f"{glyph} {short}" if short and len(glyph) == 1 else f"{glyph}{short}"
        if not long and cell is not None:
            long = cell.explanation
        return f"{glyph} {long}"

    # ---------------------------------------------------------------- moving

    def _scroll_to_cursor(self) -> None:
        if not self._line_of_row:
            return
        line = self._line_of_row[self.row]
        top = self.scroll_offset.y
        page = max(1, self.size.height - self.header_lines)
        if self.row == 0:
            self.scroll_to(y=0, animate=False)
        elif line < top:
            self.scroll_to(y=line - (1 if self._lines[line - 1].row is None else 0), animate=False)
        elif line >= top + page:
            self.scroll_to(y=line - page + 1, animate=False)

    def _refresh_row(self, row: int) -> None:
        if 0 <= row < len(self._line_of_row):
            y = self._line_of_row[row] - self.scroll_offset.y + self.header_lines
            if y >= self.header_lines:
                self.refresh_line(y)

    def _announce(self) -> None:
        self.post_message(self.CursorMoved(self, self.cursor_day, self.cursor_unit))

    def _go(self, row: int, col: int, *, extend: bool) -> None:
        grid = self.grid
        if grid is None or not grid.rows or not grid.days:
            return
        if not 0 <= col < len(grid.days):
            if not extend:
                self.post_message(self.EdgeReached(self, -1 if col < 0 else 1))
            return
        row = max(0, min(len(grid.rows) - 1, row))
        old_row, old_col = self.row, self.col
        had_selection = self.selection_start is not None
        if extend and self.selection_start is None:
            self.selection_start = (old_row, old_col)
        elif not extend:
            self.selection_start = None
        self.row, self.col = row, col
        top = self.scroll_offset.y
        self._scroll_to_cursor()
        if extend or had_selection or top != self.scroll_offset.y:
            self.refresh()
        else:
            self._refresh_row(old_row)
            self._refresh_row(row)
            if old_col != col:
                self.refresh_lines(0, self.header_lines)
        if (old_row, old_col) != (row, col):
            self._announce()

    def action_move(self, rows: int, cols: int) -> None:
        self._go(self.row + rows, self.col + cols, extend=False)

    def action_extend(self, rows: int, cols: int) -> None:
        self._go(self.row + rows, self.col + cols, extend=True)

    def action_edge(self, direction: int) -> None:
        if self.grid is not None:
            self._go(self.row, 0 if direction < 0 else len(self.grid.days) - 1, extend=False)

    def on_click(self, event: events.Click) -> None:
        grid = self.grid
        if grid is None or event.y < self.header_lines:
            return
        index = self.scroll_offset.y + event.y - self.header_lines
        if index >= len(self._lines) or self._lines[index].row is None:
            return
        row = self._lines[index].row
        assert row is not None
        layout = layout_for(self.view, self.size.width, len(grid.days))
        step = layout.cell_width + (0 if self.view == View.MONTH else len(GAP))
        col = (event.x - layout.label_width - len(GAP)) // step
        if 0 <= col < len(grid.days):
            self._go(row, col, extend=event.shift)
