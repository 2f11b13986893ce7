"""F1: every key of the screen underneath, with what it does."""

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static

NAVIGATION_KEYS = [
    ("↑ ↓", "Ligne précédente / suivante", "Dans une liste"),
    ("pgup pgdn", "Page précédente / suivante", "Dans une liste"),
    ("home end", "Début / fin", "Dans une liste ou un champ"),
    ("tab", "Zone suivante", "shift+tab : zone précédente"),
    ("⏎", "Valider / ouvrir", "La ligne ou le champ sélectionné"),
]


def _declared_by_regie(node_class: type) -> set[tuple[str, str]]:
    """(action, description) of the bindings written in regie-tui's classes of this MRO."""
    return {
        (binding.action, binding.description)
        for cls in node_class.__mro__
        if cls.__module__.startswith("regie_tui.")
        for binding in cls.__dict__.get("BINDINGS", [])
        if isinstance(binding, Binding)
    }


class HelpScreen(ModalScreen[None]):
    """Lists the active bindings of ``screen`` (its own, its widgets' and the app's)."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding("escape", "dismiss", "Fermer", id="close-help"),
        Binding("f1", "dismiss", "Fermer", show=False),
    ]

    def __init__(self, screen: Screen[Any]) -> None:
        super().__init__()
        self._rows = self._collect(screen)
        self._title = getattr(screen, "HELP_TITLE", "")

    def _collect(self, screen: Screen[Any]) -> list[tuple[str, str, str]]:
        """The active keys declared by regie-tui's own classes (app, screen, widgets in
        focus), then the moves every list and field knows. Textual's built-in keys are
        left out: they describe themselves in English. Keys for the same action share a row."""
        keys: dict[tuple[str, str], list[str]] = {}
        tooltips: dict[tuple[str, str], str] = {}
        for active in screen.active_bindings.values():
            binding = active.binding
            action = (binding.action, binding.description)
            if action in _declared_by_regie(type(active.node)):
                keys.setdefault(action, []).append(self.app.get_key_display(binding))
                tooltips[action] = tooltips.get(action) or binding.tooltip or ""
        listed = [
            (" ".join(shown), description, tooltips[(name, description)]) for (name, description), shown in keys.items()
        ]
        return listed + NAVIGATION_KEYS

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(f"Aide — {self._title}" if self._title else "Aide", id="help-title")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Static("Échap : fermer · ctrl+p : toutes les commandes par leur nom", id="help-hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Touche", "Action", "Détail")
        for row in self._rows:
            table.add_row(*row)
