"""Occupation: an activity's month, places booked against capacity per day, unit and group.

Left (top at 80 columns): a table with one row per open day × unit, its groups'
"booked/capacity" side by side in the order the line above the table names them ("∞": no
limit; "■" and reverse video: the group is full), the unit's waiting list "+N"; a closed day
is one dimmed row with its reason. Right (below at 80 columns): a bar plot of the month, full
days marked "■" under their bar, closed days "·". The status lines spell out the cursor's row.
Keys: PageUp PageDown or [ ] the month before / after, t this month, a another activity;
← → scroll the table sideways when it is wider than the screen.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.widgets import DataTable, Footer, Header, Static

from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import PickOne

if TYPE_CHECKING:
    from regie_tui.services.bookings.occupancy import OccupancyActivity, OccupancyDay, OccupancyMonth
    from regie_tui.workers import Db

WEEKDAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
BLOCKS = " ▁▂▃▄▅▆▇█"
CHART_ROWS = 5  # bar height, in lines
FULL = "■"
WIDE = 130  # from this width, the plot sits beside the table
CLOSED_WIDTH = 34  # a closed day's reason widens the table up to this, then is cut


def _places(booked: int, capacity: int | None) -> str:
    return f"{booked}/{'∞' if capacity is None else capacity}"


def group_cells(month: OccupancyMonth) -> dict[tuple[date, int], Text]:
    """Per open day × unit: '■12/12 ·  8/20 · 3/∞', each group right-aligned to its widest
    over the month (the groups line up in columns), a full one marked and reversed."""
    parts = {
        (day.day, unit.unit_id): [
            (("■" if g.full else "") + _places(g.booked, g.capacity), g.full) for g in unit.groups
        ]
        for day in month.open_days
        for unit in day.units
    }
    widths = [max((len(cells[i][0]) for cells in parts.values()), default=0) for i in range(len(month.groups))]
    texts = {}
    for key, cells in parts.items():
        text = Text()
        for index, ((part, full), width) in enumerate(zip(cells, widths, strict=True)):
            if index:
                text.append(" · ", "dim")
            text.append(part.rjust(width), "bold reverse" if full else "")
        texts[key] = text
    return texts


def day_label(day: OccupancyDay, *, first: bool = True) -> Text:
    """'mer 09/12 ■'; dimmed on a closed day and on a day's second and later units."""
    label = f"{WEEKDAYS[day.day.weekday()]} {day.day:%d/%m}"
    if day.closed or not first:
        return Text(label + "  ", "dim")
    return Text(label + (f" {FULL}" if day.some_full else "  "), "bold" if day.some_full else "")


def row_detail(month: OccupancyMonth, day: OccupancyDay, unit_id: int | None = None) -> str:
    """The status lines for the cursor's row: its day × unit, every group in words, then the day's totals."""
    from regie_tui.formatting import long_date

    when = long_date(day.day).rsplit(" ", 1)[0].capitalize()
    if day.closed:
        return f"{when} : fermé — {day.closed}"
    unit = next((u for u in day.units if u.unit_id == unit_id), day.units[0] if day.units else None)
    if unit is None:
        return f"{when} : aucune unité"
    groups = []
    for count in unit.groups:
        name = month.group(count.group_id).name
        if count.capacity is None:
            groups.append(f"{name} {count.booked} (sans limite)")
        else:
            groups.append(f"{name} {count.booked}/{count.capacity}" + (" complet" if count.full else ""))
        if count.waiting:
            groups[-1] += f" +{count.waiting} en attente"
    head = f"{when}, {month.unit(unit.unit_id).name} : {', '.join(groups) or 'aucun groupe'}"
    if len(day.units) < 2:
        return head
    capacity = f" sur {day.capacity}" if day.capacity is not None else ""
    waiting = f", {day.waiting} en attente" if day.waiting else ""
    return f"{head}\nToute la journée : {day.booked} place(s) réservée(s){capacity}{waiting}."


