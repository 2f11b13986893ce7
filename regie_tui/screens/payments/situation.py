"""A family's situation financière at a date: its invoices, its payments, the balance due and its credit."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from regie_tui import formatting
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ask_date
from regie_tui.screens.payments.journal import STATE_MARK, clip
from regie_tui.screens.payments.payment_dialog import PaymentDialog, recorded_message

if TYPE_CHECKING:
    from regie_tui.services.payments.recording import PaymentRecorded
    from regie_tui.services.payments.situation import FinancialSituation
    from regie_tui.workers import Db

SITUATION_INVOICE_COLUMNS = (
    ("Facture", 15),
    ("Émise", 10),
    ("Échéance", 12),
    ("Total", 11),
    ("Payé", 11),
    ("Avoir", 11),
    ("Reste", 11),
)
SITUATION_PAYMENT_COLUMNS = (("Reçu", 15), ("Reçu le", 10), ("Mode", 16), ("Montant", 11), ("État", 10))


class FinancialSituationScreen(RegieScreen):
    """A family's situation financière at a date (today at first): invoices, payments, balance due, credit."""

    HELP_TITLE = "Situation financière"
    BINDINGS: ClassVar = [
        Binding("n", "new", "Règlement", id="situation-pay", tooltip="Enregistrer un règlement de la famille"),
        Binding("d", "type_day", "Date", id="situation-day", tooltip="La situation à une autre date"),
        Binding("escape", "back", "Retour", id="situation-back", tooltip="Revenir à l'écran précédent"),
    ]
    CSS_PATH = "payments.tcss"

    def __init__(self, family_id: int) -> None:
        super().__init__()
        self.family_id = family_id
        self.day: date | None = None  # None: today

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="situation-head")
        yield DataTable(id="situation-invoices", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="situation-payments", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Situation financière"
        self.refresh_situation()

    def action_type_day(self) -> None:
        def chosen(day: date) -> None:
            self.day = day
            self.refresh_situation()

        refused = partial(self.notify, severity="error", timeout=6)
        ask_date(self.app, "Situation au (JJ/MM/AAAA)", self.day or self.desk.today, chosen, refused)

    def refresh_situation(self) -> None:
        family_id, on_day = self.family_id, self.day or self.desk.today

        def query(db: Db) -> FinancialSituation:
            from regie_tui.services.payments.situation import family_situation

            return family_situation(db, family_id=family_id, on=on_day)

        self.load(query, self._show)

    def _show(self, situation: FinancialSituation) -> None:
        head = (
            f"{situation.family_name} — au {formatting.short_date(situation.on)} : "
            f"{situation.unpaid_count} facture(s) à régler, reste dû {formatting.money(situation.due_cents)}"
        )
        if situation.credit_cents:
            head += f", crédit {formatting.money(situation.credit_cents)}"
        self.query_one("#situation-head", Static).update(escape(head))
        # Columns of fixed widths: a number or an amount is never cut, whenever the rows come.
        invoices = self.query_one("#situation-invoices", DataTable)
        invoices.clear(columns=True)
        for name, width in SITUATION_INVOICE_COLUMNS:
            invoices.add_column(name, width=width)
        for i in situation.invoices:
            rest = Text(formatting.money(i.balance_cents), style="bold red" if i.overdue else "")
            invoices.add_row(
                i.number,
                formatting.short_date(i.issue_date),
                formatting.short_date(i.due_date) + (" !" if i.overdue else ""),
                formatting.money(i.total_cents),
                formatting.money(i.paid_cents),
                formatting.money(i.credited_cents) if i.credited_cents else "",
                rest,
            )
        payments = self.query_one("#situation-payments", DataTable)
        payments.clear(columns=True)
        for name, width in SITUATION_PAYMENT_COLUMNS:
            payments.add_column(name, width=width)
        for p in situation.payments:
            payments.add_row(
                p.receipt_number,
                formatting.short_date(p.received_on),
                clip(p.mode_label, 16),
                formatting.money(p.amount_cents),
                STATE_MARK[p.state],
            )
        invoices.focus()

    def action_new(self) -> None:
        def after(done: PaymentRecorded | None) -> None:
            if done is not None:
                self.notify(recorded_message(done), title="Règlement enregistré", timeout=8)
                self.refresh_situation()

        self.app.push_screen(PaymentDialog(self.family_id), after)

    def action_back(self) -> None:
        self.app.pop_screen()
