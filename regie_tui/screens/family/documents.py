"""Documents: what the family sent through the portal, its state and validity."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import DataTable

from regie_tui import formatting
from regie_tui.labels import DOCUMENT_STATUS, label
from regie_tui.screens.family.pane import FilePane

if TYPE_CHECKING:
    from regie_tui.services.families.file import FamilyDetail


class DocumentsPane(FilePane):
    def __init__(self) -> None:
        super().__init__("5 Documents", id="documents")

    def compose(self) -> ComposeResult:
        yield DataTable(id="family-documents", cursor_type="row")

    def show(self, detail: FamilyDetail) -> None:
        self.fill(
            "#family-documents",
            ("Document", "Pour", "Statut", "Transmis le", "Valable jusqu'au", "Fichier"),
            [
                (
                    d.type_name,
                    d.person,
                    label(DOCUMENT_STATUS, d.status),
                    formatting.local_datetime(d.submitted_at)[:10],
                    formatting.short_date(d.valid_to),
                    d.filename,
                )
                for d in detail.documents
            ],
            empty="Aucun document transmis.",
        )