def month_chart(month: OccupancyMonth) -> Text:
    """A vertical bar per day: its places held against its capacity (or against the month's
    busiest day when a group has no limit); under it ■ for a day with a full group, · closed."""
    from regie_tui.services.bookings.occupancy import month_label

    opened = month.open_days
    rated = bool(opened) and all(d.capacity for d in opened)
    busiest = max((d.booked for d in opened), default=0)
    if rated:
        title = f"Taux d'occupation — {month_label(month.month)}"
    else:
        title = f"Places réservées (plus haut : {busiest}) — {month_label(month.month)}"

    def share(day: OccupancyDay) -> float:
        if day.closed:
            return 0.0
        if rated:
            return min(1.0, day.booked / (day.capacity or 1))
        return day.booked / busiest if busiest else 0.0

    eighths = [round(share(d) * CHART_ROWS * 8) for d in month.days]
    text = Text(title + "\n", "bold")
    for row in range(CHART_ROWS, 0, -1):
        if rated:
            text.append({CHART_ROWS: "100%", 1: "  0%"}.get(row, "    ") + " ", "dim")
        else:
            text.append("     ")
        for day, height in zip(month.days, eighths, strict=True):
            filled = max(0, min(8, height - (row - 1) * 8))
            style = "bold reverse" if day.some_full else ""
            text.append(BLOCKS[filled], style if filled else "")
            text.append(" ")
        text.append("\n")
    text.append("     ")
    for day in month.days:
        mark = FULL if day.some_full else ("·" if day.closed else " ")
        text.append(mark + " ", "bold" if day.some_full else "dim")
    text.append("\n     ")
    text.append(" ".join(f"{d.day.day:02d}"[0] for d in month.days), "dim")
    text.append("\n     ")
    text.append(" ".join(f"{d.day.day:02d}"[1] for d in month.days), "dim")
    return text


