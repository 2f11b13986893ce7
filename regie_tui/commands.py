"""The command palette (ctrl+p): every action by its French name, and families by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from regie_tui import workers
from regie_tui.screens.base import Desk

if TYPE_CHECKING:
    from regie_tui.services.families.search import FamilyPage
    from regie_tui.workers import Db

PALETTE_FAMILIES = 8


def _find_families(query: str) -> Callable[[Db], FamilyPage]:
    def run(session: Db) -> FamilyPage:
        from regie_tui.services.families.search import search_families

        return search_families(session, query, limit=PALETTE_FAMILIES)

    return run


class RegieCommands(Provider):
    """Actions of the app, then the families matching what was typed."""

    def _actions(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        return [
            ("Tableau de bord", "Revenir au tableau de bord", partial(app.run_action, "dashboard")),
            ("Familles", "Chercher une famille et ouvrir sa fiche (F2)", partial(app.run_action, "families")),
            ("Bannette", "Décider ce que les familles ont envoyé (F3)", partial(app.run_action, "inbox")),
            (
                "Planning d'un enfant",
                "Ses réservations à la semaine ou au mois (F4)",
                partial(app.run_action, "planning"),
            ),
            (
                "Pointage",
                "Les enfants attendus un jour sur une activité, présents ou absents (F5)",
                partial(app.run_action, "roster"),
            ),
            (
                "Occupation d'une activité",
                "Places réservées contre capacité, jour par jour, sur un mois (F6)",
                partial(app.run_action, "occupancy"),
            ),
            (
                "Facturation",
                "Le lancement mensuel d'une régie : aperçu, anomalies, émission (F7)",
                partial(app.run_action, "billing"),
            ),
            (
                "Encaissements",
                "Enregistrer un règlement, le journal de caisse du jour, sa clôture (F8)",
                partial(app.run_action, "payments"),
            ),
            (
                "Relances",
                "Les factures impayées à 30, 60, 90 jours ; les lettres de relance (F9)",
                partial(app.run_action, "reminders"),
            ),
            ("Tarifs", "Les tarifs par unité et tranche de QF, à une date (F10)", partial(app.run_action, "rates")),
            ("Boîte d'envoi", "Courriels aux familles : à envoyer, envoyés, échecs", partial(app.run_action, "outbox")),
            (
                "Publications du portail",
                "Documents de la structure et actualités montrés aux familles",
                partial(app.run_action, "publications"),
            ),
            ("Aide", "Toutes les touches de l'écran courant (F1)", partial(app.run_action, "help")),
            ("Quitter", "Quitter regie-tui (q)", app.exit),
        ]

    async def discover(self) -> Hits:
        for name, help_text, callback in self._actions():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._actions():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
        desk = cast(Desk, self.app)
        if len(query.strip()) < 2 or not desk.connected:
            return
        page = await workers.fetch(self.app, _find_families(query), group="palette")
        if page is None:
            return
        for row in page.rows:
            title = f"Famille {row.name}"
            yield Hit(
                0.5,
                title,
                partial(desk.open_family, row.id),
                text=title,
                help=f"n° {row.id} — {row.guardians} — enfants : {row.children or 'aucun'}",
            )
