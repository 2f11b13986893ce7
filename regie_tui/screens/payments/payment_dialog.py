"""The payment dialog: a family's payment (régie, mode, amount, cheque, the invoices it pays),
and the way to it from a family's name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, SelectionList, Static

from regie_tui import formatting, workers
from regie_tui.codes import PaymentMode
from regie_tui.errors import RegieError
from regie_tui.screens.base import Desk, RegieScreen
from regie_tui.screens.dialogs import PickOne, TextPrompt

if TYPE_CHECKING:
    from regie_tui.services.families.search import FamilyPage
    from regie_tui.services.payments.account import PaymentContext
    from regie_tui.services.payments.recording import PaymentRecorded
    from regie_tui.workers import Db


def _amount_text(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


class PaymentDialog(ModalScreen["PaymentRecorded | None"]):
    """Record a payment of a family: régie, mode, amount, cheque number and bank, the invoices to pay.

    Every open invoice of the régie is ticked, oldest first: the payment goes to them in
    that order, and what is left stays as the family's credit. ctrl+s records, Échap cancels.
    """

    CSS_PATH = "payments.tcss"
    BINDINGS: ClassVar = [
        Binding("ctrl+s", "save", "Enregistrer", id="pay-save", tooltip="Vérifier et enregistrer le règlement"),
        Binding("escape", "cancel", "Annuler", id="pay-cancel", tooltip="Fermer sans rien enregistrer"),
    ]

    def __init__(self, family_id: int) -> None:
        super().__init__()
        self.family_id = family_id
        self.context: PaymentContext | None = None
        self.auto_amount = ""
        self.saving = False

    def compose(self) -> ComposeResult:
        from regie_tui.services.payments.modes import DESK_MODES, MODE_LABELS

        with Vertical():
            yield Static("Nouveau règlement", id="pay-title")
            yield Static("", id="pay-info")
            with Horizontal(classes="pay-row"):
                yield Label("Régie")
                yield Select[int]([], id="pay-regie", allow_blank=True, compact=True, prompt="…")
            with Horizontal(classes="pay-row"):
                yield Label("Mode")
                yield Select(
                    [(MODE_LABELS[m], m.value) for m in DESK_MODES],
                    id="pay-mode",
                    value=DESK_MODES[0].value,
                    allow_blank=False,
                    compact=True,
                )
            with Horizontal(classes="pay-row"):
                yield Label("Montant (€)")
                yield Input(id="pay-amount", placeholder="12,50", compact=True)
            with Horizontal(classes="pay-row"):
                yield Label("N° / référence")
                yield Input(id="pay-reference", placeholder="numéro du chèque…", compact=True)
            with Horizontal(classes="pay-row"):
                yield Label("Banque")
                yield Input(id="pay-bank", placeholder="banque du chèque", compact=True)
            yield Static("Factures à régler, dans l'ordre (espace : cocher) :")
            yield SelectionList[str](id="pay-invoices", compact=True)
            yield Static("", id="pay-error")
            yield Static("ctrl+s : enregistrer · Échap : annuler", id="pay-hint")

    def on_mount(self) -> None:
        family_id = self.family_id

        def query(db: Db) -> PaymentContext:
            from regie_tui.services.payments.account import payment_context

            return payment_context(db, family_id=family_id)

        workers.read(self, query, self._show, group="pay-load", on_error=self._error)
        self.query_one("#pay-amount", Input).focus()

    def _error(self, message: str) -> None:
        self.query_one("#pay-error", Static).update(message)

    def _show(self, context: PaymentContext) -> None:
        self.context = context
        self.query_one("#pay-title", Static).update(
            escape(f"Nouveau règlement — {context.family_name} (famille n° {context.family_id})")
        )
        regie = self.query_one("#pay-regie", Select)
        regie.set_options([(f"{code} — {name}", rid) for rid, code, name in context.regies])
        if context.default_regie_id:
            regie.value = context.default_regie_id
        self._fill_invoices()

    def _regie_id(self) -> int | None:
        value = self.query_one("#pay-regie", Select).value
        return value if isinstance(value, int) else None

    @on(Select.Changed, "#pay-regie")
    def _regie_changed(self) -> None:
        self._fill_invoices()

    def _fill_invoices(self) -> None:
        context, regie_id = self.context, self._regie_id()
        if context is None:
            return
        listing = self.query_one("#pay-invoices", SelectionList)
        listing.clear_options()
        for invoice in context.invoices:
            if invoice.regie_id == regie_id:
                label = (
                    f"{invoice.number}  {formatting.month_name(invoice.period_start)}  "
                    f"reste {formatting.money(invoice.balance_cents)}"
                )
                listing.add_option((label, invoice.number, True))
        self._update_amount()

    @on(SelectionList.SelectedChanged, "#pay-invoices")
    def _selection_changed(self) -> None:
        self._update_amount()

    def _update_amount(self) -> None:
        context, regie_id = self.context, self._regie_id()
        if context is None or regie_id is None:
            return
        chosen = set(self.query_one("#pay-invoices", SelectionList).selected)
        due = sum(i.balance_cents for i in context.invoices if i.regie_id == regie_id and i.number in chosen)
        credit = context.credits.get(regie_id, 0)
        info = (
            f"Reste dû (factures cochées) : {formatting.money(due)} · crédit de la famille : {formatting.money(credit)}"
        )
        self.query_one("#pay-info", Static).update(info)
        amount = self.query_one("#pay-amount", Input)
        if amount.value == self.auto_amount:
            self.auto_amount = _amount_text(due - credit) if due > credit else ""
            amount.value = self.auto_amount
            amount.select_all()  # the amount proposed: typing another one replaces it

    def action_cancel(self) -> None:
        if not self.saving:
            self.dismiss(None)

    def action_save(self) -> None:
        from regie_tui.services.common.validation import parse_money

        context, regie_id = self.context, self._regie_id()
        desk = cast(Desk, self.app)
        if context is None or regie_id is None or desk.agent is None or self.saving:
            return
        try:
            amount = parse_money(self.query_one("#pay-amount", Input).value)
        except RegieError as error:
            self._error(error.message)
            self.query_one("#pay-amount", Input).focus()
            return
        mode = PaymentMode(str(self.query_one("#pay-mode", Select).value))
        listing = self.query_one("#pay-invoices", SelectionList)
        chosen = set(listing.selected)
        numbers = [i.number for i in context.invoices if i.regie_id == regie_id and i.number in chosen]  # oldest first
        offered = [i.number for i in context.invoices if i.regie_id == regie_id]
        if offered and not numbers:
            self._error("Cochez au moins une facture à régler.")
            listing.focus()
            return
        if numbers == offered:
            numbers = []  # all of them: the oldest first
        reference = self.query_one("#pay-reference", Input).value
        bank = self.query_one("#pay-bank", Input).value
        agent_id, family_id, day = desk.agent.id, context.family_id, desk.today

        def action(db: Db) -> PaymentRecorded:
            from regie_tui.services.payments.recording import record_payment

            return record_payment(
                db,
                family_id=family_id,
                regie_id=regie_id,
                mode=mode,
                amount_cents=amount,
                received_on=day,
                agent_id=agent_id,
                reference=reference,
                bank=bank,
                invoice_numbers=numbers,
            )

        def failed(message: str) -> None:
            self.saving = False
            self._error(message)

        self.saving = True
        self._error("")
        workers.write(self, action, self.dismiss, on_error=failed, group="pay-save")


def recorded_message(done: PaymentRecorded) -> str:
    """What the agent is told once a payment is recorded."""
    parts = [f"Reçu {done.receipt_number} : {formatting.money(done.amount_cents)}."]
    for part in done.allocations:
        parts.append(f"{part.invoice_number} : {formatting.money(part.amount_cents)}")
    if done.credit_left_cents:
        parts.append(f"Crédit de la famille : {formatting.money(done.credit_left_cents)}")
    return "\n".join(parts)


def ask_family_then_pay(screen: RegieScreen, after: Any) -> None:
    """Ask for a family by name (the Familles search), then open the payment dialog for it."""

    def typed(text: str | None) -> None:
        if not text or not text.strip():
            return

        def query(db: Db) -> FamilyPage:
            from regie_tui.services.families.search import search_families

            return search_families(db, text, limit=20)

        screen.load(query, pick)

    def pick(page: FamilyPage) -> None:
        if not page.rows:
            screen.notify("Aucune famille ne correspond.", severity="warning", timeout=5)
            return
        if len(page.rows) == 1:
            pay(str(page.rows[0].id))
            return
        options = [
            (
                str(r.id),
                f"{r.name} — {r.guardians} ({r.city})"
                + (f" · doit {formatting.money(r.balance_cents)}" if r.balance_cents else ""),
            )
            for r in page.rows
        ]
        screen.app.push_screen(PickOne("Famille qui règle", options), pay)

    def pay(value: str | None) -> None:
        if value:
            screen.app.push_screen(PaymentDialog(int(value)), after)

    screen.app.push_screen(TextPrompt("Famille qui règle : nom, téléphone ou n° de facture", ""), typed)
