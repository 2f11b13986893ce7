"""Relances: overdue invoices by age (30 / 60 / 90 days); select some, print their letters and record them."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from regie_tui import formatting
from regie_tui.errors import RegieError
from regie_tui.reports import write_new_file
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import PickOne, ask_date, write_pdf

if TYPE_CHECKING:
    from regie_tui.services.billing.reminders import OverdueInvoice, OverdueReport, RemindersSent
    from regie_tui.workers import Db

SELECTED = "■"
SHORT_BUCKETS = {"30": "30-59 j", "60": "60-89 j", "90": "≥ 90 j"}


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(day: object) -> str:
    """'04/11/26': the table is read at 80 columns."""
    from datetime import date

    return day.strftime("%d/%m/%y") if isinstance(day, date) else ""


class RemindersScreen(RegieScreen):
    """Overdue invoices, oldest due date first; espace selects, a selects a bucket, i prints."""

    HELP_TITLE = "Relances"
    BINDINGS: ClassVar = [
        Binding(
            "space",
            "choose",
            "Choisir",
            key_display="espace",
            id="reminders-toggle",
            tooltip="Choisir ou retirer la facture",
        ),
        Binding(
            "a",
            "select_bucket",
            "Tranche",
            id="reminders-bucket",
            tooltip="Choisir toutes les factures d'une tranche d'âge",
        ),
        Binding(
            "i",
            "print",
            "Imprimer",
            id="reminders-print",
            tooltip="Imprimer les lettres de relance choisies (PDF) et les enregistrer",
        ),
        Binding("d", "type_day", "Date", id="reminders-day", tooltip="Les impayés à une autre date"),
        Binding("ctrl+r", "reload", "Actualiser", show=False, id="reminders-reload", tooltip="Relire la liste"),
        Binding("escape", "back", "Retour", id="reminders-back", tooltip="Revenir à l'écran précédent"),
    ]
    CSS_PATH = "reminders.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.report: OverdueReport | None = None
        self.selected: set[str] = set()
        self.day: date | None = None  # the day the ages are counted at (None: today)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="reminders-head")
        yield DataTable(id="reminders-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="reminders-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Relances"
        self.table.add_column(" ", width=1, key="sel")
        self.table.add_column("Famille", width=12, key="family")
        self.table.add_column("Facture", width=15, key="number")
        self.table.add_column("Échéance", width=8, key="due")
        self.table.add_column("Jours", width=5, key="age")
        self.table.add_column("Solde dû", width=10, key="balance")
        self.table.add_column("Due", width=3, key="level")
        self.table.add_column("Envoyée", width=9, key="last")
        self.table.focus()
        self.refresh_report()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#reminders-table", DataTable)

    # ---------------------------------------------------------------- reading

    def refresh_report(self) -> None:
        day = self.day or self.desk.today

        def query(db: Db) -> OverdueReport:
            from regie_tui.services.billing.reminders import overdue_invoices

            return overdue_invoices(db, on=day)

        self.load(query, self._show)

    def _show(self, report: OverdueReport) -> None:
        self.report = report
        known = {i.number for i in report.invoices}
        self.selected &= known
        table = self.table
        row_before = table.cursor_row
        table.clear()
        for invoice in report.invoices:
            table.add_row(*self._cells(invoice), key=invoice.number)
        buckets = " · ".join(
            f"{SHORT_BUCKETS.get(b.code, b.label)} : {b.count} ({formatting.money(b.total_cents)})"
            for b in report.buckets
        )
        self.query_one("#reminders-head", Static).update(
            Text.assemble(
                (f"Factures impayées au {formatting.short_date(report.on)}", "bold"),
                f" — {formatting.money(report.total_cents)}\n{buckets}",
            )
        )
        if report.invoices:
            table.move_cursor(row=min(max(row_before, 0), len(report.invoices) - 1))
        self._show_status()

    def _cells(self, invoice: OverdueInvoice) -> list[str | Text]:
        level = Text(str(invoice.level_due), justify="center")
        if not invoice.to_send:
            level = Text(f"{invoice.level_due}✓", justify="center", style="dim")
        last = (
            f"{invoice.last_level} {invoice.last_sent_on:%d/%m}" if invoice.last_level and invoice.last_sent_on else "—"
        )
        return [
            SELECTED if invoice.number in self.selected else "",
            _clip(invoice.family_name, 12),
            invoice.number,
            _short(invoice.due_date),
            Text(str(invoice.age_days), justify="right"),
            Text(formatting.money(invoice.balance_cents), justify="right"),
            level,
            last,
        ]

    def _show_status(self) -> None:
        report = self.report
        status = self.query_one("#reminders-status", Static)
        if report is None:
            return
        if not report.invoices:
            status.update("Aucune facture échue depuis 30 jours ou plus.")
            return
        chosen = [i for i in report.invoices if i.number in self.selected]
        total = sum(i.balance_cents for i in chosen)
        text = f"{len(chosen)} choisie{'s' if len(chosen) > 1 else ''} ({formatting.money(total)})"
        current = self.current()
        if current is not None:
            text += f" · {current.debtor_name}"
            if not current.to_send:
                text += f" · relance n° {current.level_due} déjà envoyée"
        status.update(Text(text + "\nespace : choisir · a : une tranche d'âge · i : imprimer les lettres"))

    def current(self) -> OverdueInvoice | None:
        report = self.report
        row = self.table.cursor_row
        if report is None or not 0 <= row < len(report.invoices):
            return None
        return report.invoices[row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_status()

    # -------------------------------------------------------------- selection

    def _mark(self, number: str) -> None:
        self.table.update_cell(number, "sel", SELECTED if number in self.selected else "")

    def action_choose(self) -> None:
        invoice = self.current()
        if invoice is None:
            return
        self.selected.symmetric_difference_update({invoice.number})
        self._mark(invoice.number)
        row = self.table.cursor_row
        if row + 1 < self.table.row_count:
            self.table.move_cursor(row=row + 1)
        self._show_status()

    def action_select_bucket(self) -> None:
        report = self.report
        if report is None or not report.invoices:
            return
        options = [(b.code, f"{b.label} : {b.count} facture{'s' if b.count > 1 else ''}") for b in report.buckets]

        def chosen(code: str | None) -> None:
            if not code or self.report is None:
                return
            numbers = [i.number for i in self.report.invoices if i.bucket == code and i.to_send]
            if not numbers:
                self.notify("Aucune relance à envoyer dans cette tranche.", severity="warning", timeout=5)
                return
            self.selected.update(numbers)
            for number in numbers:
                self._mark(number)
            self._show_status()

        self.app.push_screen(PickOne("Choisir toutes les factures à relancer de la tranche", options), chosen)

    # ---------------------------------------------------------------- printing

    def action_type_day(self) -> None:
        def chosen(day: date) -> None:
            self.day = day
            self.selected.clear()
            self.refresh_report()

        refused = partial(self.notify, severity="error", timeout=6)
        ask_date(self.app, "Impayés au (JJ/MM/AAAA)", self.day or self.desk.today, chosen, refused)

    def action_print(self) -> None:
        report, agent = self.report, self.desk.agent
        if self.day is not None and self.day > self.desk.today:
            self.notify(
                "Une relance part aujourd'hui : revenez à la date du jour (d) pour imprimer.",
                severity="warning",
                timeout=6,
            )
            return
        if report is None or agent is None:
            return
        numbers = [i.number for i in report.invoices if i.number in self.selected]
        if not numbers:
            self.notify(
                "Choisissez d'abord des factures (espace, ou a pour une tranche).", severity="warning", timeout=6
            )
            return
        day = self.desk.today

        def make(db: Db, path: Path) -> RemindersSent:
            from regie_tui.reports.reminder_pdf import reminders_pdf
            from regie_tui.services.billing.reminders import send_reminders

            sent = send_reminders(db, invoice_numbers=numbers, on=day, agent_id=agent.id)
            if not sent.letters:
                raise RegieError("Ces relances sont déjà envoyées : rien à imprimer.")
            write_new_file(path, reminders_pdf(sent.letters))  # in the transaction: no letter, no reminder
            return sent

        def done(sent: RemindersSent, path: Path) -> None:
            count = len(sent.letters)
            message = f"{count} lettre{'s' if count > 1 else ''} de relance écrite{'s' if count > 1 else ''} : {path}"
            if sent.skipped:
                message += f" (déjà envoyées : {', '.join(sent.skipped)})"
            self.notify(message, timeout=8)
            self.selected.clear()
            self.refresh_report()

        write_pdf(
            self, what="les lettres de relance", file_name=f"relances-{day.isoformat()}.pdf", make=make, done=done
        )

    def action_reload(self) -> None:
        self.refresh_report()

    def action_back(self) -> None:
        self.app.pop_screen()
