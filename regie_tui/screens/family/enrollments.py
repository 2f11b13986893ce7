"""Inscriptions: the children's enrollments in activities and their state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import DataTable

from regie_tui import formatting
from regie_tui.labels import ENROLLMENT_STATUS, label
from regie_tui.screens.family.pane import FilePane

if TYPE_CHECKING:
    from regie_tui.services.families.file import FamilyDetail


class EnrollmentsPane(FilePane):
    def __init__(self) -> None:
        super().__init__("3 Inscriptions", id="inscriptions")

    def compose(self) -> ComposeResult:
        yield DataTable(id="enrollments", cursor_type="row")

    def show(self, detail: FamilyDetail) -> None:
        self.fill(
            "#enrollments",
            ("Enfant", "Activité", "Groupe", "Statut", "Demandée le"),
            [
                (
                    e.child,
                    e.activity,
                    e.age_group,
                    label(ENROLLMENT_STATUS, e.status),
                    formatting.local_datetime(e.requested_at)[:10],
                )
                for e in detail.enrollments
            ],
            empty="Aucune inscription.",
        )
