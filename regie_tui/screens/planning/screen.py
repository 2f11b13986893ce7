"""Planning: a child's reservation grid, edited at the keyboard and saved in one transaction.

Every edit key has the booking rules judge it with every pending edit (:mod:`.editing`) and
keeps it only if allowed. ctrl+s saves them all; a cell changed by someone else since it was
loaded refuses the save, tells who and when, keeps the edits and reloads the fresh state to
re-apply them on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar
from weakref import WeakSet

from textual.binding import Binding

from regie_tui import clock, workers
from regie_tui.screens.dialogs import ConfirmScreen
from regie_tui.screens.planning.editing import EditingScreen
from regie_tui.screens.planning.edits import MAX_REFUSALS_SHOWN, Batch, plural, where
from regie_tui.services.bookings.cells import StaleCells
from regie_tui.services.bookings.planning import child_grid, save_edits

if TYPE_CHECKING:
    from regie_tui.services.bookings.cells import CellCheck
    from regie_tui.services.bookings.planning import ChildGrid
    from regie_tui.workers import Db


def unsaved_plannings() -> list[PlanningScreen]:
    """The open plannings (in any mode's stack) holding changes not saved yet: quitting asks first."""
    return [screen for screen in _OPEN if screen.unsaved.requests]


class PlanningScreen(EditingScreen):
    """A child's planning; the grid has the focus, every key below edits the pending set."""

    HELP_TITLE = "Planning"
    BINDINGS: ClassVar = [
        Binding(
            "space",
            "book_or_free",
            "Réserver/libérer",
            id="planning-toggle",
            tooltip="Réserver ou libérer la sélection",
            key_display="espace",
        ),
        Binding("p", "set('present')", "Présent", show=False, id="planning-present", tooltip="Pointer présent"),
        Binding(
            "s",
            "set('present_special')",
            "Prés. spéciale",
            show=False,
            id="planning-special",
            tooltip="Présence spéciale (venu sans réservation)",
        ),
        Binding("j", "set('absent_justified')", "Abs. justifiée", show=False, id="planning-justified"),
        Binding("n", "set('absent_unjustified')", "Abs. non justifiée", show=False, id="planning-unjustified"),
        Binding("w", "set('waiting_list')", "Liste d'attente", show=False, id="planning-waiting"),
        Binding(
            "r",
            "repeat",
            "Répéter",
            show=False,
            id="planning-repeat",
            tooltip="Répéter la semaine des lignes sélectionnées chaque semaine jusqu'à une date",
        ),
        Binding("c", "copy_week", "Copier sem.", show=False, id="planning-copy", tooltip="Copier la semaine"),
        Binding("x", "paste_week", "Coller sem.", show=False, id="planning-paste", tooltip="Coller sur cette semaine"),
        Binding(
            "ctrl+z", "undo", "Annuler", show=False, id="planning-undo", tooltip="Annuler la dernière modification"
        ),
        Binding("ctrl+y", "redo", "Rétablir", show=False, id="planning-redo", tooltip="Rétablir la modification"),
        Binding("ctrl+s", "save", "Enregistrer", id="planning-save", tooltip="Enregistrer toutes les modifications"),
        Binding("v", "cycle_view", "Vue", id="planning-view", tooltip="Semaine → Mois → Jour"),
        Binding("pageup", "period(-1)", "Période préc.", show=False, id="planning-previous", key_display="pg préc"),
        Binding("pagedown", "period(1)", "Période suiv.", show=False, id="planning-next", key_display="pg suiv"),
        Binding("t", "today", "Aujourd'hui", show=False, id="planning-today", tooltip="Aller à aujourd'hui"),
        Binding("g", "go_to", "Aller au…", show=False, id="planning-go", tooltip="Aller à une date (JJ/MM/AAAA)"),
        Binding("l,question_mark", "legend", "Légende", id="planning-legend", tooltip="Les 13 aspects d'une cellule"),
        Binding("ctrl+r", "reload", "Relire", show=False, id="planning-reload", tooltip="Relire le planning"),
        Binding("escape", "back", "Retour", id="planning-back", tooltip="Quitter le planning", key_display="échap"),
        Binding("q", "quit_app", "Quitter", show=False, id="planning-quit", tooltip="Quitter regie-tui"),
    ]
    CSS_PATH = "planning.tcss"

    def on_mount(self) -> None:
        """Counted among the open plannings (Textual then runs GridScreen's on_mount: the first read)."""
        _OPEN.add(self)

    def on_unmount(self) -> None:
        _OPEN.discard(self)

    # ---------------------------------------------------------------- saving

    def action_save(self) -> None:
        self._when_idle(self._save)

    def _save(self) -> None:
        if not self.unsaved.requests:
            self._status("Aucune modification à enregistrer.")
            return
        agent, child_id, now = self.desk.agent, self.child_id, clock.now()
        if agent is None:
            return
        edits = list(self.unsaved.requests.values())
        loaded = {key: self.known[key].stamp for key in self.unsaved.requests if key in self.known}
        override, reason = self.override_notice, self.reason

        def action(db: Db) -> list[CellCheck] | StaleCells:
            try:
                return save_edits(
                    db,
                    child_id=child_id,
                    edits=edits,
                    loaded=loaded,
                    agent=agent,
                    now=now,
                    override_notice=override,
                    reason=reason,
                )
            except StaleCells as stale:
                return stale  # nothing was written

        def failed(message: str) -> None:
            self._status(f"Rien n'a été enregistré : {message}", refused=True)
            self._idle()

        self._busy = True
        self._status("Enregistrement…")
        workers.write(self, action, self._saved, on_error=failed, group="planning-save")

    def _saved(self, result: list[CellCheck] | StaleCells) -> None:
        if isinstance(result, StaleCells):
            self._busy = False
            self._queued.clear()  # keys typed after a refused save are not applied blindly
            self._stale(result)
            return
        changed = [c for c in result if c.allowed]
        refused = [c for c in result if not c.allowed]
        waiting = [c for c in changed if c.waiting_list]
        promoted = [c.promoted for c in changed if c.promoted is not None]
        parts = [f"{plural(len(changed), 'cellule')} enregistrée{'s' if len(changed) > 1 else ''}"]
        if waiting:
            parts.append(f"{plural(len(waiting), 'en liste', 'en liste')} d'attente")
        if promoted:
            names = ", ".join(p.child_name for p in promoted)
            parts.append(f"place libérée donnée à {names} (liste d'attente, famille prévenue)")
        if refused:
            parts.append(
                f"{plural(len(refused), 'refusée')} : "
                + " ; ".join(f"{where(c)} : {c.rule}" for c in refused[:MAX_REFUSALS_SHOWN])
            )
        self.unsaved = Batch()
        self.undo_stack.clear()
        self.redo_stack.clear()
        self.override_notice, self.reason = False, ""
        message = " · ".join(parts)

        def reloaded() -> None:
            self._status(message, refused=bool(refused))
            self._idle()  # keys typed after ctrl+s apply to the grid as saved

        self.refresh_grid(then=reloaded)

    def _stale(self, stale: StaleCells) -> None:
        """Keep the edits, read the fresh state of their cells, judge them on it again."""
        report = str(stale)
        self.notify(report, title="Planning modifié par ailleurs", severity="error", timeout=15)
        keys = list(self.unsaved.requests)
        first, last = min(k[0] for k in keys), max(k[0] for k in keys)
        child_id, now = self.child_id, clock.now()

        def fresh(found: ChildGrid) -> None:
            self.known.update(found.cells)
            self.refresh_grid(then=lambda: self._recheck(report))

        workers.read(
            self,
            lambda db: child_grid(db, child_id=child_id, first=first, last=last, now=now),
            fresh,
            group="planning-cells",
        )

    def _recheck(self, report: str) -> None:
        """Judge the kept edits on the fresh state; drop those now refused, with their rules."""
        requests = list(self.unsaved.requests.values())
        query = self._checking(requests)
        if query is None:
            return

        def judged(checks: list[CellCheck]) -> None:
            dropped = [c for c in checks if not c.allowed]
            for check in dropped:
                key = (check.day, check.unit_id)
                self.unsaved.requests.pop(key, None)
                self.unsaved.states.pop(key, None)
            for request, check in zip(requests, checks, strict=True):
                key = (request.day, request.unit_id)
                if check.allowed and key in self.unsaved.states and request.action != "cancel":
                    self.unsaved.states[key] = check.state
            self._show_count()
            lines = report.splitlines()
            text = f"{lines[0]} {' '.join(lines[1:])}"
            if dropped:
                text += " — retirées : " + " ; ".join(f"{where(c)} : {c.rule}" for c in dropped)
            text += " — ctrl+s pour enregistrer sur l'état à jour."
            self._status(text, refused=True)

        workers.read(self, query, judged, group="planning-recheck")

    # ---------------------------------------------------------------- leaving

    def _leave(self, then: Callable[[], object]) -> None:
        count = len(self.unsaved.requests)
        if not count:
            then()
            return

        def answered(leave: bool | None) -> None:
            if leave:
                then()

        changes = f"{count} modification{'s' if count > 1 else ''} non enregistrée{'s' if count > 1 else ''}"
        question = f"{changes} : elles seront perdues. Quitter le planning quand même ?"
        self.app.push_screen(ConfirmScreen(question, confirm="Quitter sans enregistrer"), answered)

    def action_back(self) -> None:
        self._leave(self.app.pop_screen)

    def action_quit_app(self) -> None:
        self._leave(self.app.exit)


_OPEN: WeakSet[PlanningScreen] = WeakSet()
