"""Factures: the family's invoices with their balance and state (a direct debit's too)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable

from regie_tui import formatting
from regie_tui.labels import INVOICE_STATUS, label
from regie_tui.screens.base import Desk
from regie_tui.screens.family.pane import FilePane
from regie_tui.services.payments.sepa.batches import collection_text

if TYPE_CHECKING:
    from regie_tui.services.billing.accounts import InvoiceRow
    from regie_tui.services.families.file import FamilyDetail


class InvoicesPane(FilePane):
    def __init__(self) -> None:
        super().__init__("4 Factures", id="factures")

    def compose(self) -> ComposeResult:
        yield DataTable(id="invoices", cursor_type="row")

    def show(self, detail: FamilyDetail) -> None:
        money = formatting.money
        self.fill(
            "#invoices",
            # What fits 80 columns; ⏎ shows the invoice whole (payments, credit notes), s the situation.
            ("Numéro", "Période", "Échéance", "Montant", "Solde", "État"),
            [
                (
                    i.number,
                    f"{i.period_start:%m/%Y}",
                    formatting.short_date(i.due_date),
                    Text(money(i.total_cents), justify="right"),
                    Text(money(i.balance_cents), justify="right"),
                    self._state(detail, i),
                )
                for i in detail.invoices
            ],
            empty="Aucune facture.",
        )

    def _state(self, detail: FamilyDetail, invoice: InvoiceRow) -> str:
        collected = detail.collections.get(invoice.id)
        if collected is not None and invoice.status == "issued":
            return collection_text(collected, cast(Desk, self.app).today)
        return (
            label(INVOICE_STATUS, invoice.status) if invoice.balance_cents or invoice.status != "issued" else "Soldée"
        )
