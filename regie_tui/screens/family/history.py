"""Historique: the family's audit entries in French (who, when, what, before → after),
filtered by kind (t) and period (d)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from regie_tui import formatting, workers
from regie_tui.labels import AUDIT_ACTION, AUDIT_ENTITY, AUDIT_FIELD, AUDIT_VALUE, label
from regie_tui.screens.base import Desk
from regie_tui.screens.family.pane import FilePane
from regie_tui.services.families.history import HISTORY_KINDS, HISTORY_PERIODS, HistoryEntry, family_history

if TYPE_CHECKING:
    from regie_tui.services.families.file import FamilyDetail

SELF_DESCRIBED_ACTIONS = {"login", "online_payment", "online_payment_refused"}


class HistoryPane(FilePane):
    """The history as the file brings it, or read again for a kind and a period."""

    def __init__(self, family_id: int) -> None:
        super().__init__("6 Historique", id="historique")
        self.family_id = family_id
        self.kind = "all"
        self.period = "all"

    def compose(self) -> ComposeResult:
        yield Static("", id="history-filter")
        yield DataTable(id="history", cursor_type="row")

    def show(self, detail: FamilyDetail) -> None:
        if self.kind == "all" and self.period == "all":
            self._show_filter()
            self._fill_history(detail.history)
        else:
            self.load()

    def next_kind(self) -> None:
        kinds = list(HISTORY_KINDS)
        self.kind = kinds[(kinds.index(self.kind) + 1) % len(kinds)]
        self.load()

    def next_period(self) -> None:
        periods = list(HISTORY_PERIODS)
        self.period = periods[(periods.index(self.period) + 1) % len(periods)]
        self.load()

    def load(self) -> None:
        """Read the entries of the kind and period chosen."""
        desk = cast(Desk, self.app)
        agent = desk.agent
        assert agent is not None
        family_id, kind, period, today = self.family_id, self.kind, self.period, desk.today
        self._show_filter()
        workers.read(
            self.screen,
            lambda db: family_history(db, family_id=family_id, agent=agent, today=today, kind=kind, period=period),
            self._fill_history,
            group="load",
        )

    def _show_filter(self) -> None:
        self.query_one("#history-filter", Static).update(
            f"Type : {HISTORY_KINDS[self.kind]} (t) · Période : {HISTORY_PERIODS[self.period]} (d)"
        )

    def _fill_history(self, entries: list[HistoryEntry]) -> None:
        self.fill(
            "#history",
            ("Date", "Par", "Action", "Détail"),
            [(formatting.local_datetime(h.at), h.who, _what(h), _change_text(h.before, h.after)) for h in entries],
            empty="Aucun historique." if self.kind == "all" and self.period == "all" else "Rien.",
        )


def _change_text(before: Mapping[str, object] | None, after: Mapping[str, object] | None) -> str:
    """'adresse : 3 rue A → 5 rue B' from the audit entry's before/after values."""
    before = before or {}
    after = after or {}
    parts = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = _value(before.get(key), key), _value(after.get(key), key)
        name = label(AUDIT_FIELD, key)
        if old is None:
            parts.append(f"{name} : {new}")
        elif new is None:
            parts.append(f"{name} : {old} (supprimé)")
        elif old != new:
            parts.append(f"{name} : {old} → {new}")
    return "; ".join(parts)


def _value(value: object, key: str = "") -> str | None:
    """A recorded value in French (stored codes such as 'accepted' have their word)."""
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(_value(item) or "" for item in value) or "(aucun)"
    if key.endswith("_cents") and isinstance(value, int):
        return formatting.money(value)
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return formatting.short_date(date.fromisoformat(value))
        except ValueError:
            pass
    return label(AUDIT_VALUE, str(value))


def _what(entry: HistoryEntry) -> str:
    """'Modification responsable', 'Connexion au portail', 'Paiement en ligne'."""
    if entry.action in SELF_DESCRIBED_ACTIONS:
        return label(AUDIT_ACTION, entry.action)
    return f"{label(AUDIT_ACTION, entry.action)} {label(AUDIT_ENTITY, entry.entity)}"
