"""The planning's dialogs: the legend of a cell's appearances, and F4's child picker."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from regie_tui import formatting, workers
from regie_tui.services.bookings.planning import LEGEND
from regie_tui.services.families.search import find_children
from regie_tui.widgets.reservation_grid import PENDING_MARK

if TYPE_CHECKING:
    from regie_tui.workers import Db


class LegendScreen(ModalScreen[None]):
    """The 13 appearances of a cell: glyph and French label."""

    BINDINGS: ClassVar = [
        Binding("escape,l,question_mark,q", "dismiss", "Fermer", id="legend-close", tooltip="Fermer la légende"),
    ]
    CSS_PATH = "planning.tcss"

    def compose(self) -> ComposeResult:
        lines = [f" {entry.glyph}  {entry.label}" for entry in LEGEND]
        lines.append(f" ●{PENDING_MARK} Modification non enregistrée (soulignée)")
        with Vertical(id="legend-box"):
            yield Static("Légende du planning", id="legend-title")
            yield Static(escape("\n".join(lines)), id="legend-lines")
            yield Static("Échap : fermer", id="legend-hint")


class ChildPickerScreen(ModalScreen[int | None]):
    """F4: find a child by name as you type; Enter opens the first (or the highlighted) child's planning."""

    BINDINGS: ClassVar = [
        Binding("escape", "cancel", "Annuler", id="picker-cancel", tooltip="Fermer sans ouvrir de planning"),
        Binding("down", "to_list", "Liste", show=False, id="picker-list", tooltip="Descendre dans la liste"),
    ]
    CSS_PATH = "planning.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.found: list[int] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static("Planning d'un enfant : nom ou prénom", classes="dialog-title")
            yield Input(id="picker-input", placeholder="ex. : martin léa")
            yield OptionList(id="picker-options")
            yield Static("Entrée : ouvrir le planning · ↓ : la liste · Échap : annuler", id="picker-hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed)
    def _search(self, event: Input.Changed) -> None:
        text = event.value.strip()
        options = self.query_one(OptionList)
        if not text:
            self.found = []
            options.clear_options()
            return

        def query(db: Db) -> list[tuple[int, str]]:
            return [
                (
                    c.child_id,
                    f"{c.last_name} {c.first_name} — né(e) le {formatting.short_date(c.birth_date)}"
                    f" — famille {c.family_name}",
                )
                for c in find_children(db, text)
            ]

        workers.read(self, query, self._show, group="picker")

    def _show(self, found: list[tuple[int, str]]) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        self.found = [child_id for child_id, _ in found]
        if not found:
            options.add_option(Option("Aucun enfant trouvé.", disabled=True))
            return
        options.add_options([Option(escape(label), id=str(child_id)) for child_id, label in found])
        options.highlighted = 0

    @on(Input.Submitted)
    def _submitted(self, _event: Input.Submitted) -> None:
        if self.found:
            self.dismiss(self.found[0])

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss(int(event.option.id))

    def action_to_list(self) -> None:
        if self.found:
            self.query_one(OptionList).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
