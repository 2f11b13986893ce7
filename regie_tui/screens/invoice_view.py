"""Facture: one invoice as its PDF shows it (header, lines per child, totals, how to pay); i writes the PDF,
v issues a credit note (avoir) on it.

Opened with Entrée from the family file's Factures tab and from the Facturation screen.
The text scrolls (↑ ↓ PageUp PageDown) at 80×24.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from regie_tui import formatting
from regie_tui.reports import write_new_file
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import write_pdf

if TYPE_CHECKING:
    from regie_tui.services.billing.document import InvoiceDocument
    from regie_tui.workers import Db


def invoice_renderable(doc: InvoiceDocument) -> RenderableType:
    """The invoice in the terminal, in the PDF's order."""
    from regie_tui.services.billing.document import quantity_text

    money = formatting.money
    issuer = doc.issuer
    head = Text()
    head.append(f"Facture n° {doc.number}", "bold")
    head.append(f"  {doc.status_text}\n", "bold reverse" if doc.balance_cents > 0 else "bold")
    head.append(f"{issuer.town} — {issuer.regie_name}\n", "dim")
    head.append(f"Facturé à : {doc.debtor_name}, {doc.debtor_address.replace(chr(10), ', ')}\n")
    head.append(
        f"Émise le {formatting.short_date(doc.issue_date)} · période {doc.period_text}"
        f" · échéance {formatting.short_date(doc.due_date)}"
    )
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=True)
    table.add_column("Détail du calcul", ratio=1, overflow="fold")
    table.add_column("Qté", justify="right", no_wrap=True)
    table.add_column("Prix unit.", justify="right", no_wrap=True)
    table.add_column("Montant", justify="right", no_wrap=True)
    for child in doc.children:
        table.add_row(Text(child.name, "bold"), "", "", "")
        for line in child.lines:
            detail = Text(f" {line.text}")
            if line.dates:
                detail.append(f"\n   jours : {line.dates}", "dim")
            if line.basis:
                detail.append(f"\n   base : {line.basis}", "dim")
            table.add_row(detail, quantity_text(line.quantity), money(line.unit_price_cents), money(line.amount_cents))
        table.add_row(Text(f" Sous-total {child.name}", "italic"), "", "", money(child.subtotal_cents))
    if not doc.children:
        table.add_row("Aucune ligne.", "", "", "")

    totals = Table(box=None, pad_edge=False, show_header=False, expand=True)
    totals.add_column(ratio=1, justify="right")
    totals.add_column(justify="right", no_wrap=True, min_width=12)
    totals.add_row(Text("Total de la facture", "bold"), Text(money(doc.total_cents), "bold"))
    for credit in doc.credit_notes:
        totals.add_row(
            f"Avoir n° {credit.number} du {formatting.short_date(credit.issue_date)}", money(-credit.amount_cents)
        )
    for paid in doc.payments:
        totals.add_row(
            Text(
                f"reçu n° {paid.receipt_number} du {formatting.short_date(paid.received_on)} ({paid.mode_text})", "dim"
            ),
            Text(money(paid.amount_cents), "dim"),
        )
    totals.add_row("Déjà réglé", money(-doc.paid_cents))
    totals.add_row(Text("Reste à payer", "bold"), Text(money(doc.balance_cents), "bold reverse"))

    how = Text("Comment régler\n", "bold")
    how.append("\n".join(doc.how_to_pay), "not bold")
    if doc.payfip is not None:
        payfip = doc.payfip
        how.append(f"\nPayFiP : n° client {payfip.numcli} · référence {payfip.refdet} · exercice {payfip.exer}", "dim")
    return Group(head, table, totals, Text(""), how, Text(""), Text(doc.appeal_notice, "dim"))


class InvoiceScreen(RegieScreen):
    """One invoice, read-only; i writes its PDF, Échap goes back."""

    HELP_TITLE = "Facture"
    BINDINGS: ClassVar = [
        Binding("i", "print", "PDF", id="invoice-print", tooltip="Écrire la facture en PDF"),
        Binding("v", "credit", "Avoir", id="invoice-credit", tooltip="Annuler, rendre des lignes ou réduire (avoir)"),
        Binding("ctrl+r", "reload", "Actualiser", show=False, id="invoice-reload", tooltip="Relire la facture"),
        Binding("escape", "back", "Retour", id="invoice-back", tooltip="Revenir à l'écran précédent"),
    ]
    CSS_PATH = "invoice_view.tcss"

    def __init__(self, number: str) -> None:
        super().__init__()
        self.number = number
        self.document: InvoiceDocument | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="invoice-scroll"):
            yield Static(f"Lecture de la facture {self.number}…", id="invoice-body")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Facture {self.number}"
        self.query_one("#invoice-scroll", VerticalScroll).focus()
        self.action_reload()

    def action_reload(self) -> None:
        number = self.number

        def query(db: Db) -> InvoiceDocument:
            from regie_tui.services.billing.document import invoice_document

            return invoice_document(db, number=number)

        self.load(query, self._show)

    def _show(self, doc: InvoiceDocument) -> None:
        self.document = doc
        self.query_one("#invoice-body", Static).update(invoice_renderable(doc))

    def action_credit(self) -> None:
        from regie_tui.screens.credit_note import CreditNoteDialog

        def issued(note: object) -> None:
            if note is not None:
                self.action_reload()

        self.app.push_screen(CreditNoteDialog(self.number), issued)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_print(self) -> None:
        doc = self.document
        if doc is None:
            return
        from regie_tui.reports.invoice_pdf import invoice_file_name, invoice_pdf_bytes

        write_pdf(
            self,
            what="la facture",
            file_name=invoice_file_name(doc.number),
            make=lambda _db, path: write_new_file(path, invoice_pdf_bytes(doc)),
            done=lambda _, path: self.notify(f"Facture écrite : {path}", timeout=6),
        )
