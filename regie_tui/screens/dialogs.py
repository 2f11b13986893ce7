"""Dialogs every screen may use: a yes/no question, a line of text, a choice in a list, a PDF to write."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rich.markup import escape
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from regie_tui import workers
from regie_tui.formatting import short_date

if TYPE_CHECKING:
    from textual.screen import Screen

    from regie_tui.workers import Db

T = TypeVar("T")


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: o or « confirm » says yes; n, Échap or « Annuler » says no (focused first)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS: ClassVar = [
        Binding("o", "dismiss(True)", "Oui", id="confirm-ok", tooltip="Confirmer"),
        Binding("n,escape", "dismiss(False)", "Non", id="confirm-cancel", tooltip="Renoncer"),
    ]

    def __init__(self, question: str, *, confirm: str = "Confirmer") -> None:
        super().__init__()
        self._question = question
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self._question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(self._confirm, id="confirm-yes", variant="warning", compact=True)
                yield Button("Annuler", id="confirm-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")


class TextPrompt(ModalScreen[str | None]):
    """One line of text; Enter confirms, Escape cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Annuler")]

    def __init__(self, title: str, value: str) -> None:
        super().__init__()
        self.title_text, self.value = title, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Input(self.value, id="prompt-input")
            yield Static("Entrée : valider · Échap : annuler", classes="dialog-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickOne(ModalScreen[str | None]):
    """A choice among options (value, French label)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Annuler")]

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.options = title, options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(escape(self.title_text), classes="dialog-title")
            yield OptionList(*(Option(label, id=value or "-") for value, label in self.options), id="pick-options")
            yield Static("Entrée : choisir · Échap : annuler", classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        value = event.option.id or ""
        self.dismiss("" if value == "-" else value)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ask_date(
    app: App[object],
    title: str,
    shown: date | None,
    chosen: Callable[[date], object],
    refused: Callable[[str], object],
) -> None:
    """A day typed JJ/MM/AAAA (or AAAA-MM-JJ) in a TextPrompt: ``chosen(day)``, or the French
    reason a bad one is refused given to ``refused``; nothing when the agent cancels."""

    def typed(text: str | None) -> None:
        if not text:
            return
        from regie_tui.services.common.validation import InvalidValue, parse_date

        try:
            day = parse_date(text, "Date")
        except InvalidValue as error:
            refused(error.message)
            return
        chosen(day)

    app.push_screen(TextPrompt(title, short_date(shown)), typed)


def write_pdf(
    screen: Screen[Any],
    *,
    what: str,
    file_name: str,
    make: Callable[[Db, Path], T],
    done: Callable[[T, Path], object],
) -> None:
    """Ask where to write a PDF (a folder takes ``file_name``), never over an existing file, then run
    ``make(session, path)`` in one unit of work (it writes the file: see :func:`regie_tui.reports.write_new_file`)
    and ``done(result, path)``; a failure is told in French and nothing is recorded."""

    def chosen(path_text: str | None) -> None:
        if not path_text:
            return
        path = Path(path_text).expanduser()
        if path.is_dir():
            path = path / file_name
        if path.exists():
            screen.notify(
                f"Le fichier « {path} » existe déjà : choisissez un autre nom.", severity="warning", timeout=6
            )
            ask(str(path))
            return

        def failed(message: str) -> None:
            screen.notify(message, title="Impression impossible", severity="error", timeout=8)

        workers.write(screen, lambda db: make(db, path), lambda result: done(result, path), on_error=failed)

    def ask(value: str) -> None:
        screen.app.push_screen(TextPrompt(f"Écrire {what} (chemin du PDF)", value), chosen)

    ask(str(Path.cwd() / file_name))
