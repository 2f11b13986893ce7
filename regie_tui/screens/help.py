"""F1: every key of the screen underneath, with what it does."""

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Static


TEXTUAL_FOCUS = {"app.focus_next", "app.focus_previous", "focus_next", "focus_previous"}
NAVIGATION_KEYS = [
    ("↑ ↓", "Ligne précédente / suivante", "Dans une liste"),
    ("pgup pgdn", "Page précédente / suivante", "Dans une liste"),
    ("home end", "Début / fin", "Dans une liste ou un champ"),
    ("tab", "Zone suivante", "shift+tab : zone précédente"),
    ("⏎", "Valider / ouvrir", "La ligne ou le champ sélectionné"),
]


class HelpScreen(ModalScreen[None]):
    """Lists the active bindings of ``screen`` (its own, its widgets' and the app's)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Fermer", id="close-help"),
        Binding("f1", "dismiss", "Fermer", show=False),
    ]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self._rows = self._collect(screen)
        self._title = getattr(screen, "HELP_TITLE", "")

    def _collect(self, screen: Screen) -> list[tuple[str, str, str]]:
        """The screen's and the app's own keys, then the moves every list and field knows."""
        rows: list[tuple[str, str, str]] = []
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.node in (screen, self.app) and binding.description and binding.action not in TEXTUAL_FOCUS:
                rows.append((self.app.get_key_display(binding), binding.description, binding.tooltip or ""))
        return rows + NAVIGATION_KEYS

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
