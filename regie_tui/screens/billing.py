"""Facturation: the monthly invoicing run of a régie — preview, anomalies, then issue.

The screen opens on the current month of the first régie. `a` runs the preview (the
whole run, rolled back: nothing is issued, no number is taken), with a progress bar; the
table lists per family the lines and the total, the line above it the anomalies counted.
`e` issues the run after a confirmation (one transaction: all or nothing); ⏎ on a family
opens its invoice once issued (or its file before). `l` lists the anomalies one by one,
`m` another month, `s` another régie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, ProgressBar, Static

from regie_tui import clock, formatting, workers
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen, PickOne, TextPrompt
from regie_tui.services.billing.invoicing import month_last_day

if TYPE_CHECKING:
    from regie_tui.services.billing.invoicing import MonthRun
    from regie_tui.workers import Db


class BillingScreen(RegieScreen):
    """Facturation (F7)."""

    CSS_PATH = "billing.tcss"
    BINDINGS: ClassVar = [
        Binding("a", "preview", "Aperçu", id="billing-preview", tooltip="Calculer sans rien émettre"),
        Binding("e", "issue", "Émettre", id="billing-issue", tooltip="Émettre les factures du mois"),
        Binding("l", "anomalies", "Anomalies", id="billing-anomalies", tooltip="La liste des anomalies du mois"),
        Binding("m", "month", "Mois", id="billing-month", tooltip="Choisir le mois facturé"),
        Binding("s", "regie", "Régie", id="billing-regie", tooltip="Choisir la régie"),
        Binding("enter", "open", "Ouvrir", id="billing-open", show=False, tooltip="La facture ou la fiche"),
        Binding("escape", "app.dashboard", "Retour", id="billing-back", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.regie_code = ""
        self.regies: list[tuple[str, str]] = []  # (code, name)
        self.month = clock.today().replace(day=1)
        self.run: MonthRun | None = None
        self.issued = False
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("", id="billing-head")
            yield ProgressBar(total=5, show_eta=False, id="billing-progress")
            yield Static("", id="billing-anomalies")
            yield DataTable(id="billing-families", cursor_type="row", zebra_stripes=True)
            yield Static("", id="billing-status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = "Facturation"
        self.month = self.desk.today.replace(day=1)
        self.load(_regies, self._got_regies)

    def _got_regies(self, regies: list[tuple[str, str]]) -> None:
        self.regies = regies
        if regies and not self.regie_code:
            self.regie_code = regies[0][0]
        self._show()

    # --- display ---------------------------------------------------------------------------

    def _regie_name(self) -> str:
        return next((name for code, name in self.regies if code == self.regie_code), self.regie_code)

    def _show(self) -> None:
        head = f"{self._regie_name()} ({self.regie_code}) — {formatting.month_name(self.month)}"
        run = self.run
        if run is None:
            head += "\na : aperçu de la facturation · m : mois · s : régie"
        elif not run.families:
            head += "\nRien à facturer : aucune prestation non facturée."
        else:
            state = f"émises, n° {run.first_number} à {run.last_number}" if self.issued else "aperçu, rien n'est émis"
            head += f"\n{run.invoice_count} facture(s), {formatting.money(run.total_cents)} — {state}"
            if run.billed_until < month_last_day(run.month):
                head += f"\nMois en cours : jours facturés jusqu'au {formatting.short_date(run.billed_until)}."
        self.query_one("#billing-head", Static).update(head)
        anomalies = ""
        if run is not None:
            counted = [f"{kind} : {n}" for kind, n in run.anomaly_counts.items() if n]
            anomalies = "Anomalies — " + " · ".join(counted) if counted else "Aucune anomalie."
        self.query_one("#billing-anomalies", Static).update(anomalies)
        table = self.query_one(DataTable)
        table.clear(columns=True)  # the columns fit what they show now (numbers once issued)
        table.add_columns("Famille", "Facture", "Lignes", "Total")
        for family in run.families if run else []:
            table.add_row(
                family.family_name[:28],
                family.number if self.issued else "—",
                Text(str(len(family.lines)), justify="right"),
                Text(formatting.money(family.total_cents), justify="right"),
                key=str(family.family_id),
            )
        self._status()

    def _status(self) -> None:
        table = self.query_one(DataTable)
        text = ""
        if self.run and self.run.families and 0 <= table.cursor_row < len(self.run.families):
            family = self.run.families[table.cursor_row]
            opens = "la facture" if self.issued else "la fiche famille"
            text = f"{family.debtor_name} · {formatting.money(family.total_cents)} · ⏎ {opens}"
        self.query_one("#billing-status", Static).update(text)

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._status()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    # --- actions ---------------------------------------------------------------------------

    def _progress(self, done: int, total: int, label: str) -> None:
        def show() -> None:
            self.query_one(ProgressBar).update(total=total, progress=done)
            self.query_one("#billing-status", Static).update(f"{label}…")

        self.app.call_from_thread(show)

    def _run(self, *, issue: bool) -> None:
        """The run in a worker: rolled back (the preview) or issued."""
        self.busy = True
        self.query_one(ProgressBar).update(total=5, progress=0)
        regie_code, month, today, agent = self.regie_code, self.month, self.desk.today, self.desk.agent
        assert agent is not None

        def run(session: Db) -> MonthRun:
            from regie_tui.services.billing.invoicing import bill_month, preview_month

            return (bill_month if issue else preview_month)(
                session,
                regie_code=regie_code,
                month=month,
                today=today,
                agent=agent,
                progress=self._progress,
            )

        # The preview writes too (then rolls back): both go the writers' way (one writer at a time).
        workers.write(self, run, self._issued if issue else self._previewed, on_error=self._failed, group="billing")

    def action_preview(self) -> None:
        if self.busy or not self.regie_code:
            return
        self.issued, self.run = False, None
        self._run(issue=False)

    def _previewed(self, run: MonthRun) -> None:
        self.busy, self.run = False, run
        self._show()

    def _failed(self, message: str) -> None:
        self.busy = False
        self.query_one("#billing-status", Static).update(message)
        self.notify(message, severity="error", timeout=8)

    def action_issue(self) -> None:
        if self.busy:
            return
        if self.run is None or self.issued:
            self.notify("Lancez d'abord l'aperçu (a) : il montre ce qui sera émis.", severity="warning")
            return
        if not self.run.families:
            self.notify("Rien à facturer.", severity="warning")
            return
        run = self.run
        question = (
            f"Émettre {run.invoice_count} facture(s) de {formatting.month_name(run.month)} pour "
            f"{formatting.money(run.total_cents)} ({run.regie_code}) ? Une facture émise ne se modifie plus "
            "(seul un avoir la corrige)."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(issue=True)

        self.app.push_screen(ConfirmScreen(question, confirm="Émettre"), answered)

    def _issued(self, run: MonthRun) -> None:
        self.busy, self.run, self.issued = False, run, True
        self._show()
        if run.families:
            self.notify(f"{run.invoice_count} facture(s) émise(s) : {run.first_number} à {run.last_number}.", timeout=8)
        else:
            self.notify("Rien n'a été émis : tout était déjà facturé (un autre poste l'a peut-être fait).")

    def action_open(self) -> None:
        if self.run is None or not self.run.families:
            return
        row = self.query_one(DataTable).cursor_row
        if not 0 <= row < len(self.run.families):
            return
        family = self.run.families[row]
        if self.issued:
            from regie_tui.screens.invoice_view import InvoiceScreen

            self.app.push_screen(InvoiceScreen(family.number))
        else:
            self.desk.open_family(family.family_id)

    def action_anomalies(self) -> None:
        if self.run is None:
            self.notify("Lancez d'abord l'aperçu (a).", severity="warning")
            return

        def chosen(family_id: int | None) -> None:
            if family_id is not None:
                self.desk.open_family(family_id)

        self.app.push_screen(AnomaliesScreen(self.run), chosen)

    def action_month(self) -> None:
        def chosen(value: str | None) -> None:
            if not value:
                return
            from regie_tui.errors import RegieError
            from regie_tui.services.billing.invoicing import month_of

            try:
                self.month = month_of(value)
            except RegieError as error:
                self.notify(error.message, severity="error")
                return
            self.run, self.issued = None, False
            self._show()

        self.app.push_screen(TextPrompt("Mois facturé (AAAA-MM)", f"{self.month:%Y-%m}"), chosen)

    def action_regie(self) -> None:
        def chosen(value: str | None) -> None:
            if value:
                self.regie_code, self.run, self.issued = value, None, False
                self._show()

        self.app.push_screen(PickOne("Régie", [(code, f"{name} ({code})") for code, name in self.regies]), chosen)


def _regies(session: Db) -> list[tuple[str, str]]:
    from regie_tui.services.common.regies import all_regies

    return [(code, name) for _, code, name in all_regies(session)]


class AnomaliesScreen(ModalScreen[int | None]):
    """The run's anomalies one by one (up to ANOMALY_LIST_MAX a kind); ⏎ opens the family's file."""

    CSS_PATH = "billing.tcss"
    BINDINGS: ClassVar = [Binding("escape", "cancel", "Fermer")]

    def __init__(self, run: MonthRun) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        counted = " · ".join(f"{kind} : {n}" for kind, n in self.run.anomaly_counts.items() if n)
        with Vertical(classes="dialog"):
            yield Static(f"Anomalies — {counted or 'aucune'}", classes="dialog-title")
            yield DataTable(id="anomalies", cursor_type="row", zebra_stripes=True)
            yield Static("⏎ : la fiche famille · Échap : fermer", classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Anomalie", "Famille", "Détail")
        for anomaly in self.run.anomalies:
            table.add_row(anomaly.kind, anomaly.family_name[:20], anomaly.text)
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.run.anomalies):
            self.dismiss(self.run.anomalies[event.cursor_row].family_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
