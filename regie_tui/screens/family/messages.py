"""Messages: what the family and the régie wrote each other; one message read in a dialog."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from regie_tui import formatting
from regie_tui.labels import label
from regie_tui.screens.family.pane import FilePane

if TYPE_CHECKING:
    from regie_tui.services.families.file import FamilyDetail

MESSAGE_DIRECTION = {"incoming": "← Reçu", "outgoing": "→ Envoyé"}


class MessagesPane(FilePane):
    def __init__(self) -> None:
        super().__init__("7 Messages", id="messages")
        self.detail: FamilyDetail | None = None

    def compose(self) -> ComposeResult:
        yield DataTable(id="family-messages", cursor_type="row")

    def show(self, detail: FamilyDetail) -> None:
        self.detail = detail
        self.fill(
            "#family-messages",
            ("Date", "Sens", "Objet", "État"),
            [
                (
                    formatting.local_datetime(m.sent_at),
                    label(MESSAGE_DIRECTION, m.direction),
                    m.subject,
                    ("Lu" if m.read_at else "Non lu") if m.direction == "incoming" else "",
                )
                for m in detail.messages
            ],
            empty="Aucun message.",
        )

    def read(self, index: int) -> None:
        """Open the message of row ``index``."""
        detail = self.detail
        if detail is None or not 0 <= index < len(detail.messages):
            return
        message = detail.messages[index]
        who = "De la famille" if message.direction == "incoming" else "Du service"
        head = f"{message.subject}\n{who} · {formatting.local_datetime(message.sent_at)}"
        if message.recipient:
            head += f" · à : {message.recipient}"
        self.app.push_screen(MessageScreen(head, message.body))


class MessageScreen(ModalScreen[None]):
    """One message of the family, to read; Échap or ⏎ closes it."""

    CSS_PATH = "family.tcss"
    BINDINGS: ClassVar = [
        Binding("escape,enter", "dismiss", "Fermer", id="message-close"),
    ]

    def __init__(self, head: str, body: str) -> None:
        super().__init__()
        self._head = head
        self._body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="message-box"):
            yield Static(self._head, id="message-head", markup=False)
            with VerticalScroll(id="message-body"):
                yield Static(self._body, markup=False)
