"""Pointage: the roster of one activity on one day; p / j / n mark the child under the cursor.

Absences show as the planning's legend has them: "a" justified, "A" unjustified.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from regie_tui import clock, formatting, workers
from regie_tui.codes import BookingState
from regie_tui.reports import write_new_file
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import PickOne, TextPrompt, ask_date, write_pdf

if TYPE_CHECKING:
    from regie_tui.services.bookings.attendance import ActivityChoice, Roster, RosterLine, UnitTotals, WalkIn
    from regie_tui.services.bookings.cells import CellCheck
    from regie_tui.workers import Db

#: The state of a line, readable without colour: a glyph and a short word.
STATE_TEXT = {
    BookingState.RESERVED: ("·", "à pointer", ""),
    BookingState.PRESENT: ("✓", "présent", "green"),
    BookingState.PRESENT_SPECIAL: ("+", "prés. spéciale", "green"),
    BookingState.ABSENT_JUSTIFIED: ("a", "abs. justifiée", "yellow"),
    BookingState.ABSENT_UNJUSTIFIED: ("A", "abs. non just.", "red"),
}


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _state_cell(state: BookingState) -> Text:
    glyph, word, colour = STATE_TEXT.get(state, ("?", state.value, ""))
    return Text(f"{glyph} {word}", style=colour)


def _short_totals(name: str, totals: UnitTotals) -> str:
    special = f" (dont {totals.special} spéc.)" if totals.special else ""
    return (
        f"{name} : {totals.booked} rés. · {totals.present} prés.{special} · "
        f"{totals.absent_justified} abs. just. · {totals.absent_unjustified} abs. non just. · "
        f"{totals.not_pointed} à pointer"
    )


class RosterScreen(RegieScreen):
    """The roster of an activity on a day, per unit; the cursor row is the child to point."""

    HELP_TITLE = "Pointage"
    BINDINGS: ClassVar = [
        Binding("p", "mark('present')", "Présent", id="roster-present", tooltip="Marquer présent, puis descendre"),
        Binding(
            "j",
            "mark('absent_justified')",
            "Abs. justifiée",
            id="roster-justified",
            tooltip="Marquer absent (absence justifiée), puis descendre",
        ),
        Binding(
            "n",
            "mark('absent_unjustified')",
            "Abs. non just.",
            id="roster-unjustified",
            tooltip="Marquer absent (absence non justifiée), puis descendre",
        ),
        Binding(
            "plus",
            "walk_in",
            "Sans réservation",
            id="roster-walk-in",
            tooltip="Ajouter un enfant venu sans réservation (présence spéciale)",
        ),
        Binding("i", "print", "Imprimer", id="roster-print", tooltip="Écrire la feuille de présence en PDF"),
        Binding("a", "choose_activity", "Activité", id="roster-activity", tooltip="Choisir l'activité"),
        Binding(
            "left", "shift(-1)", "Veille", show=False, priority=True, id="roster-previous", tooltip="Jour précédent"
        ),
        Binding("right", "shift(1)", "Lendemain", show=False, priority=True, id="roster-next", tooltip="Jour suivant"),
        Binding("t", "today", "Aujourd'hui", show=False, id="roster-today", tooltip="Revenir à aujourd'hui"),
        Binding("d", "type_day", "Date", show=False, id="roster-day", tooltip="Saisir une date (JJ/MM/AAAA)"),
        Binding("ctrl+r", "reload", "Actualiser", show=False, id="roster-reload", tooltip="Relire la liste"),
        Binding("escape", "back", "Retour", id="roster-back", tooltip="Revenir à l'écran précédent"),
    ]
    CSS_PATH = "roster.tcss"

    def __init__(self, activity_id: int | None = None, day: date | None = None) -> None:
        super().__init__()
        self.activity_id = activity_id
        self.day = day
        self.roster: Roster | None = None
        self.rows: list[RosterLine | None] = []  # per table row: the child's line, None on a unit's title
        self.row_units: list[int] = []  # per table row: its unit's id

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="roster-head")
        yield DataTable(id="roster-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="roster-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Pointage"
        if self.day is None:
            self.day = self.desk.today
        self.table.add_columns("Enfant", "Groupe", "Pointage", "Régime / santé", "Peut le chercher")
        self.table.focus()
        if self.activity_id is None:
            self.query_one("#roster-head", Static).update("Choisissez une activité (a).")
            self.action_choose_activity()
        else:
            self.refresh_roster()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#roster-table", DataTable)

    # ---------------------------------------------------------------- reading

    def refresh_roster(self, keep: tuple[int, int] | None = None) -> None:
        """Read the roster again; ``keep`` (unit id, child id) puts the cursor back on a line."""
        activity_id, day = self.activity_id, self.day
        if activity_id is None or day is None:
            return
        agent = self.desk.agent
        assert agent is not None

        def query(db: Db) -> Roster:
            from regie_tui.services.bookings.attendance import roster

            return roster(db, activity_id=activity_id, day=day, agent=agent)

        self.load(query, lambda found: self._show(found, keep))

    def _show(self, roster: Roster, keep: tuple[int, int] | None = None) -> None:
        self.roster = roster
        table = self.table
        table.clear()
        self.rows = []
        self.row_units = []
        for unit in roster.units:
            table.add_row(
                Text(f"{unit.name} {unit.hours}", style="bold"),
                "",
                Text(f"{len(unit.lines)} enfant{'s' if len(unit.lines) > 1 else ''}", style="bold"),
                "",
                "",
                key=f"unit-{unit.id}",
            )
            self.rows.append(None)
            self.row_units.append(unit.id)
            for line in unit.lines:
                table.add_row(
                    _clip(line.child_name, 20),
                    _clip(line.group_name, 10),
                    _state_cell(line.state),
                    _clip(", ".join(line.diets + line.health), 16),
                    ", ".join(line.collectors),
                    key=f"{line.unit_id}-{line.child_id}",
                )
                self.rows.append(line)
                self.row_units.append(unit.id)
        self.sub_title = f"Pointage — {roster.facility_name}"
        head = escape(f"{formatting.long_date(roster.day)} · {roster.activity_name}")
        if roster.closed_reason:
            head += f"\n[$warning]{escape(roster.closed_reason)}[/]"
        self.query_one("#roster-head", Static).update(head)
        self._show_totals()
        target = 0
        if keep is not None:
            target = next((i for i, line in enumerate(self.rows) if line and (line.unit_id, line.child_id) == keep), 0)
        elif any(self.rows):
            target = next(i for i, line in enumerate(self.rows) if line is not None)
        if self.rows:
            table.move_cursor(row=target)

    def _show_totals(self) -> None:
        roster = self.roster
        if roster is None:
            return
        if not roster.units:
            text = "Cette activité n'a aucune unité."
        elif not roster.lines:
            text = "Aucun enfant réservé ce jour-là. + : ajouter un enfant venu sans réservation."
        else:
            text = "\n".join(_short_totals(unit.name, unit.totals) for unit in roster.units)
        self.query_one("#roster-status", Static).update(Text(text))

    def current(self) -> RosterLine | None:
        row = self.table.cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def cursor_unit(self) -> int | None:
        """The unit of the cursor's row (a child's line or a unit's title)."""
        row = self.table.cursor_row
        return self.row_units[row] if 0 <= row < len(self.row_units) else None

    # ------------------------------------------------------------ day, activity

    def action_choose_activity(self) -> None:
        day = self.day or self.desk.today

        def query(db: Db) -> list[tuple[ActivityChoice, str]]:
            """The day's activities, the open ones first, each with why it is closed ('' when open)."""
            from regie_tui.services.bookings.attendance import activities_on
            from regie_tui.services.bookings.opening import opening_calendar

            choices = activities_on(db, day=day)
            opening = opening_calendar(db, activity_ids=[c.id for c in choices], first=day, last=day)
            closed = [(c, opening.closed_reason(day, c.id)) for c in choices]
            return sorted(closed, key=lambda pair: bool(pair[1]))  # stable: by facility and name within

        def chosen(value: str | None) -> None:
            if value:
                self.activity_id = int(value)
                self.refresh_roster()

        def ask(choices: list[tuple[ActivityChoice, str]]) -> None:
            if not choices:
                self.notify(f"Aucune activité le {formatting.short_date(day)}.", severity="warning", timeout=5)
                return
            options = [
                (str(c.id), f"{c.name} — {c.facility_name}" + (f" (fermé : {closed})" if closed else ""))
                for c, closed in choices
            ]
            self.app.push_screen(PickOne(f"Activité à pointer le {formatting.short_date(day)}", options), chosen)

        self.load(query, ask)

    def _go_to(self, day: date) -> None:
        self.day = day
        if self.activity_id is None:
            self.action_choose_activity()
        else:
            self.refresh_roster()

    def action_shift(self, days: int) -> None:
        self._go_to((self.day or self.desk.today) + timedelta(days=days))

    def action_today(self) -> None:
        self._go_to(self.desk.today)

    def action_type_day(self) -> None:
        refused = partial(self.notify, severity="error", timeout=6)
        ask_date(self.app, "Jour à pointer (JJ/MM/AAAA)", self.day, self._go_to, refused)

    def action_reload(self) -> None:
        line = self.current()
        self.refresh_roster(keep=(line.unit_id, line.child_id) if line else None)

    def action_back(self) -> None:
        self.app.pop_screen()

    # ---------------------------------------------------------------- writing

    def _write_mark(
        self,
        *,
        child_id: int,
        unit_id: int,
        state: BookingState,
        reason: str = "",
        after: Callable[[CellCheck], None],
    ) -> None:
        agent, day, now = self.desk.agent, self.day, clock.now()
        if agent is None or day is None:
            return

        def action(db: Db) -> CellCheck:
            from regie_tui.services.bookings.attendance import mark

            return mark(
                db, child_id=child_id, day=day, unit_id=unit_id, state=state, agent=agent, now=now, reason=reason
            )

        def done(check: CellCheck) -> None:
            if check.overridable == "lock" and not reason:
                self._ask_reason(
                    check.rule,
                    lambda text: self._write_mark(
                        child_id=child_id, unit_id=unit_id, state=state, reason=text, after=after
                    ),
                )
                return
            if not check.allowed:
                self.notify(check.rule, title="Pointage refusé", severity="error", timeout=8)
            after(check)

        def failed(message: str) -> None:
            self.notify(message, title="Rien n'a été enregistré", severity="error", timeout=10)

        workers.write(self, action, done, on_error=failed, group="roster-mark")

    def _ask_reason(self, rule: str, then: Callable[[str], None]) -> None:
        def given(text: str | None) -> None:
            if text and text.strip():
                then(text.strip())

        self.app.push_screen(TextPrompt(f"{rule}. Motif :", ""), given)

    def action_mark(self, state_name: str) -> None:
        line = self.current()
        if line is None:
            return
        row = self.table.cursor_row
        key = (line.unit_id, line.child_id)
        self._move_down(row)

        def after(check: CellCheck) -> None:
            if check.allowed:
                self._update_line(key, check.state or BookingState(state_name))

        self._write_mark(child_id=line.child_id, unit_id=line.unit_id, state=BookingState(state_name), after=after)

    def _move_down(self, row: int) -> None:
        following = next((i for i in range(row + 1, len(self.rows)) if self.rows[i] is not None), None)
        if following is not None:
            self.table.move_cursor(row=following)

    def _update_line(self, key: tuple[int, int], state: BookingState) -> None:
        """Show the new state at once, then read the roster again for its totals."""
        index = next((i for i, line in enumerate(self.rows) if line and (line.unit_id, line.child_id) == key), None)
        if index is not None:
            table = self.table
            table.update_cell_at(table.cursor_coordinate._replace(row=index, column=2), _state_cell(state))
        current = self.current()
        self.refresh_roster(keep=(current.unit_id, current.child_id) if current else None)

    def action_walk_in(self) -> None:
        """A child come without a booking: found by name, then (if several are free) a unit; marked present."""
        roster, day = self.roster, self.day
        if roster is None or day is None:
            return
        activity_id, cursor_unit = roster.activity_id, self.cursor_unit()

        def typed(text: str | None) -> None:
            from regie_tui.services.bookings.attendance import walk_in_candidates

            if text and text.strip():
                self.load(
                    lambda db: walk_in_candidates(db, activity_id=activity_id, day=day, text=text),
                    lambda found: self._pick_walk_in(found, cursor_unit),
                )

        self.app.push_screen(TextPrompt("Enfant venu sans réservation : nom ou prénom", ""), typed)

    def _pick_walk_in(self, found: list[WalkIn], cursor_unit: int | None) -> None:
        if not found:
            self.notify("Aucun enfant inscrit et non réservé ne correspond.", severity="warning", timeout=6)
            return
        by_id = {str(w.child_id): w for w in found}
        options = [
            (str(w.child_id), f"{w.last_name} {w.first_name} — {w.group_name} (famille {w.family_name})") for w in found
        ]

        def picked(value: str | None) -> None:
            if value:
                self._walk_in_unit(by_id[value], cursor_unit)

        self.app.push_screen(PickOne("Enfant venu sans réservation", options), picked)

    def _walk_in_unit(self, walk_in: WalkIn, cursor_unit: int | None) -> None:
        if len(walk_in.free_units) == 1:
            self._add_walk_in(walk_in, walk_in.free_units[0][0])
            return
        # The cursor's unit first: Entrée takes it; another is a move of the cursor away.
        units = sorted(walk_in.free_units, key=lambda unit: unit[0] != cursor_unit)
        options = [(str(unit_id), name) for unit_id, name in units]

        def picked(value: str | None) -> None:
            if value:
                self._add_walk_in(walk_in, int(value))

        self.app.push_screen(PickOne(f"Unité pour {walk_in.first_name} {walk_in.last_name}", options), picked)

    def _add_walk_in(self, walk_in: WalkIn, unit_id: int) -> None:
        def after(check: CellCheck) -> None:
            if check.allowed:
                self.notify(f"{walk_in.first_name} {walk_in.last_name} : présence spéciale.", timeout=5)
                self.refresh_roster(keep=(unit_id, walk_in.child_id))

        self._write_mark(child_id=walk_in.child_id, unit_id=unit_id, state=BookingState.PRESENT, after=after)

    def action_print(self) -> None:
        roster = self.roster
        if roster is None:
            return
        now = clock.now()

        def make(db: Db, path: Path) -> None:
            from regie_tui.reports.roster_pdf import roster_pdf
            from regie_tui.services.bookings.attendance import town_name

            write_new_file(path, roster_pdf(roster, town_name=town_name(db), printed_at=now))

        write_pdf(
            self,
            what="la feuille de présence",
            file_name=f"feuille-presence-{roster.activity_id}-{roster.day.isoformat()}.pdf",
            make=make,
            done=lambda _, path: self.notify(f"Feuille de présence écrite : {path}", timeout=6),
        )
