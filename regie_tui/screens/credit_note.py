"""The credit note (avoir) dialog: cancel an invoice, give some of its lines back, or reduce it.

The reason comes first (required); an amount reduces the invoice without giving
anything back; space ticks, further down, the lines to give back (their days can be billed
again); neither cancels what is left of it. Ctrl+S (or ⏎ in a field) issues it; only a régisseur or an administrator
may (the service refuses the others, in French).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, SelectionList, Static

from regie_tui import formatting, workers

if TYPE_CHECKING:
    from regie_tui.screens.base import Desk
    from regie_tui.services.billing.credit_notes import CreditNoteIssued
    from regie_tui.workers import Db


class CreditNoteDialog(ModalScreen["CreditNoteIssued | None"]):
    """Issue a credit note on one invoice; dismissed with what was issued (None: given up)."""

    CSS_PATH = "credit_note.tcss"
    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Annuler"),
        Binding("ctrl+s", "issue", "Établir l'avoir", priority=True),
    ]

    def __init__(self, invoice_number: str) -> None:
        super().__init__()
        self.invoice_number = invoice_number
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Avoir sur la facture {self.invoice_number}", classes="dialog-title")
            yield Static("Motif (obligatoire) :")
            yield Input(id="credit-reason", compact=True)
            yield Static("Montant de la réduction (vide : toute la facture, ou les lignes cochées) :")
            yield Input(placeholder="par exemple 12,50", id="credit-amount", compact=True)
            yield Static("", id="credit-error")
            yield Static("ctrl+s : établir · Échap : annuler", classes="dialog-hint")
            yield Static("Lignes rendues (espace) — leurs jours pourront être refacturés :")
            yield SelectionList[int](id="credit-lines", compact=True)

    def on_mount(self) -> None:
        number = self.invoice_number

        def lines(session: Db) -> list[tuple[int, str]]:
            from regie_tui.services.billing.credit_notes import creditable_lines

            return [
                (
                    line.id,
                    f"{line.position}. {line.child_first_name} — {line.label[:40]} × {line.quantity} "
                    f"{formatting.money(line.amount_cents)}",
                )
                for line in creditable_lines(session, invoice_number=number)
            ]

        workers.read(self, lines, self._show_lines)
        self.query_one("#credit-reason", Input).focus()

    def _show_lines(self, lines: list[tuple[int, str]]) -> None:
        self.query_one(SelectionList).add_options([(label, line_id) for line_id, label in lines])

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_issue()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_issue(self) -> None:
        if self.busy:
            return
        from regie_tui.errors import RegieError
        from regie_tui.services.common.validation import parse_money

        line_ids = list(self.query_one(SelectionList).selected)
        amount_text = self.query_one("#credit-amount", Input).value.strip()
        reason = self.query_one("#credit-reason", Input).value
        try:
            amount = parse_money(amount_text) if amount_text else None
        except RegieError as error:
            self._error(error.message)
            return
        desk: Desk = self.app  # type: ignore[assignment]
        agent, today, number = desk.agent, desk.today, self.invoice_number
        assert agent is not None

        def issue(session: Db) -> CreditNoteIssued:
            from regie_tui.services.billing.credit_notes import credit_invoice

            return credit_invoice(
                session,
                invoice_number=number,
                reason=reason,
                today=today,
                agent=agent,
                line_ids=line_ids,
                amount_cents=amount,
            )

        self.busy = True
        workers.write(self, issue, self._issued, on_error=self._error)

    def _issued(self, note: CreditNoteIssued) -> None:
        self.busy = False
        text = f"Avoir {note.number} de {formatting.money(note.amount_cents)} établi"
        if note.invoice_cancelled:
            text += " : la facture est annulée"
        self.app.notify(text + ".", timeout=8)
        self.dismiss(note)

    def _error(self, message: str) -> None:
        self.busy = False
        self.query_one("#credit-error", Static).update(message)
