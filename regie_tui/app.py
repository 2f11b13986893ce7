"""RegieApp and its factory, shared by the `regie` command and the tests.

The first screen is painted before the database layer (SQLAlchemy, the models) is even
imported: given a database URL, the app opens it in a worker thread, as it would any
slow work (a PostgreSQL server may be far away).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from regie_tui import clock
from regie_tui.commands import RegieCommands
from regie_tui.errors import RegieError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from regie_tui.services.agents import AgentInfo

Connect = Callable[[], "tuple[Engine, AgentInfo]"]


def error_message(error: BaseException, engine_url=None) -> str:
    """The French sentence to show for an error raised while reading the database."""
    if isinstance(error, RegieError):
        return error.message
    from sqlalchemy.exc import OperationalError

    if isinstance(error, OperationalError) and engine_url is not None:
        from regie_tui.db import explain_connection_error

        return explain_connection_error(error, engine_url).message
    return f"Erreur inattendue : {error}"


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

    def __init__(
        self, *, engine: Engine | None = None, agent: AgentInfo | None = None,
        connect: Connect | None = None, today: date | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.agent = agent
        self._connect = connect
        self.today = today or clock.today()
        self.startup_error: str | None = None  # why the database could not be opened
        self.animation_level = "none"  # over SSH: no animation

    @property
    def connected(self) -> bool:
        return self.engine is not None and self.agent is not None

    def on_mount(self) -> None:
        from regie_tui.screens.dashboard import DashboardScreen

        self.push_screen(DashboardScreen())
        if not self.connected:
            # After the first paint: the worker's imports would otherwise hold it back.
            self.call_after_refresh(self._open_database)

    @work(thread=True, exit_on_error=False, group="connect")
    def _open_database(self) -> None:
        engine, agent = self._connect()
        self.call_from_thread(self._on_connected, engine, agent)

    def _on_connected(self, engine: Engine, agent: AgentInfo) -> None:
        from regie_tui.screens.dashboard import DashboardScreen

        self.engine, self.agent = engine, agent
        for screen in self.screen_stack:
            if isinstance(screen, DashboardScreen):
                screen.on_connected()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "connect" and event.state is WorkerState.ERROR:
            self.startup_error = error_message(event.worker.error)
            self.exit(return_code=1)

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

        if not self.connected:
            self.notify("Ouverture de la base en cours…", timeout=3)
            return
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


def create_app(
    *, engine: Engine | None = None, agent: AgentInfo | None = None,
    database_url: str | None = None, login: str | None = None, today: date | None = None,
) -> RegieApp:
    """The one way to build the app, used by `regie` and by every UI test: on an open
    ``engine`` for ``agent``, or on ``database_url`` opened (schema checked, ``login``
    matched to an agent) in a worker once the first screen is up."""
    if engine is not None and agent is not None:
        return RegieApp(engine=engine, agent=agent, today=today)
    if database_url is None or login is None:
        raise ValueError("create_app needs engine and agent, or database_url and login")

    def connect() -> tuple[Engine, AgentInfo]:
        from regie_tui.db import open_database, session_scope
        from regie_tui.services.agents import resolve_agent

        opened = open_database(database_url)
        try:
            with session_scope(opened) as session:
                return opened, resolve_agent(session, login)
        except Exception:
            opened.dispose()
            raise

    return RegieApp(connect=connect, today=today)
