"""Tableau de bord: the town, the agent, and live counters of the bannette."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.widgets import Footer, Header, Static

from regie_tui import formatting
from regie_tui.screens.base import RegieScreen
from regie_tui.widgets.counter import Counter

if TYPE_CHECKING:
    from regie_tui.services.portal.dashboard import DashboardCounts

REFRESH_SECONDS = 30


class DashboardScreen(RegieScreen):
    HELP_TITLE = "Tableau de bord"
    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("r", "refresh", "Actualiser", id="refresh", tooltip="Recompter la bannette et les impayés"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._counted = False  # counters shown once (they may come while the database opens)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="dashboard"):
            yield Static("", id="dashboard-town")
            yield Static(self._agent_line(), id="dashboard-agent")
            with Grid(id="dashboard-counters"):
                yield Counter("Modifications à valider", id="pending-changes")
                yield Counter("Documents à valider", id="pending-documents")
                yield Counter("Demandes d'inscription", id="enrollment-requests")
                yield Counter("Demandes de réservation", id="booking-requests")
                yield Counter("Messages à traiter", id="pending-messages")
                yield Counter("Paiements en ligne", id="pending-payments")
                yield Counter("Impayés", id="unpaid", selectable=False)
            yield Static(
                "F2 familles · F3 bannette · F4 planning · F5 pointage · F6 occupation\n"
                "F7 facturation · F8 encaissements · F9 relances · F10 tarifs · F1 aide",
                id="dashboard-hint",
            )
        yield Footer()

    def _agent_line(self) -> str:
        day = formatting.long_date(self.desk.today).capitalize()
        agent = self.desk.agent
        if agent is None:
            return f"{day} · Ouverture de la base…"
        who = agent.display_name if agent.display_name == agent.login else f"{agent.display_name} ({agent.login})"
        return f"{day} · Agent : {who} — {agent.role_label}"

    def on_mount(self) -> None:
        self.sub_title = "Tableau de bord"
        self.desk.counters_ready.subscribe(self, self._show)
        self.desk.database_opened.subscribe(self, self._on_database_opened)
        self.set_interval(REFRESH_SECONDS, self.action_refresh)
        self.action_refresh()

    def on_screen_resume(self) -> None:
        """Back from the bannette or a family: the counters follow the decisions just made."""
        if self._counted:
            self.action_refresh()

    def _on_database_opened(self, _: None) -> None:
        """The app opened the database after the first paint: name the agent, and count
        unless the counters came already (see RegieApp)."""
        self.query_one("#dashboard-agent", Static).update(self._agent_line())
        if not self._counted:
            self.action_refresh()

    _COUNTER_KINDS = {
        "pending-changes": "changes",
        "pending-documents": "documents",
        "enrollment-requests": "enrollment_requests",
        "booking-requests": "booking_requests",
        "pending-messages": "messages",
        "pending-payments": "payments",
    }

    def on_counter_selected(self, event: Counter.Selected) -> None:
        kind = self._COUNTER_KINDS.get(event.counter.id or "")
        if kind is not None:
            self.app.action_inbox(kind)  # type: ignore[attr-defined]

    def action_refresh(self) -> None:
        if not self.desk.connected:
            return
        from regie_tui.services.portal.dashboard import dashboard_counts

        self.load(dashboard_counts, self._show)

    def _show(self, counts: DashboardCounts) -> None:
        self._counted = True
        self.title = f"regie-tui — {counts.town}"
        self.query_one("#dashboard-town", Static).update(
            f"[b]{counts.town}[/b] · {counts.service} · {formatting.number(counts.families)} familles"
        )
        pending = counts.pending
        for widget_id, value in (
            ("pending-changes", pending.changes),
            ("pending-documents", pending.documents),
            ("enrollment-requests", pending.enrollment_requests),
            ("booking-requests", pending.booking_requests),
            ("pending-messages", pending.messages),
            ("pending-payments", pending.payments),
        ):
            self.query_one(f"#{widget_id}", Counter).show(formatting.number(value), alert=value > 0)
        self.query_one("#unpaid", Counter).show(formatting.money(counts.unpaid_cents), alert=counts.unpaid_cents > 0)
