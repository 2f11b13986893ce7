"""Encaissements: the day's cash journal per régie; a payment dialog; a family's financial situation."""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Input, Label, Select, SelectionList, Static

from regie_tui import clock, formatting, workers
from regie_tui.errors import RegieError
from regie_tui.reports import write_new_file
from regie_tui.screens.base import Desk, RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen, PickOne, TextPrompt, ask_date, write_pdf

if TYPE_CHECKING:
    from sqlmodel import Session

    from regie_tui.services.families.search import FamilyPage
    from regie_tui.services.payments.ledger import (
        CashJournal,
        FinancialSituation,
        JournalLine,
        PaymentContext,
        PaymentRecorded,
    )

STATE_MARK = {"": "", "annulé": "× annulé", "rejeté": "! rejeté"}
#: Modes in eight columns, for the journal at 80 columns.
MODE_SHORT = {
    "cash": "Espèces",
    "cheque": "Chèque",
    "card": "Carte",
    "transfer": "Virement",
    "cesu": "CESU",
    "ancv": "ANCV",
    "payfip": "PayFiP",
    "direct_debit": "Prélèv.",
}


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _amount_text(cents: int) -> str:
    return f"{cents // 100},{cents % 100:02d}"


# ------------------------------------------------------------------ the dialog


class PaymentDialog(ModalScreen["PaymentRecorded | None"]):
    """Record a payment of a family: régie, mode, amount, cheque number and bank, the invoices to pay.

    Every open invoice of the régie is ticked, oldest first: the payment goes to them in
    that order, and what is left stays as the family's credit. ctrl+s records, Échap cancels.
    """

    DEFAULT_CSS = """
    PaymentDialog { align: center middle; }
    PaymentDialog > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $panel; padding: 0 1;
    }
    PaymentDialog .pay-row { height: 1; margin-bottom: 1; }
    PaymentDialog .pay-row Label { width: 16; color: $text-muted; }
    PaymentDialog .pay-row Input, PaymentDialog .pay-row Select { width: 1fr; }
    PaymentDialog #pay-title { text-style: bold; }
    PaymentDialog #pay-invoices { height: auto; max-height: 6; }
    PaymentDialog #pay-error { color: $error; text-style: bold; height: auto; }
    PaymentDialog #pay-hint { color: $text-muted; }
    """
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
        from regie_tui.services.payments.ledger import DESK_MODES, MODE_LABELS

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

        def query(db: Session) -> PaymentContext:
            from regie_tui.services.payments.ledger import payment_context

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
        from regie_tui.models import PaymentMode
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

        def action(db: Session) -> PaymentRecorded:
            from regie_tui.services.payments.ledger import record_payment

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

        def query(db: Session) -> FamilyPage:
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


# ------------------------------------------------------------------ the journal


