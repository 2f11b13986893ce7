"""Foyer: the household's address, quotient, consents and portal account; its responsables
and the persons allowed to collect the children."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from regie_tui import formatting
from regie_tui.labels import CONSENT_KIND, label
from regie_tui.screens.family.pane import FilePane

if TYPE_CHECKING:
    from regie_tui.services.families.file import FamilyDetail


def yes(flag: bool) -> str:
    return "oui" if flag else "non"


class HouseholdPane(FilePane):
    def __init__(self) -> None:
        super().__init__("1 Foyer", id="foyer")

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("", id="household")
            yield DataTable(id="guardians", cursor_type="row")
            yield DataTable(id="authorized", cursor_type="row")

    def show(self, detail: FamilyDetail) -> None:
        self.query_one("#household", Static).update("\n".join(_household_lines(detail)))
        self.fill(
            "#guardians",
            ("Responsable", "Lien", "Payeur", "Mobile", "Domicile", "Travail", "E-mail"),
            [
                (
                    g.name,
                    g.relationship,
                    "oui" if g.is_payer else "",
                    g.mobile_phone,
                    g.home_phone,
                    g.work_phone,
                    g.email,
                )
                for g in detail.guardians
            ],
            empty="Aucun responsable.",
        )
        self.fill(
            "#authorized",
            ("Personne autorisée", "Lien", "Téléphone", "Récupère", "À prévenir"),
            [
                (p.name, p.relationship, p.phone, yes(p.may_collect), yes(p.emergency_contact))
                for p in detail.authorized_persons
            ],
            empty="Aucune personne autorisée.",
        )


def _household_lines(detail: FamilyDetail) -> list[str]:
    q = detail.quotient
    quotient = (
        f"{q.value} ({q.source}, {q.bracket or 'tranche inconnue'}) du {formatting.short_date(q.valid_from)} "
        f"au {formatting.short_date(q.valid_to)}"
        if q
        else "non fourni"
    )
    consents = ", ".join(f"{label(CONSENT_KIND, k)} : {yes(v)}" for k, v in sorted(detail.consents.items()))
    last_login = formatting.local_datetime(detail.portal_last_login) or "jamais"
    portal = f"{detail.portal_email} (dernière connexion : {last_login})" if detail.portal_email else "pas de compte"
    lines = [
        f"Adresse : {detail.address}"
        + (f", {detail.address_extra}" if detail.address_extra else "")
        + f", {detail.postal_code} {detail.city} ({'résident' if detail.resident else 'extérieur'})",
        f"Quotient familial : {quotient}",
        f"Consentements : {consents or 'aucun'}",
        f"Espace famille : {portal}",
    ]
    if detail.notes:
        lines.append(f"Notes : {detail.notes}")
    return lines
