"""Encaissements (F8): the day's cash journal per régie; a payment recorded, cancelled, its
receipt printed; the day closed."""

from __future__ import annotations

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
from regie_tui.reports import write_new_file
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen, PickOne, TextPrompt, ask_date, write_pdf
from regie_tui.screens.payments.payment_dialog import ask_family_then_pay, recorded_message

if TYPE_CHECKING:
    from regie_tui.services.payments.cash_journal import CashJournal, JournalLine
    from regie_tui.services.payments.recording import PaymentRecorded
    from regie_tui.workers import Db

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


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


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
    CSS_PATH = "payments.tcss"

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
            self.day = self.desk.today
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

        def query(db: Db) -> CashJournal:
            from regie_tui.services.payments.cash_journal import cash_journal

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
                Text(clip(regie.name, 12), style="bold"),
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
                    clip(line.family_name, 12),
                    MODE_SHORT[line.mode.value],
                    Text(formatting.money(line.amount_cents), style=style, justify="right"),
                    Text(formatting.money(line.running_cents), justify="right"),
                    clip(detail, 12),
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
        self._go_to((self.day or self.desk.today) + timedelta(days=days))

    def action_today(self) -> None:
        self._go_to(self.desk.today)

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
        if self.day != self.desk.today:
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
        agent = self.desk.agent
        receipt_number = line.receipt_number

        def typed(reason: str | None) -> None:
            if reason is None:
                return
            if not reason.strip():
                self.notify("Motif obligatoire : rien n'a été annulé.", severity="error", timeout=6)
                return

            def action(db: Db) -> tuple[tuple[str, int], ...]:
                from regie_tui.services.payments.undoing import cancel_payment

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

        def make(db: Db, path: Path) -> None:
            from regie_tui.reports.receipt_pdf import receipt_pdf
            from regie_tui.services.payments.receipts import receipt

            write_new_file(path, receipt_pdf(receipt(db, receipt_number=receipt_number), printed_at=now))

        write_pdf(
            self,
            what="le reçu",
            file_name=f"recu-{receipt_number}.pdf",
            make=make,
            done=lambda _, path: self.notify(f"Reçu écrit : {path}", timeout=6),
        )

    def action_close_day(self) -> None:
        journal, agent = self.journal, self.desk.agent
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
            def action(db: Db) -> str:
                from regie_tui.services.payments.cash_journal import close_cash_day

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