class PaymentsScreen(RegieScreen):
    """Encaissements: the cash journal of a day, every régie; n records a payment."""

    HELP_TITLE = "Encaissements"
    BINDINGS: ClassVar = [
        Binding("n", "new", "Nouveau", id="pay-new", tooltip="Enregistrer un règlement (famille, puis le règlement)"),
        Binding("a", "cancel_payment", "Annuler", id="pay-cancel-line", tooltip="Annuler le règlement, avec un motif"),
        Binding("i", "print", "Reçu PDF", id="pay-print", tooltip="Écrire le reçu du règlement en PDF"),
        Binding("c", "close_day", "Clore", id="pay-close", tooltip="Clore la journée de caisse (régisseur)"),
        Binding("left", "shift(-1)", "Veille", show=False, priority=True, id="pay-previous", tooltip="Jour précédent"),
        Binding("right", "shift(1)", "Lendemain", show=False, priority=True, id="pay-next", tooltip="Jour suivant"),
        Binding("t", "today", "Aujourd'hui", show=False, id="pay-today", tooltip="Revenir à aujourd'hui"),
        Binding("d", "type_day", "Date", show=False, id="pay-day", tooltip="Saisir une date (JJ/MM/AAAA)"),
        Binding("ctrl+r", "reload", "Actualiser", show=False, id="pay-reload", tooltip="Relire le journal"),
        Binding("escape", "back", "Retour", id="pay-back", tooltip="Revenir à l'écran précédent"),
    ]
    DEFAULT_CSS = """
    #pay-head { height: auto; padding: 0 1; text-style: bold; }
    #pay-table { height: 1fr; }
    #pay-totals { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, day: date | None = None) -> None:
        super().__init__()
        self.day = day
        self.journal: CashJournal | None = None
        self.rows: list[JournalLine | None] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="pay-head")
        yield DataTable(id="pay-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="pay-totals")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Encaissements"
        if self.day is None:
            self.day = self.regie.today
        self.table.add_columns("Reçu", "Famille", "Mode", "Montant", "Caisse", "État / réf.")
        self.table.fixed_columns = 1
        self.table.focus()
        self.refresh_journal()

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one("#pay-table", DataTable)

    def refresh_journal(self, keep: str | None = None) -> None:
        day = self.day
        if day is None:
            return

        def query(db: Session) -> CashJournal:
            from regie_tui.services.payments.ledger import cash_journal

            return cash_journal(db, day=day)

        self.load(query, lambda found: self._show(found, keep))

    def _show(self, journal: CashJournal, keep: str | None = None) -> None:
        self.journal = journal
        table = self.table
        table.clear()
        self.rows = []
        for regie in journal.regies:
            state = "close" if regie.closed else "ouverte"
            table.add_row(
                Text(regie.code, style="bold"),
                Text(_clip(regie.name, 12), style="bold"),
                Text(state, style="bold"),
                Text(formatting.money(regie.total_cents), style="bold", justify="right"),
                "",
                Text(f"{regie.count} règl.", style="bold"),
                key=f"regie-{regie.regie_id}",
            )
            self.rows.append(None)
            for line in regie.lines:
                detail = STATE_MARK[line.state] or line.reference or line.payer_name
                style = "strike" if line.state == "annulé" else ""
                table.add_row(
                    line.receipt_number,
                    _clip(line.family_name, 12),
                    MODE_SHORT[line.mode.value],
                    Text(formatting.money(line.amount_cents), style=style, justify="right"),
                    Text(formatting.money(line.running_cents), justify="right"),
                    _clip(detail, 12),
                    key=line.receipt_number,
                )
                self.rows.append(line)
        closed = "; ".join(f"{r.code} close par {r.closed_by}" for r in journal.regies if r.closed)
        self.query_one("#pay-head", Static).update(
            escape(f"Journal de caisse du {formatting.long_date(journal.day)}" + (f" ({closed})" if closed else ""))
        )
        totals = " · ".join(f"{t.label} {t.count} : {formatting.money(t.total_cents)}" for t in journal.totals)
        self.query_one("#pay-totals", Static).update(
            Text(
                (totals + "\n" if totals else "Aucun règlement ce jour-là. n : enregistrer un règlement.\n")
                + f"Total du jour : {journal.count} règlement{'s' if journal.count > 1 else ''}, "
                f"{formatting.money(journal.total_cents)}"
            )
        )
        target = next((i for i, line in enumerate(self.rows) if line and line.receipt_number == keep), None)
        if target is None:
            target = next((i for i, line in enumerate(self.rows) if line is not None), 0)
        if self.rows:
            table.move_cursor(row=target)

    def current(self) -> JournalLine | None:
        row = self.table.cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    # ------------------------------------------------------------------ days

    def _go_to(self, day: date) -> None:
        self.day = day
        self.refresh_journal()

    def action_shift(self, days: int) -> None:
        self._go_to((self.day or self.regie.today) + timedelta(days=days))

    def action_today(self) -> None:
        self._go_to(self.regie.today)

    def action_type_day(self) -> None:
        refused = partial(self.notify, severity="error", timeout=6)
        ask_date(self.app, "Journal du jour (JJ/MM/AAAA)", self.day, self._go_to, refused)

    def action_reload(self) -> None:
        line = self.current()
        self.refresh_journal(keep=line.receipt_number if line else None)

    def action_back(self) -> None:
        self.app.pop_screen()

    # --------------------------------------------------------------- actions

    def action_new(self) -> None:
        if self.day != self.regie.today:
            self.notify(
                "Un règlement s'enregistre sur la journée d'aujourd'hui : t pour y revenir.",
                severity="warning",
                timeout=6,
            )
            return

        def after(done: PaymentRecorded | None) -> None:
            if done is not None:
                self.notify(recorded_message(done), title="Règlement enregistré", timeout=8)
                self.refresh_journal(keep=done.receipt_number)

        ask_family_then_pay(self, after)

    def action_cancel_payment(self) -> None:
        line = self.current()
        if line is None:
            return
        if line.state:
            self.notify(f"Le règlement {line.receipt_number} est déjà {line.state}.", severity="warning", timeout=5)
            return
        agent = self.regie.agent
        receipt_number = line.receipt_number

        def typed(reason: str | None) -> None:
            if reason is None:
                return
            if not reason.strip():
                self.notify("Motif obligatoire : rien n'a été annulé.", severity="error", timeout=6)
                return

            def action(db: Session) -> tuple[tuple[str, int], ...]:
                from regie_tui.services.payments.ledger import cancel_payment

                done = cancel_payment(
                    db, receipt_number=receipt_number, reason=reason, agent_id=agent.id if agent else None
                )
                return done.reopened

            def done(reopened: tuple[tuple[str, int], ...]) -> None:
                invoices = ", ".join(number for number, _ in reopened) or "aucune facture"
                self.notify(f"Règlement {receipt_number} annulé ; rouvertes : {invoices}.", timeout=8)
                self.refresh_journal(keep=receipt_number)

            def failed(message: str) -> None:
                self.notify(message, title="Rien n'a été annulé", severity="error", timeout=10)

            workers.write(self, action, done, on_error=failed, group="pay-cancel")

        self.app.push_screen(TextPrompt(f"Annuler le règlement {receipt_number} : motif", ""), typed)

    def action_print(self) -> None:
        line = self.current()
        if line is None:
            return
        receipt_number = line.receipt_number
        now = clock.now()

        def make(db: Session, path: Path) -> None:
            from regie_tui.reports.receipt_pdf import receipt_pdf
            from regie_tui.services.payments.ledger import receipt

            write_new_file(path, receipt_pdf(receipt(db, receipt_number=receipt_number), printed_at=now))

        write_pdf(
            self,
            what="le reçu",
            file_name=f"recu-{receipt_number}.pdf",
            make=make,
            done=lambda _, path: self.notify(f"Reçu écrit : {path}", timeout=6),
        )

    def action_close_day(self) -> None:
        journal, agent = self.journal, self.regie.agent
        if journal is None or agent is None:
            return
        from regie_tui.services.trust.access import Permission

        if not agent.may(Permission.CLOSE_CASH_DAY):
            self.notify("Seul le régisseur (ou un administrateur) clôt la journée de caisse.", severity="error")
            return
        still_open = [r for r in journal.regies if not r.closed]
        if not still_open:
            self.notify("La journée est déjà close pour chaque régie.", severity="warning", timeout=5)
            return
        day = journal.day

        def close(regie_id: int) -> None:
            def action(db: Session) -> str:
                from regie_tui.services.payments.ledger import close_cash_day

                done = close_cash_day(db, regie_id=regie_id, day=day, agent_id=agent.id)
                return (
                    f"Journée du {formatting.short_date(done.day)} ({done.regie_code}) close : "
                    f"{done.payment_count} règlement(s), {formatting.money(done.total_cents)}."
                )

            def failed(message: str) -> None:
                self.notify(message, title="Clôture impossible", severity="error", timeout=10)

            def closed(text: str) -> None:
                self.notify(text, timeout=8)
                self.refresh_journal()

            workers.write(self, action, closed, on_error=failed)

        def confirm(value: str | None) -> None:
            if not value:
                return
            regie = next(r for r in still_open if str(r.regie_id) == value)
            question = (
                f"Clore la journée du {formatting.short_date(day)} de la régie {regie.code} : "
                f"{regie.count} règlement(s), {formatting.money(regie.total_cents)} ? "
                "Plus aucun règlement ne pourra y être saisi ni annulé."
            )
            self.app.push_screen(
                ConfirmScreen(question, confirm="Clore"), lambda yes: close(regie.regie_id) if yes else None
            )

        if len(still_open) == 1:
            confirm(str(still_open[0].regie_id))
        else:
            options = [
                (str(r.regie_id), f"{r.code} — {r.count} règlement(s), {formatting.money(r.total_cents)}")
                for r in still_open
            ]
            self.app.push_screen(PickOne("Régie dont la journée se clôt", options), confirm)


# ------------------------------------------------------------ the situation


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
    DEFAULT_CSS = """
    #situation-head { height: auto; padding: 0 1; text-style: bold; }
    #situation-invoices { height: 1fr; }
    #situation-payments { height: 1fr; }
    """

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
        ask_date(self.app, "Situation au (JJ/MM/AAAA)", self.day or self.regie.today, chosen, refused)

    def refresh_situation(self) -> None:
        family_id, on_day = self.family_id, self.day or self.regie.today

        def query(db: Session) -> FinancialSituation:
            from regie_tui.services.payments.ledger import family_situation

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
                _clip(p.mode_label, 16),
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
