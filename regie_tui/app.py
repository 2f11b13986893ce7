"""RegieApp and its factory, shared by the `regie` command and the tests."""

from collections.abc import Iterable
from datetime import date

from sqlalchemy.engine import Engine
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from regie_tui import clock
from regie_tui.commands import RegieCommands
from regie_tui.services.agents import AgentInfo


class RegieApp(App[None]):
    """The régie desk. Screens: tableau de bord, Familles, fiche famille; F1 aide."""

    CSS_PATH = "app.tcss"
    TITLE = "regie-tui"
    COMMANDS = {RegieCommands}
    BINDINGS = [
        Binding("f1", "help", "Aide", id="help", tooltip="Toutes les touches de l'écran"),
        Binding("f2", "families", "Familles", id="families", tooltip="Chercher une famille"),
        Binding("q", "quit", "Quitter", id="quit", tooltip="Quitter regie-tui"),
        Binding("ctrl+q", "quit", "Quitter", show=False, priority=True),
        Binding(
            "ctrl+p", "command_palette", "Commandes", id="command-palette", priority=True, show=False,
            tooltip="Trouver une action ou une famille par son nom",
        ),
    ]

    def __init__(self, *, engine: Engine, agent: AgentInfo, today: date | None = None) -> None:
        super().__init__()
        self.engine = engine
        self.agent = agent
        self.today = today or clock.today()
        self.animation_level = "none"  # over SSH: no animation

    def on_mount(self) -> None:
        from regie_tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        # Textual's own system commands are in English; ours are in RegieCommands.
        return ()

    def action_help(self) -> None:
        from regie_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen(self.screen))

    def action_families(self) -> None:
        from regie_tui.screens.families import FamiliesScreen

        for screen in self.screen_stack:
            if isinstance(screen, FamiliesScreen):
                while self.screen is not screen:
                    self.pop_screen()
                screen.focus_search()
                return
        self.push_screen(FamiliesScreen())

    def action_dashboard(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def open_family(self, family_id: int) -> None:
        from regie_tui.screens.family import FamilyScreen

        self.push_screen(FamilyScreen(family_id))


def create_app(*, engine: Engine, agent: AgentInfo, today: date | None = None) -> RegieApp:
    """The one way to build the app: used by `regie` and by every UI test."""
    return RegieApp(engine=engine, agent=agent, today=today)
