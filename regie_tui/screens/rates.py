"""Tarifs: the grid of the rates valid on a day (activity / unit × QF bracket); admins edit a cell."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Input, Label, Static

from regie_tui import formatting, workers
from regie_tui.errors import RegieError
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ask_date
from regie_tui.services.trust.access import Permission

if TYPE_CHECKING:
    from regie_tui.services.billing.rates import RateGrid, RateGridRow, RateSet, RateValue
    from regie_tui.workers import Db

LABEL_WIDTH = 26


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class RateForm:
    """What the agent typed in the rate dialog, checked."""

    amount_cents: int
    surcharge_cents: int
    penalty_cents: int
    package_cents: int | None
    valid_from: date
    texts: tuple[str, str, str, str, str]  # as typed, to show them again if the save is refused


class RateDialog(ModalScreen[RateForm | None]):
    """The amounts of one rate and its date of effect; Entrée or ctrl+s saves, Échap cancels."""

    CSS_PATH = "rates.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Annuler", id="rate-cancel", tooltip="Fermer sans enregistrer"),
        Binding("ctrl+s", "save", "Enregistrer", id="rate-save", tooltip="Enregistrer le tarif"),
    ]

    def __init__(
        self,
        title: str,
        texts: tuple[str, str, str, str, str],
        *,
        package: str | None,
        error: str = "",
        focus: str = "rate-amount",
    ) -> None:
        super().__init__()
        self.title_text, self.texts, self.package, self.error = title, texts, package, error
        self.focus_id = focus

    def compose(self) -> ComposeResult:
        amount, surcharge, penalty, package, valid_from = self.texts
        fields = [
            ("rate-amount", "Tarif", amount),
            ("rate-surcharge", "Majoration sans réservation", surcharge),
            ("rate-penalty", "Pénalité absence non justifiée", penalty),
        ]
        if self.package:
            fields.append(("rate-package", f"{self.package} (prix par semaine)", package))
        fields.append(("rate-from", "À partir du (JJ/MM/AAAA)", valid_from))
        with Vertical(classes="dialog"):
            yield Static(escape(self.title_text), classes="dialog-title")
            for field_id, label, value in fields:
                with Horizontal(classes="rate-field"):
                    yield Label(label)
                    yield Input(value, id=field_id, compact=True)
            yield Static(escape(self.error), id="rate-error")
            yield Static(
                "Euros (4,15) · Tab : champ suivant · Entrée : enregistrer · Échap : annuler", classes="dialog-hint"
            )

    def on_mount(self) -> None:
        found = list(self.query(f"#{self.focus_id}").results(Input))
        (found[0] if found else self.query_one("#rate-amount", Input)).focus()

    def _text(self, field_id: str) -> str:
        found = self.query(f"#{field_id}").results(Input)
        return next((i.value for i in found), "")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        from regie_tui.services.common.validation import InvalidValue, parse_date, parse_money

        texts = (
            self._text("rate-amount"),
            self._text("rate-surcharge"),
            self._text("rate-penalty"),
            self._text("rate-package"),
            self._text("rate-from"),
        )
        try:
            form = RateForm(
                amount_cents=parse_money(texts[0], "Tarif", positive=False),
                surcharge_cents=parse_money(texts[1] or "0", "Majoration", positive=False),
                penalty_cents=parse_money(texts[2] or "0", "Pénalité", positive=False),
                package_cents=parse_money(texts[3], "Forfait", positive=False) if self.package else None,
                valid_from=parse_date(texts[4], "Date d'effet"),
                texts=texts,
            )
        except (RegieError, InvalidValue) as error:
            self.query_one("#rate-error", Static).update(escape(error.message))
            return
        self.dismiss(form)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RatesScreen(RegieScreen):
    """The rates valid on a day: one line per unit under its activity, one column per bracket."""

    HELP_TITLE = "Tarifs"
    BINDINGS: ClassVar = [
        Binding("e", "edit", "Modifier", id="rates-edit", tooltip="Modifier le tarif de la case (administrateurs)"),
        Binding("d", "type_day", "Date", id="rates-day", tooltip="Voir les tarifs en vigueur à une autre date"),
        Binding("ctrl+r", "reload", "Actualiser", show=False, id="rates-reload", tooltip="Relire la grille"),
        Binding("escape", "back", "Retour", id="rates-back", tooltip="Revenir à l'écran précédent"),
    ]
    CSS_PATH = "rates.tcss"

    def __init__(self, day: date | None = None) -> None:
        super().__init__()
        self.day = day
        self.grid: RateGrid | None = None
        self.rows: list[RateGridRow | None] = []  # per table row: the unit, None on an activity's title

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="rates-head")
        yield DataTable(id="rates-table", cursor_type="cell", zebra_stripes=True)
        yield Static("", id="rates-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Tarifs"
        if self.day is None:
            self.day = self.desk.today
        self.table.focus()
        self.refresh_grid()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#rates-table", DataTable)

    @property
    def may_edit(self) -> bool:
        agent = self.desk.agent
        return agent is not None and agent.may(Permission.RATES)

    # ---------------------------------------------------------------- reading

    def refresh_grid(self, keep: tuple[int, int] | None = None) -> None:
        day = self.day
        if day is None:
            return

        def query(db: Db) -> RateGrid:
            from regie_tui.services.billing.rates import rate_grid

            return rate_grid(db, on=day)

        self.load(query, lambda grid: self._show(grid, keep))

    def _show(self, grid: RateGrid, keep: tuple[int, int] | None = None) -> None:
        self.grid = grid
        table = self.table
        table.clear(columns=True)
        table.add_column("Activité / unité", width=LABEL_WIDTH, key="label")
        for bracket in grid.brackets:
            table.add_column(bracket.name, width=max(7, len(bracket.name)), key=f"b{bracket.id}")
        self.rows = []
        activity = None
        for row in grid.rows:
            if row.activity_id != activity:
                activity = row.activity_id
                table.add_row(
                    Text(_clip(row.activity_name, LABEL_WIDTH), style="bold"),
                    *("" for _ in grid.brackets),
                    key=f"activity-{row.activity_id}",
                )
                self.rows.append(None)
            cells = [
                Text(formatting.money(cell.amount_cents), justify="right") if cell else Text("—", justify="right")
                for cell in row.cells
            ]
            name = row.unit_name + (" (forfait)" if row.package else "")
            table.add_row(_clip(f"  {name}", LABEL_WIDTH), *cells, key=f"unit-{row.unit_id}")
            self.rows.append(row)
        head = f"Tarifs en vigueur le {formatting.long_date(grid.on)}"
        if not self.may_edit:
            head += "\n[$text-muted]Lecture seule : seuls les administrateurs modifient les tarifs.[/]"
        self.query_one("#rates-head", Static).update(head)
        target_row, target_column = 1 if len(self.rows) > 1 else 0, 1
        if keep is not None:
            unit_id, column = keep
            target_row = next((i for i, r in enumerate(self.rows) if r and r.unit_id == unit_id), target_row)
            target_column = column
        if self.rows:
            table.move_cursor(row=target_row, column=target_column)
        self._show_status()

    def current(self) -> tuple[RateGridRow, int] | None:
        """The unit and the bracket index under the cursor (the label column: the first bracket)."""
        row, column = self.table.cursor_coordinate
        if not 0 <= row < len(self.rows):
            return None
        unit = self.rows[row]
        if unit is None:
            return None
        return unit, max(0, column - 1)

    def on_data_table_cell_highlighted(self, event: DataTable.CellHighlighted) -> None:
        self._show_status()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        self.action_edit()

    def _show_status(self) -> None:
        grid, found = self.grid, self.current()
        status = self.query_one("#rates-status", Static)
        if grid is None:
            return
        if not grid.rows:
            status.update("Aucune activité cette année scolaire.")
            return
        if found is None:
            status.update("Choisissez une unité et une tranche (flèches).")
            return
        unit, index = found
        bracket = grid.brackets[index]
        cell = unit.cells[index]
        head = f"{unit.activity_name} — {unit.unit_name} · {bracket.name} : "
        lines = []
        if cell is None:
            head += "aucun tarif à cette date"
        else:
            head += f"{formatting.money(cell.amount_cents)} depuis le {formatting.short_date(cell.valid_from)}"
            details = [
                f"Majoration sans réservation {formatting.money(cell.unbooked_surcharge_cents)}",
                f"pénalité absence non justifiée {formatting.money(cell.absence_penalty_cents)}",
            ]
            if unit.package:
                package = formatting.money(cell.package_cents) if cell.package_cents is not None else "non fixé"
                details.append(f"{unit.package} {package}")
            lines.append(" · ".join(details))
        locked = grid.locked_until.get(unit.unit_id)
        last = f"Facturé jusqu'au {formatting.short_date(locked)}" if locked else "Aucune facture émise"
        if cell is not None and cell.next_from:
            last = f"Changement le {formatting.short_date(cell.next_from)} · {last[0].lower()}{last[1:]}"
        lines.append(last)
        lines[-1] += " · e : modifier" if self.may_edit else " · lecture seule"
        status.update(Text("\n".join([head, *lines])))

    # ------------------------------------------------------------- navigation

    def action_type_day(self) -> None:
        refused = partial(self.notify, severity="error", timeout=6)

        def chosen(day: date) -> None:
            self.day = day
            self.refresh_grid()

        ask_date(self.app, "Tarifs en vigueur le (JJ/MM/AAAA)", self.day, chosen, refused)

    def action_reload(self) -> None:
        found = self.current()
        self.refresh_grid(keep=(found[0].unit_id, found[1] + 1) if found else None)

    def action_back(self) -> None:
        self.app.pop_screen()

    # ---------------------------------------------------------------- editing

    def action_edit(self) -> None:
        if not self.may_edit:
            self.notify(
                "Seul un administrateur peut modifier les tarifs.", title="Lecture seule", severity="warning", timeout=6
            )
            return
        grid, found = self.grid, self.current()
        if grid is None or found is None:
            return
        unit, index = found
        cell = unit.cells[index]
        texts = _texts(cell, grid.on)
        self._open_dialog(unit, index, texts)

    def _open_dialog(
        self, unit: RateGridRow, index: int, texts: tuple[str, str, str, str, str], error: str = ""
    ) -> None:
        grid = self.grid
        if grid is None:
            return
        bracket = grid.brackets[index]
        title = f"Tarif — {unit.activity_name} · {unit.unit_name} · tranche {bracket.name}"

        def answered(form: RateForm | None) -> None:
            if form is not None:
                self._save(unit, index, form)

        lowered = error.lower()
        focus = "rate-from" if "factur" in lowered else "rate-package" if "forfait" in lowered else "rate-amount"
        self.app.push_screen(RateDialog(title, texts, package=unit.package, error=error, focus=focus), answered)

    def _save(self, unit: RateGridRow, index: int, form: RateForm) -> None:
        grid, agent = self.grid, self.desk.agent
        if grid is None or agent is None:
            return
        bracket_id = grid.brackets[index].id

        def action(db: Db) -> RateSet:
            from regie_tui.services.billing.rates import set_rate

            return set_rate(
                db,
                unit_id=unit.unit_id,
                bracket_id=bracket_id,
                valid_from=form.valid_from,
                amount_cents=form.amount_cents,
                unbooked_surcharge_cents=form.surcharge_cents,
                absence_penalty_cents=form.penalty_cents,
                package_cents=form.package_cents,
                agent_id=agent.id,
            )

        def done(result: RateSet) -> None:
            rate = result.rate
            what = "Nouveau tarif" if result.created else "Tarif corrigé" if result.changed else "Tarif inchangé"
            self.notify(
                f"{what} : {result.unit_name}, tranche {result.bracket_name}, "
                f"{formatting.money(rate.amount_cents)} à partir du {formatting.short_date(rate.valid_from)}.",
                timeout=6,
            )
            self.refresh_grid(keep=(unit.unit_id, index + 1))

        def failed(message: str) -> None:
            self._open_dialog(unit, index, form.texts, error=message)

        workers.write(self, action, done, on_error=failed, group="rates-save")


def _texts(cell: RateValue | None, on: date) -> tuple[str, str, str, str, str]:
    """The dialog's fields for a cell: its amounts, and the grid's day as the date of effect."""
    from regie_tui.services.billing.rates import cents_text

    if cell is None:
        return ("", "0,00", "0,00", "", formatting.short_date(on))
    return (
        cents_text(cell.amount_cents),
        cents_text(cell.unbooked_surcharge_cents),
        cents_text(cell.absence_penalty_cents),
        cents_text(cell.package_cents),
        formatting.short_date(on),
    )
