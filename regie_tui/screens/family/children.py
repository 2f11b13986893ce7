"""Enfants: the family's children, their school, diets and (for the roles allowed) health notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import DataTable

from regie_tui import formatting
from regie_tui.labels import HEALTH_KIND, SEX, label
from regie_tui.screens.family.pane import FilePane

if TYPE_CHECKING:
    from regie_tui.services.families.file import FamilyDetail


class ChildrenPane(FilePane):
    def __init__(self) -> None:
        super().__init__("2 Enfants", id="enfants")

    def compose(self) -> ComposeResult:
        yield DataTable(id="children", cursor_type="row")

    def show(self, detail: FamilyDetail) -> None:
        rows = []
        for c in detail.children:
            if c.health_notes is None:
                health = "accès réservé" if c.health_note_count else ""
            else:
                health = "; ".join(f"{label(HEALTH_KIND, n.kind)} : {n.text}" for n in c.health_notes)
            rows.append(
                (
                    c.first_name,
                    c.last_name,
                    label(SEX, c.sex),
                    formatting.short_date(c.birth_date),
                    f"{c.age} ans",
                    c.school,
                    c.school_class,
                    ", ".join(c.diets),
                    health,
                )
            )
        self.fill(
            "#children",
            ("Prénom", "Nom", "Sexe", "Né(e) le", "Âge", "École", "Classe", "Régime", "Santé"),
            rows,
            empty="Aucun enfant.",
        )
