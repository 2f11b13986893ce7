"""RegieApp and its factory, shared by the `regie` command and the tests.

The first screen is painted before the database layer (SQLAlchemy, the models) is even
imported: given a database URL, the app opens it in a worker thread, as it would any
slow work (a PostgreSQL server may be far away). For a known agent it publishes the
dashboard's counters (``counters_ready``, read with SQLAlchemy Core alone) before the ORM is
imported, then ``database_opened``.

The top-level places (tableau de bord, familles; later bannette, réservations,
facturation) are Textual modes: each keeps its own stack of screens, and its key goes
back to it from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.signal import Signal

from regie_tui import clock, workers
from regie_tui.commands import RegieCommands
from regie_tui.screens.dashboard import DashboardScreen
from regie_tui.screens.families import FamiliesScreen

if TYPE_CHECKING:
    from regie_tui.screens.planning.screen import PlanningScreen
    from regie_tui.services.portal.dashboard import DashboardCounts
    from regie_tui.services.trust.agents import AgentInfo
    from regie_tui.workers import Connect, Database

DASHBOARD, FAMILIES, INBOX = "tableau", "familles", "bannette"


def _inbox_screen() -> Screen[Any]:
    """The bannette, imported when first opened (it needs the ORM, which start-up avoids)."""
    from regie_tui.screens.inbox.screen import InboxScreen

    return InboxScreen()


class RegieApp(App[None]):
    """The régie desk. Places: tableau de bord, Familles, Bannette; fiche famille above them; F1 aide."""

    CSS_PATH = "app.tcss"
    TITLE = "regie-tui"
    COMMANDS: ClassVar = {RegieCommands}
    MODES: ClassVar = {DASHBOARD: DashboardScreen, FAMILIES: FamiliesScreen, INBOX: _inbox_screen}
    DEFAULT_MODE: ClassVar[str] = DASHBOARD
    BINDINGS: ClassVar = [
        Binding("f1", "help", "Aide", id="help", tooltip="Toutes les touches de l'écran"),
        Binding("f2", "families", "Familles", id="families", tooltip="Chercher une famille"),
        Binding("f3", "inbox", "Bannette", id="inbox", tooltip="Ce que les familles ont envoyé, à décider"),
        Binding(
            "f4",
            "planning",
            "Planning",
            id="planning",
            tooltip="Le planning d'un enfant (chercher par nom)",
            show=False,
        ),
        Binding(
            "f5", "roster", "Pointage", id="roster", tooltip="Les enfants attendus un jour sur une activité", show=False
        ),
        Binding(
            "f6",
            "occupancy",
            "Occupation",
            id="occupancy",
            tooltip="Places réservées d'une activité sur un mois",
            show=False,
        ),
        Binding(
            "f7",
            "billing",
            "Facturation",
            id="billing",
            tooltip="Le lancement mensuel des factures d'une régie",
            show=False,
        ),
        Binding(
            "f8",
            "payments",
            "Encaissements",
            id="payments",
            tooltip="Les règlements du jour, le journal de caisse",
            show=False,
        ),
        Binding(
            "f9", "reminders", "Relances", id="reminders", tooltip="Les factures impayées par ancienneté", show=False
        ),
        Binding(
            "f10", "rates", "Tarifs", id="rates", tooltip="Les tarifs par tranche de quotient familial", show=False
        ),
        Binding("q", "quit", "Quitter", id="quit", tooltip="Quitter regie-tui"),
        Binding("ctrl+q", "quit", "Quitter", show=False, priority=True),
        Binding(
            "ctrl+p",
            "command_palette",
            "Commandes",
            id="command-palette",
            priority=True,
            show=False,
            tooltip="Trouver une action ou une famille par son nom",
        ),
    ]

    def __init__(
        self,
        *,
        engine: Database | None = None,
        agent: AgentInfo | None = None,
        connect: Connect | None = None,
        today: date | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.agent = agent
        self._connect = connect
        self.today = today or clock.today()
        self.startup_error: str | None = None  # why the database could not be opened
        self.animation_level = "none"  # over SSH: no animation
        self.database_opened: Signal[None] = Signal(self, "database-opened")
        self.counters_ready: Signal[DashboardCounts] = Signal(self, "counters-ready")

    @property
    def connected(self) -> bool:
        return self.engine is not None and self.agent is not None

    def on_mount(self) -> None:
        if not self.connected and self._connect is not None:
            # After the first paint: the worker's imports would otherwise hold it back.
            self.call_after_refresh(self._open_database)

    def _open_database(self) -> None:
        connect = self._connect
        assert connect is not None

        def show_counts(counts: DashboardCounts) -> None:  # in the worker thread
            self.call_from_thread(self.counters_ready.publish, counts)

        workers.run_in_thread(
            self, lambda: connect(show_counts), self._on_connected, group="connect", on_error=self._refuse_start
        )

    def _on_connected(self, opened: tuple[Database, AgentInfo]) -> None:
        self.engine, self.agent = opened
        self.database_opened.publish(None)

    def _refuse_start(self, message: str) -> None:
        """The database cannot be used: close, and let `regie` print why."""
        self.startup_error = message
        self.exit(return_code=1)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Textual's own system commands are in English; ours are in RegieCommands.
        return ()

    def action_command_palette(self) -> None:
        """Textual's palette, with a French prompt."""
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(CommandPalette(id="--command-palette", placeholder="Chercher une action ou une famille…"))

    def action_help(self) -> None:
        from regie_tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            self.pop_screen()
        else:
            self.push_screen(HelpScreen(self.screen))

    def _go_to(self, mode: str, then: Callable[[], object] | None = None) -> None:
        """The place's own screen, whatever was opened above it (asking first before a planning
        with unsaved changes is closed; if the agent says no, that planning stays in view)."""
        self.switch_mode(mode)

        def close_above(confirmed: bool | None = True) -> None:
            if not confirmed:
                return
            while len(self.screen_stack) > 1:
                self.pop_screen()
            if then is not None:
                then()

        unsaved = [screen for screen in self._unsaved_plannings() if screen in self.screen_stack[1:]]
        if not unsaved:
            close_above()
            return
        from regie_tui.screens.dialogs import ConfirmScreen

        names = ", ".join(screen.title_text() for screen in unsaved)
        question = f"Modifications non enregistrées ({names}). Les abandonner ?"
        self.push_screen(ConfirmScreen(question, confirm="Abandonner"), close_above)

    def _unsaved_plannings(self) -> list[PlanningScreen]:
        """Open plannings holding unsaved changes (none when no planning was ever opened)."""
        import sys

        if "regie_tui.screens.planning.screen" not in sys.modules:
            return []
        from regie_tui.screens.planning.screen import unsaved_plannings

        return unsaved_plannings()

    def action_families(self) -> None:
        if not self.connected:
            self.notify("Ouverture de la base en cours…", timeout=3)
            return

        def focus_search() -> None:
            screen = self.screen
            if isinstance(screen, FamiliesScreen) and screen.is_mounted:
                screen.focus_search()

        self._go_to(FAMILIES, focus_search)

    def action_inbox(self, kind: str | None = None) -> None:
        """The bannette; ``kind`` (a key of pending.KINDS) filters it, as a dashboard counter does."""
        if not self.connected:
            self.notify("Ouverture de la base en cours…", timeout=3)
            return

        def filter_kind() -> None:
            from regie_tui.screens.inbox.screen import InboxScreen

            screen = self.screen
            if kind is not None and isinstance(screen, InboxScreen):
                screen.show_kind(kind)

        self._go_to(INBOX, filter_kind)

    def action_outbox(self) -> None:
        from regie_tui.screens.outbox import OutboxScreen

        if self.connected:
            self.push_screen(OutboxScreen())

    def action_publications(self) -> None:
        from regie_tui.screens.publications import PublicationsScreen

        if self.connected:
            self.push_screen(PublicationsScreen())

    def action_planning(self) -> None:
        from regie_tui.screens.planning.dialogs import ChildPickerScreen
        from regie_tui.screens.planning.screen import PlanningScreen

        def chosen(child_id: int | None) -> None:
            if child_id is not None:
                self.push_screen(PlanningScreen(child_id))

        if self.connected:
            self.push_screen(ChildPickerScreen(), chosen)

    def action_roster(self) -> None:
        from regie_tui.screens.roster import RosterScreen

        if self.connected:
            self.push_screen(RosterScreen())

    def action_occupancy(self) -> None:
        from regie_tui.screens.occupancy import OccupancyScreen

        if self.connected:
            self.push_screen(OccupancyScreen())

    def action_billing(self) -> None:
        from regie_tui.screens.billing import BillingScreen

        if self.connected:
            self.push_screen(BillingScreen())

    def action_payments(self) -> None:
        from regie_tui.screens.payments.journal import PaymentsScreen

        if self.connected:
            self.push_screen(PaymentsScreen())

    def action_reminders(self) -> None:
        from regie_tui.screens.reminders import RemindersScreen

        if self.connected:
            self.push_screen(RemindersScreen())

    def action_rates(self) -> None:
        from regie_tui.screens.rates import RatesScreen

        if self.connected:
            self.push_screen(RatesScreen())

    async def action_quit(self) -> None:
        """Quit; first ask when a planning holds changes not saved yet (whichever mode it is in)."""
        waiting = self._unsaved_plannings()
        if not waiting:
            self.exit()
            return
        from regie_tui.screens.dialogs import ConfirmScreen

        names = ", ".join(screen.title_text() for screen in waiting)
        question = f"Modifications non enregistrées ({names}). Quitter sans les enregistrer ?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(question, confirm="Quitter sans enregistrer"), answered)

    def action_dashboard(self) -> None:
        self._go_to(DASHBOARD)

    def open_family(self, family_id: int) -> None:
        from regie_tui.screens.family.screen import FamilyScreen

        self.push_screen(FamilyScreen(family_id))


def create_app(
    *,
    engine: Database | None = None,
    agent: AgentInfo | None = None,
    database_url: str | None = None,
    today: date | None = None,
) -> RegieApp:
    """The one way to build the app, used by `regie` and by every UI test: on an open
    ``engine`` for ``agent``, or on ``database_url`` opened (schema checked,
    the agent at its keyboard resolved) in a worker once the first screen is up."""
    if engine is not None and agent is not None:
        return RegieApp(engine=engine, agent=agent, today=today)
    if database_url is None:
        raise ValueError("create_app needs engine and agent, or database_url")

    return RegieApp(connect=workers.connect_to(database_url), today=today)
