"""Boîte d'envoi: the e-mails written to families, their state, and the failed ones to resend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Static

from regie_tui import formatting, workers
from regie_tui.screens.base import RegieScreen

if TYPE_CHECKING:
    from regie_tui.services.portal.outbox import OutboxMailView, OutboxRow
    from regie_tui.workers import Db

#: filter key -> (the ``outbox_mail.status`` shown, French name of the filter)
FILTERS: dict[str, tuple[str | None, str]] = {
    "all": (None, "tous les courriels"),
    "to_send": ("to_send", "courriels à envoyer"),
    "sent": ("sent", "courriels envoyés"),
    "failed": ("failed", "courriels en échec"),
}
PAGE = 200


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short(instant: datetime) -> str:
    """'23/11/26 14:05', in Paris."""
    return formatting.local_datetime(instant).replace("/20", "/", 1) if instant else ""


def _state(row: OutboxRow) -> str:
    """The state, short enough for its column (the mail's window shows it whole)."""
    if row.sent_at is not None and row.status == "sent":
        return f"Envoyé le {_short(row.sent_at)}"
    return _clip(row.state, 24)


def _page(status: str | None) -> Callable[[Db], list[OutboxRow]]:
    def run(session: Db) -> list[OutboxRow]:
        from regie_tui.codes import MailStatus
        from regie_tui.services.portal.outbox import outbox_page

        return outbox_page(session, status=MailStatus(status) if status else None, limit=PAGE)

    return run


class MailScreen(ModalScreen[None]):
    """One mail as the family receives it: recipient, subject, state, text."""

    BINDINGS: ClassVar = [Binding("escape,q", "dismiss", "Fermer", id="close-mail", tooltip="Revenir à la liste")]
    CSS_PATH = "outbox.tcss"

    def __init__(self, view: OutboxMailView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        row = self.view.row
        head = "\n".join(
            [
                f"Courriel n° {row.id} — écrit le {formatting.local_datetime(row.created_at)}",
                f"À : {row.to_address}" + (f" (famille {row.family_name})" if row.family_name else ""),
                f"Objet : {row.subject}",
                f"État : {row.state}" + (f" — {row.attempts} tentative(s)" if row.attempts else ""),
            ]
        )
        with Vertical(id="mail-box"):
            yield Static(head, id="mail-head", markup=False)
            with VerticalScroll(id="mail-body"):
                yield Static(self.view.body, markup=False)
            yield Static("↑ ↓ : faire défiler · Échap : fermer", id="mail-hint")

    def on_mount(self) -> None:
        self.query_one("#mail-body").focus()


class OutboxScreen(RegieScreen):
    """Mails newest first; a e x t filter by state, ⏎ reads a mail, r resends a failed one."""

    HELP_TITLE = "Boîte d'envoi"
    BINDINGS: ClassVar = [
        Binding("a", "show('to_send')", "À envoyer", id="outbox-to-send", tooltip="Courriels en attente d'envoi"),
        Binding("e", "show('sent')", "Envoyés", id="outbox-sent", tooltip="Courriels partis"),
        Binding("x", "show('failed')", "Échecs", id="outbox-failed", tooltip="Courriels en échec ou interrompus"),
        Binding("t", "show('all')", "Tous", id="outbox-all", tooltip="Tous les courriels"),
        Binding("r", "requeue", "Renvoyer", id="outbox-requeue", tooltip="Remettre le courriel en échec en attente"),
        Binding("escape", "back", "Retour", id="outbox-back", tooltip="Revenir à l'écran précédent"),
    ]
    CSS_PATH = "outbox.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.filter = "all"
        self.rows: list[OutboxRow] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="outbox-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="outbox-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Boîte d'envoi"
        # État second: at 80 columns the agent sees date, state, family and subject at once.
        self.table.add_columns("Date", "État", "Famille", "Objet", "Destinataire")
        self.table.focus()
        self.refresh_rows()

    @property
    def table(self) -> DataTable[str]:
        return self.query_one("#outbox-table", DataTable)

    def refresh_rows(self, keep: int | None = None) -> None:
        status, _ = FILTERS[self.filter]
        self.load(_page(status), lambda rows: self._show(rows, keep))

    def _show(self, rows: list[OutboxRow], keep: int | None = None) -> None:
        self.rows = rows
        table = self.table
        table.clear()
        for row in rows:
            table.add_row(
                _short(row.created_at),
                _state(row),
                _clip(row.family_name, 12),
                _clip(row.subject, 30),
                row.to_address,
                key=str(row.id),
            )
        if keep is not None:
            index = next((i for i, row in enumerate(rows) if row.id == keep), None)
            if index is not None:
                table.move_cursor(row=index)
        _, name = FILTERS[self.filter]
        count = len(rows)
        more = f" (les {PAGE} plus récents)" if count == PAGE else ""
        text = f"{formatting.number(count)} — {name}{more} · ⏎ : lire" if count else f"Aucun courriel — {name}."
        self.query_one("#outbox-status", Static).update(text)

    def current(self) -> OutboxRow | None:
        if not self.rows or self.table.cursor_row < 0 or self.table.cursor_row >= len(self.rows):
            return None
        return self.rows[self.table.cursor_row]

    def action_show(self, name: str) -> None:
        self.filter = name
        self.refresh_rows()

    def action_back(self) -> None:
        self.app.pop_screen()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is None:
            return
        mail_id = int(event.row_key.value)

        def fetch(session: Db) -> OutboxMailView:
            from regie_tui.services.portal.outbox import outbox_mail

            return outbox_mail(session, mail_id=mail_id)

        self.load(fetch, lambda view: self.app.push_screen(MailScreen(view)))

    def action_requeue(self) -> None:
        row = self.current()
        if row is None:
            return
        if row.status != "failed":
            self.notify("Seul un courriel en échec peut être remis en attente.", severity="warning", timeout=5)
            return
        agent = self.desk.agent
        if agent is None:
            return
        mail_id, agent_id = row.id, agent.id

        def work(db: Db) -> int:
            from regie_tui.services.portal.outbox import requeue

            requeue(db, mail_id=mail_id, agent_id=agent_id)
            return mail_id

        def done(requeued: int) -> None:
            self.notify(f"Courriel n° {requeued} remis en attente : il partira au prochain envoi.", timeout=5)
            self.refresh_rows(keep=requeued)

        def refused(message: str) -> None:
            self.notify(message, title="Renvoi impossible", severity="error", timeout=10)

        workers.write(self, work, done, on_error=refused, group="requeue")
