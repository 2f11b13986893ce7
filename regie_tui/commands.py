"""The command palette (ctrl+p): every action by its French name, and families by name."""

import asyncio
from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider


class RegieCommands(Provider):
    """Actions of the app, then the families matching what was typed."""

    def _actions(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        return [
            ("Tableau de bord", "Revenir au tableau de bord", app.action_dashboard),
            ("Familles", "Chercher une famille et ouvrir sa fiche (F2)", app.action_families),
            ("Aide", "Toutes les touches de l'écran courant (F1)", app.action_help),
            ("Changer de thème", "Couleurs de l'application", app.action_change_theme),
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
        if len(query.strip()) < 2 or not self.app.connected:
            return
        page = await asyncio.to_thread(self._find_families, query)
        for row in page.rows:
            title = f"Famille {row.name}"
            yield Hit(
                0.5, title, partial(self.app.open_family, row.id), text=title,
                help=f"n° {row.id} — {row.guardians} — enfants : {row.children or 'aucun'}",
            )

    def _find_families(self, query: str):
        from regie_tui.db import session_scope
        from regie_tui.services.family_search import search_families

        with session_scope(self.app.engine) as session:
            return search_families(session, query, limit=8)