class OccupancyScreen(RegieScreen):
    """The month of one activity: a table of days × units and a bar plot; ← → change month."""

    HELP_TITLE = "Occupation"
    BINDINGS: ClassVar = [
        # priority: the table would otherwise take PageUp / PageDown to scroll; ← → are left to it
        Binding(
            "pageup,left_square_bracket",
            "month(-1)",
            "Mois préc.",
            id="occupancy-previous",
            tooltip="Le mois précédent",
            priority=True,
        ),
        Binding(
            "pagedown,right_square_bracket",
            "month(1)",
            "Mois suiv.",
            id="occupancy-next",
            tooltip="Le mois suivant",
            priority=True,
        ),
        Binding("t", "this_month", "Ce mois", id="occupancy-today", tooltip="Revenir au mois d'aujourd'hui"),
        Binding("a", "pick_activity", "Activité", id="occupancy-activity", tooltip="Choisir une autre activité"),
        Binding("r", "reload", "Relire", id="occupancy-reload", show=False, tooltip="Relire les réservations"),
        Binding("escape", "back", "Retour", id="occupancy-back", tooltip="Revenir à l'écran précédent"),
    ]
    CSS_PATH = "occupancy.tcss"

    def __init__(self, activity_id: int | None = None, month: date | None = None) -> None:
        super().__init__()
        self.activity_id = activity_id
        self.month = month.replace(day=1) if month is not None else None
        self.shown: OccupancyMonth | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="occupancy-title", markup=False)
        yield Static("", id="occupancy-groups", markup=False)
        with Container(id="occupancy-body"):
            yield DataTable(id="occupancy-table", cursor_type="row", zebra_stripes=True)
            with Vertical(id="occupancy-chart"):
                yield Static("", id="occupancy-plot")
        yield Static("", id="occupancy-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Occupation"
        self.query_one("#occupancy-body").set_class(self.app.size.width >= WIDE, "wide")
        if self.month is None:
            self.month = self.desk.today.replace(day=1)
        self.table.focus()
        if self.activity_id is None:
            self.action_pick_activity()
        else:
            self.refresh_month()

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#occupancy-body").set_class(event.size.width >= WIDE, "wide")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#occupancy-table", DataTable)

    def status(self, text: str) -> None:
        self.query_one("#occupancy-status", Static).update(text)

    # ------------------------------------------------------------------ reading

    def refresh_month(self) -> None:
        activity_id, month = self.activity_id, self.month
        if activity_id is None or month is None:
            return
        self.status("Lecture…")

        def query(session: Db) -> OccupancyMonth:
            from regie_tui.services.bookings.occupancy import occupancy_month

            return occupancy_month(session, activity_id=activity_id, month=month)

        self.load(query, self._show)

    def _show(self, month: OccupancyMonth) -> None:
        from regie_tui.services.bookings.occupancy import month_label

        if month.activity.id != self.activity_id or month.month != self.month:
            return  # the agent moved on meanwhile
        self.shown = month
        full, on_list = len(month.full_days), sum(d.waiting for d in month.days)
        self.query_one("#occupancy-title", Static).update(
            f"{month.activity.name} — {month_label(month.month)} · {full} j. complet(s) {FULL} · "
            f"{on_list} en attente · {len(month.open_days)} j. ouverts"
        )
        names = " · ".join(g.name for g in month.groups) or "aucun groupe"
        self.query_one("#occupancy-groups", Static).update(Text.assemble(("Groupes, dans l'ordre : ", "dim"), names))
        cells = group_cells(month)
        # One row per open day × unit; a closed day: one row, its reason where the places go.
        lines: list[tuple[str, list[Text]]] = []
        for day in month.days:
            if day.closed or not day.units:
                reason = Text(day.closed or "aucune unité", "dim italic")
                lines.append((day.day.isoformat(), [day_label(day), Text(""), reason, Text("")]))
                continue
            for index, unit in enumerate(day.units):
                waiting = Text(f"+{unit.waiting}" if unit.waiting else "", "bold")
                name = Text(month.unit(unit.unit_id).name)
                key = f"{day.day.isoformat()}|{unit.unit_id}"
                lines.append((key, [day_label(day, first=not index), name, cells[(day.day, unit.unit_id)], waiting]))
        # Widths given, not measured by the table later: the month shows whole at once.
        # A closed day's reason widens the places up to CLOSED_WIDTH, beyond it is cut (the
        # status line tells it whole).
        labels = ["Jour", "Unité", "Places par groupe", "Attente"]
        keys = ["day", "unit", "places", "waiting"]
        widths = [
            max(
                [
                    len(label),
                    *(
                        min(line[i].cell_len, CLOSED_WIDTH) if "|" not in key else line[i].cell_len
                        for key, line in lines
                    ),
                ]
            )
            for i, label in enumerate(labels)
        ]
        for key, line in lines:
            if "|" not in key:
                line[2].truncate(widths[2], overflow="ellipsis")
        table = self.table
        table.clear(columns=True)
        for label, key, column_width in zip(labels, keys, widths, strict=True):
            table.add_column(label, key=key, width=column_width)
        for key, line in lines:
            table.add_row(*line, key=key)
        self.query_one("#occupancy-plot", Static).update(month_chart(month))
        self.status(row_detail(month, month.days[0]) if month.days else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        month = self.shown
        if month is None or event.row_key.value is None:
            return
        day_text, _, unit_text = event.row_key.value.partition("|")
        day = next((d for d in month.days if d.day.isoformat() == day_text), None)
        if day is not None:
            self.status(row_detail(month, day, int(unit_text) if unit_text else None))

    # ------------------------------------------------------------------ actions

    def action_month(self, step: int) -> None:
        from regie_tui.services.bookings.occupancy import shift_month

        if self.month is None:
            return
        self.month = shift_month(self.month, step)
        self.refresh_month()

    def action_this_month(self) -> None:
        self.month = self.desk.today.replace(day=1)
        self.refresh_month()

    def action_reload(self) -> None:
        self.refresh_month()

    def action_pick_activity(self) -> None:
        def query(session: Db) -> list[OccupancyActivity]:
            from regie_tui.services.bookings.occupancy import activity_choices

            return activity_choices(session)

        self.load(query, self._ask_activity)

    def _ask_activity(self, activities: list[OccupancyActivity]) -> None:
        if not activities:
            self.status("Aucune activité dans la base.")
            return

        def chosen(value: str | None) -> None:
            if value:
                self.activity_id = int(value)
                self.refresh_month()
            elif self.activity_id is None:
                self.status("Aucune activité choisie — a : choisir une activité.")

        options = [(str(a.id), a.name) for a in activities]
        self.app.push_screen(PickOne("Occupation de quelle activité ?", options), chosen)

    def action_back(self) -> None:
        self.app.pop_screen()
