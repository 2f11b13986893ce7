"""Bannette (F3): the pending portal items, oldest first, decided at the keyboard.

The list (grouped by family or by kind) is above, the item under the cursor below, checked
against the file as it is now. a accepts, r refuses with a reason, A accepts all of the
family; after a decision the cursor stays on the next item.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Header, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from regie_tui import clock, formatting, workers
from regie_tui.inbox_text import render_detail
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen, PickOne, TextPrompt
from regie_tui.services.portal.inbox import (
    AcceptChoice,
    Decision,
    DocumentInfo,
    InboxFilter,
    InboxPage,
    InboxRow,
    ItemDetail,
    NeedsChoice,
    Template,
)
from regie_tui.services.portal.pending import KINDS, SHORT_LABELS

if TYPE_CHECKING:
    from sqlmodel import Session

WAITING_STEPS = (None, 2, 7, 30)  # the age filter cycles through these (days)
FAMILY_WIDTH, KIND_WIDTH = 14, 13
PAGE_ROWS = 100  # the oldest items; filters reach the others


def _os_error(error: OSError) -> str:
    """A file error in French."""
    if isinstance(error, FileNotFoundError):
        return "ce dossier n'existe pas"
    if isinstance(error, PermissionError):
        return "accès refusé"
    if isinstance(error, IsADirectoryError):
        return "c'est un dossier"
    return "erreur d'écriture"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class InboxScreen(RegieScreen):
    HELP_TITLE = "Bannette"
    BINDINGS = [
        Binding("a", "accept", "Accepter", id="inbox-accept", tooltip="Accepter l'élément (appliqué à la fiche)"),
        Binding("r", "refuse", "Refuser", id="inbox-refuse", tooltip="Refuser avec un motif (modèle ou saisi)"),
        Binding(
            "A",
            "accept_family",
            "Tout accepter",
            id="inbox-accept-family",
            tooltip="Accepter tous les éléments de la famille qui ne demandent pas de choix",
        ),
        Binding("g", "grouping", "Grouper", show=False, id="inbox-grouping", tooltip="Grouper par famille ou par type"),
        Binding("t", "kind_filter", "Type", id="inbox-kind", tooltip="Filtrer par type d'élément (cycle)"),
        Binding(
            "v",
            "age_filter",
            "Ancienneté",
            show=False,
            id="inbox-age",
            tooltip="Ne montrer que les éléments en attente depuis 2, 7 ou 30 jours (cycle)",
        ),
        Binding(
            "c",
            "activity_filter",
            "Activité",
            show=False,
            id="inbox-activity",
            tooltip="Filtrer par activité ou structure",
        ),
        Binding("slash", "text_filter", "Chercher", show=False, id="inbox-text", tooltip="Filtrer par texte"),
        Binding(
            "o",
            "open_document",
            "Ouvrir",
            show=False,
            id="inbox-open",
            tooltip="Ouvrir le document avec la visionneuse du système (ou l'enregistrer)",
        ),
        Binding(
            "s",
            "save_document",
            "Enregistrer sous",
            show=False,
            id="inbox-save",
            tooltip="Enregistrer le document dans un fichier",
        ),
        Binding("e", "reply", "Répondre", show=False, id="inbox-reply", tooltip="Répondre au message (par courriel)"),
        Binding("f", "open_family", "Fiche", show=False, id="inbox-family", tooltip="Ouvrir la fiche de la famille"),
        Binding("m", "outbox", "Envois", show=False, id="inbox-outbox", tooltip="Boîte d'envoi des courriels"),
        Binding("ctrl+r", "reload", "Actualiser", show=False, id="inbox-reload", tooltip="Relire la bannette"),
        Binding(
            "home", "first", "Premier", show=False, id="inbox-first", tooltip="Le premier élément (le plus ancien)"
        ),
        Binding("end", "last", "Dernier", show=False, id="inbox-last", tooltip="Le dernier élément de la liste"),
        Binding("escape", "back", "Retour", id="inbox-back", tooltip="Revenir au tableau de bord"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filters = InboxFilter()
        self.grouping: str = "family"
        self.page: InboxPage | None = None
        self.detail: ItemDetail | None = None
        self._keep_row = 0
        self._activity_label = ""  # the activity or facility filtered on, as the header names it
        self._activity_options: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Chargement…", id="inbox-counts")
        yield Static(
            "↑↓ : élément · a : accepter · r : refuser · A : toute la famille · F1 : toutes les touches",
            id="inbox-status",
        )
        yield DataTable(id="inbox-list", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(id="inbox-detail"):
            yield Static("", id="inbox-item")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Bannette"
        table = self.query_one("#inbox-list", DataTable)
        table.add_column("Famille", width=FAMILY_WIDTH, key="family")
        table.add_column("Type", width=KIND_WIDTH, key="kind")
        table.add_column("Reçu", width=5, key="at")
        table.add_column("Objet", width=self._summary_width(), key="summary")
        if self.regie.connected:
            self.refresh_list()
        else:
            self.regie.database_opened.subscribe(self, lambda _: self.refresh_list())

    def on_screen_resume(self) -> None:
        """Back to the bannette: what other agents (or the import) did since shows."""
        if self.page is not None and self.regie.connected:
            self.refresh_list()

    # ------------------------------------------------------------------ list

    def _summary_width(self) -> int:
        """What the row leaves to the summary: no sideways scrolling at any width."""
        return max(20, self.app.size.width - FAMILY_WIDTH - KIND_WIDTH - 5 - 2 * 4 - 2)

    def refresh_list(self) -> None:
        filters, grouping, now, keep = self.filters, self.grouping, clock.now(), self._keep_row
        agent = self.regie.agent
        assert agent is not None

        def query(db: Session) -> tuple[InboxPage, ItemDetail | None]:
            from regie_tui.services.portal.inbox import inbox_page, item_detail

            page = inbox_page(db, filters=filters, grouping=grouping, now=now, limit=PAGE_ROWS)  # type: ignore[arg-type]
            if not page.rows:
                return page, None
            # The item under the cursor comes with the list: one read, one paint.
            first = page.rows[min(keep, len(page.rows) - 1)].id
            return page, item_detail(db, submission_id=first, agent=agent, now=now)

        self.load(query, self._show_page)

    def _show_page(self, result: tuple[InboxPage, ItemDetail | None]) -> None:
        page, detail = result
        self.page = page
        self._show_counts()
        if detail is not None:
            self._show_detail(detail)
        table = self.query_one("#inbox-list", DataTable)
        table.clear()
        width = self._summary_width()
        previous: object = None
        for row in page.rows:
            group = self._group(row)
            first = group != previous
            previous = group
            table.add_row(
                _clip(row.family_name, FAMILY_WIDTH) if first or self.grouping == "kind" else "",
                _clip(row.kind_label, KIND_WIDTH) if first or self.grouping == "family" else "",
                formatting.short_date(row.submitted_at.astimezone(clock.PARIS).date())[:5],
                _clip(row.summary, width),
                key=str(row.id),
            )
        if page.rows:
            table.move_cursor(row=min(self._keep_row, len(page.rows) - 1))
        else:
            self._show_empty()

    def _group(self, row: InboxRow) -> object:
        return row.family_id if self.grouping == "family" else row.kind

    def _show_empty(self) -> None:
        self.detail = None
        self.query_one("#inbox-item", Static).update("La bannette est vide pour ce filtre. Bon travail !")

    def _show_counts(self) -> None:
        page = self.page
        assert page is not None
        counts = " · ".join(f"{SHORT_LABELS[k]} {getattr(page.counts, k)}" for k in KINDS)
        shown = f"{page.total} élément(s)" + (
            f" (les {len(page.rows)} plus anciens)" if page.total > len(page.rows) else ""
        )
        self.query_one("#inbox-counts", Static).update(
            f"[b]{shown}[/b] · {_GROUPING[self.grouping]} · {self._filter_label()}\n{counts}"
        )

    def _drop_row(self, submission_id: int, kind: str) -> None:
        """A decided item leaves the list at once; the one that takes its place is under the cursor."""
        page = self.page
        assert page is not None
        name = next(name for name, (kinds, _) in KINDS.items() if kind in kinds)
        counts = replace(page.counts, **{name: getattr(page.counts, name) - 1})
        position = next(i for i, row in enumerate(page.rows) if row.id == submission_id)
        rows = [row for row in page.rows if row.id != submission_id]
        self.page = InboxPage(rows=rows, counts=counts, total=page.total - 1)
        table = self.query_one("#inbox-list", DataTable)
        if position < len(rows) and (
            position == 0 or self._group(page.rows[position - 1]) != self._group(rows[position])
        ):
            heir = rows[position]  # now the first of its group: it shows the group's name
            column = "family" if self.grouping == "family" else "kind"
            label = heir.family_name if column == "family" else heir.kind_label
            table.update_cell(str(heir.id), column, _clip(label, FAMILY_WIDTH if column == "family" else KIND_WIDTH))
        table.remove_row(str(submission_id))
        self._show_counts()
        if not rows:
            self._show_empty()

    def _filter_label(self) -> str:
        f = self.filters
        parts = []
        if f.kind:
            parts.append(SHORT_LABELS[f.kind])
        if f.waiting_days:
            parts.append(f"≥ {f.waiting_days} j")
        if f.activity_id or f.facility_id:
            parts.append(self._activity_label)
        if f.text:
            parts.append(f"« {f.text} »")
        return "filtre : " + (", ".join(parts) if parts else "aucun")

    @on(DataTable.RowHighlighted, "#inbox-list")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._keep_row = event.cursor_row
        self._show_current()

    def _current_id(self) -> int | None:
        table = self.query_one("#inbox-list", DataTable)
        if not self.page or not self.page.rows or table.cursor_row < 0:
            return None
        return self.page.rows[min(table.cursor_row, len(self.page.rows) - 1)].id

    def _show_current(self) -> None:
        submission_id = self._current_id()
        if submission_id is None or (self.detail is not None and self.detail.id == submission_id):
            return  # already shown (it came with the list, or with the last decision)
        now, agent = clock.now(), self.regie.agent
        assert agent is not None

        def query(db: Session) -> ItemDetail:
            from regie_tui.services.portal.inbox import item_detail

            return item_detail(db, submission_id=submission_id, agent=agent, now=now)

        workers.read(self, query, self._show_detail, group="detail")

    def _show_detail(self, detail: ItemDetail) -> None:
        """The item at once; a document's first page or picture follows (a second read)."""
        self.detail = detail
        box = self.query_one("#inbox-detail", VerticalScroll)
        for image in box.query(".inbox-image"):
            image.remove()
        self.query_one("#inbox-item", Static).update(render_detail(detail))
        if detail.document is None or not detail.document.readable:
            return
        if detail.document.media_type == "application/pdf":
            self._show_pdf_text(detail)
        else:
            self._show_image(detail.id, box)

    def _show_pdf_text(self, detail: ItemDetail) -> None:
        submission_id, agent = detail.id, self.regie.agent
        assert agent is not None

        def query(db: Session) -> str:
            from regie_tui.services.portal.inbox import document_content, pdf_first_page_text

            return pdf_first_page_text(document_content(db, submission_id=submission_id, agent=agent)[1])

        def show(text: str) -> None:
            if self.detail is detail:
                self.query_one("#inbox-item", Static).update(render_detail(detail, text))

        workers.read(self, query, show, group="preview")

    def _show_image(self, submission_id: int, box: VerticalScroll) -> None:
        agent = self.regie.agent
        assert agent is not None

        def query(db: Session) -> bytes:
            from regie_tui.services.portal.inbox import document_content

            return document_content(db, submission_id=submission_id, agent=agent)[1]

        def show(content: bytes) -> None:
            import io

            from PIL import Image as PILImage
            from textual_image.widget import Image

            if self.detail is None or self.detail.id != submission_id:
                return
            image = Image(PILImage.open(io.BytesIO(content)), classes="inbox-image")
            box.mount(image)

        workers.read(self, query, show, group="image")

    # ------------------------------------------------------------------ filters and grouping

    def action_reload(self) -> None:
        self.refresh_list()

    def action_first(self) -> None:
        self.query_one("#inbox-list", DataTable).move_cursor(row=0)

    def action_last(self) -> None:
        table = self.query_one("#inbox-list", DataTable)
        table.move_cursor(row=max(0, table.row_count - 1))

    def show_kind(self, kind: str) -> None:
        """Only the items of ``kind`` (a key of pending.KINDS), as a dashboard counter asks."""
        self.filters = InboxFilter(kind=kind)
        self._activity_label = ""
        self._keep_row = 0
        if self.is_mounted and self.regie.connected:
            self.refresh_list()

    def action_grouping(self) -> None:
        self.grouping = "kind" if self.grouping == "family" else "family"
        self._keep_row = 0
        self.refresh_list()

    def action_kind_filter(self) -> None:
        order = [None, *KINDS]
        self.filters = replace(self.filters, kind=order[(order.index(self.filters.kind) + 1) % len(order)])
        self._keep_row = 0
        self.refresh_list()

    def action_age_filter(self) -> None:
        position = WAITING_STEPS.index(self.filters.waiting_days)
        self.filters = replace(self.filters, waiting_days=WAITING_STEPS[(position + 1) % len(WAITING_STEPS)])
        self._keep_row = 0
        self.refresh_list()

    def action_text_filter(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                self.filters = replace(self.filters, text=text.strip())
                self._keep_row = 0
                self.refresh_list()

        self.app.push_screen(TextPrompt("Filtrer la bannette (texte, vide pour tout voir)", self.filters.text), done)

    def action_activity_filter(self) -> None:
        def query(db: Session) -> list[tuple[str, str]]:
            from sqlmodel import col, select

            from regie_tui.models import Activity, Facility

            options = [("", "Toutes les activités")]
            for facility in db.exec(select(Facility).order_by(col(Facility.name))):
                options.append((f"f{facility.id}", f"Structure : {facility.name}"))
            for activity in db.exec(select(Activity).order_by(col(Activity.start_date).desc(), col(Activity.name))):
                options.append((f"a{activity.id}", f"Activité : {activity.name}"))
            return options

        def chosen(value: str | None) -> None:
            if value is None:
                return
            label = dict(self._activity_options).get(value, "")
            self._activity_label = label.split(" : ", 1)[-1]
            self.filters = replace(
                self.filters,
                activity_id=int(value[1:]) if value.startswith("a") else None,
                facility_id=int(value[1:]) if value.startswith("f") else None,
            )
            self._keep_row = 0
            self.refresh_list()

        def ask(options: list[tuple[str, str]]) -> None:
            self._activity_options = options
            self.app.push_screen(PickOne("Filtrer par activité ou structure", options), chosen)

        self.load(query, ask)

    # ------------------------------------------------------------------ decisions

    def _decide(self, action: Any, *, on_choice: Any = None) -> None:
        """Run a decision in a worker; the next item comes back with it (one read, one paint).
        Show the outcome, or ask for the choice the decision needs."""
        decided = self.detail
        assert decided is not None and self.page is not None
        position = next(i for i, row in enumerate(self.page.rows) if row.id == decided.id)
        after = [
            row.id for row in self.page.rows[position + 1 : position + 2] or self.page.rows[position - 1 : position]
        ]
        now, agent = clock.now(), self.regie.agent
        assert agent is not None

        def work(db: Session) -> tuple[Decision | NeedsChoice, ItemDetail | None]:
            from regie_tui.services.portal.inbox import item_detail

            savepoint = db.begin_nested()
            try:
                outcome: Decision = action(db)
            except NeedsChoice as needs:
                savepoint.rollback()
                return needs, None
            savepoint.commit()
            following = item_detail(db, submission_id=after[0], agent=agent, now=now) if after else None
            return outcome, following

        def done(result: tuple[Decision | NeedsChoice, ItemDetail | None]) -> None:
            outcome, following = result
            if isinstance(outcome, NeedsChoice):
                if on_choice is not None:
                    on_choice(outcome)
                return
            if following is not None:
                self._show_detail(following)
            self._drop_row(decided.id, decided.kind)
            title = (outcome.verdict or "acceptée").capitalize() if outcome.accepted else "Refusée"
            mail = " · courriel en boîte d'envoi" if outcome.mail_id is not None else ""
            self.query_one("#inbox-status", Static).update(
                f"[b $success]✓ n° {decided.id} {title.lower()}[/] : {escape(outcome.message)}{mail}"
            )
            refused = [line for line in outcome.details if "refusé" in line]
            if refused or outcome.verdict:  # what the agent must not miss stays in view a while
                self.notify("\n".join([outcome.message, *refused[:6]]), title=title, timeout=8)

        def failed(message: str) -> None:
            self.notify(message, title="Rien n'a été fait", severity="error", timeout=10)
            self.refresh_list()

        workers.write(self, work, done, on_error=failed)

    def action_accept(self, choice: AcceptChoice | None = None) -> None:
        detail = self.detail
        if detail is None or detail.id != self._current_id():
            return
        if choice is None and detail.document is not None:
            self._ask_validity(detail)
            return
        agent, now = self.regie.agent, clock.now()
        assert agent is not None
        submission_id = detail.id

        def action(db: Session) -> Decision:
            from regie_tui.services.portal.inbox import accept

            return accept(db, submission_id=submission_id, agent=agent, now=now, choice=choice or AcceptChoice())

        self._decide(action, on_choice=lambda needs: self._ask_choice(needs, submission_id))

    def _ask_validity(self, detail: ItemDetail) -> None:
        """A document is accepted with its validity: the proposed dates, which the agent may change."""
        assert detail.document is not None
        submission_id = detail.id

        def chosen(dates: tuple[date, date] | None) -> None:
            if dates is not None and self._current_id() == submission_id:
                self.action_accept(AcceptChoice(valid_from=dates[0], valid_to=dates[1]))

        self.app.push_screen(ValidityDialog(detail.document), chosen)

    def _ask_choice(self, needs: NeedsChoice, submission_id: int) -> None:
        options: list[tuple[str, str]] = []
        if "force" in needs.options:
            options.append(
                ("force", f"Appliquer la demande ({needs.asked})" if needs.now else needs.asked.capitalize())
            )
        if "waiting_list" in needs.options:
            options.append(("waiting_list", "Inscrire sur liste d'attente"))
        if "group" in needs.options and self.detail is not None and self.detail.enrollment is not None:
            for group in self.detail.enrollment.groups:
                if group.age_fits:
                    places = "" if group.places_left is None else f", {group.places_left} place(s)"
                    options.append(
                        (f"group:{group.id}", f"Groupe {group.name} ({group.min_age}-{group.max_age} ans{places})")
                    )
        options.append(("refuse", "Refuser la demande…"))

        def chosen(value: str | None) -> None:
            if value is None or self._current_id() != submission_id:
                return
            if value == "refuse":
                self.action_refuse()
            elif value == "force":
                self.action_accept(AcceptChoice(force=True))
            elif value == "waiting_list":
                self.action_accept(AcceptChoice(waiting_list=True))
            elif value.startswith("group:"):
                self.action_accept(AcceptChoice(group_id=int(value.split(":")[1])))

        self.app.push_screen(PickOne(needs.message, options), chosen)

    def action_refuse(self) -> None:
        detail = self.detail
        if detail is None or detail.id != self._current_id():
            return
        if detail.kind == "message":
            self.notify("Un message ne se refuse pas : répondez (e) ou marquez-le traité (a).", timeout=6)
            return
        agent, kind, submission_id = self.regie.agent, detail.kind, detail.id
        assert agent is not None

        def query(db: Session) -> list[Template]:
            from regie_tui.services.portal.inbox import refusal_templates

            return refusal_templates(db, kind=kind)

        def refuse_with(answer: tuple[str, bool] | None) -> None:
            if not answer:
                return
            reason, keep = answer
            now = clock.now()

            def action(db: Session) -> Decision:
                from regie_tui.services.portal.inbox import refuse, save_template

                if keep:
                    save_template(db, text=reason, kind=kind, agent=agent)
                return refuse(db, submission_id=submission_id, agent=agent, reason=reason, now=now)

            self._decide(action)

        self.load(query, lambda templates: self.app.push_screen(RefuseDialog(detail.summary, templates), refuse_with))

    def action_accept_family(self) -> None:
        detail, page = self.detail, self.page
        if detail is None or page is None:
            return
        agent, family_id, name = self.regie.agent, detail.family_id, detail.family_name
        assert agent is not None

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            now = clock.now()

            def action(db: Session) -> tuple[int, list[str]]:
                from regie_tui.services.portal.inbox import accept_family

                decisions, left = accept_family(db, family_id=family_id, agent=agent, now=now)
                return len(decisions), left

            def done(result: tuple[int, list[str]]) -> None:
                accepted, left = result
                message = f"{accepted} élément(s) accepté(s) pour la famille {name}."
                if left:
                    message += f"\n{len(left)} à décider un par un :\n" + "\n".join(left[:4])
                self.notify(message, title="Famille", severity="warning" if left else "information", timeout=10)
                self.refresh_list()

            workers.write(
                self, action, done, on_error=lambda m: self.notify(m, title="Rien n'a été fait", severity="error")
            )

        self.app.push_screen(
            ConfirmScreen(
                f"Accepter tous les éléments en attente de la famille {name} (n° {family_id}), tous types "
                "confondus ? Les messages restent à traiter un par un ; les documents prennent la validité "
                "proposée ; ce qui demande un choix est laissé.",
                confirm="Tout accepter",
            ),
            confirmed,
        )

    # ------------------------------------------------------------------ documents and messages

    def _document(self, deliver: Any) -> None:
        detail = self.detail
        if detail is None or detail.document is None:
            self.notify("L'élément n'est pas un document.", timeout=4)
            return
        submission_id, agent = detail.id, self.regie.agent
        assert agent is not None

        def query(db: Session) -> tuple[str, bytes]:
            from regie_tui.services.portal.inbox import document_content

            return document_content(db, submission_id=submission_id, agent=agent)

        self.load(query, deliver)

    def action_open_document(self) -> None:
        def opened(file: tuple[str, bytes]) -> None:
            name, content = file
            viewer = shutil.which("xdg-open") or shutil.which("open")
            if not viewer or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                self.notify("Pas d'affichage graphique ici : enregistrez le fichier (s).", timeout=6)
                self.action_save_document()
                return
            folder = Path(tempfile.mkdtemp(prefix="regie-"))
            path = folder / Path(name).name
            path.write_bytes(content)
            subprocess.Popen([viewer, str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.notify(f"Ouvert : {path}", timeout=4)

        self._document(opened)

    def action_save_document(self) -> None:
        def save(file: tuple[str, bytes]) -> None:
            name, content = file

            def chosen(path_text: str | None) -> None:
                if not path_text:
                    return
                path = Path(path_text).expanduser()
                if path.is_dir():
                    path = path / Path(name).name
                if path.exists():
                    self.notify(f"{path} existe déjà : choisissez un autre nom.", severity="warning", timeout=6)
                    self.app.push_screen(TextPrompt("Enregistrer le document sous (chemin)", str(path)), chosen)
                    return
                try:
                    path.write_bytes(content)
                except OSError as error:
                    self.notify(f"Enregistrement impossible : {_os_error(error)}.", severity="error", timeout=8)
                    self.app.push_screen(TextPrompt("Enregistrer le document sous (chemin)", str(path)), chosen)
                    return
                self.notify(f"Document enregistré : {path}", timeout=5)

            self.app.push_screen(TextPrompt("Enregistrer le document sous (chemin)", str(Path.cwd() / name)), chosen)

        self._document(save)

    def action_reply(self) -> None:
        detail = self.detail
        if detail is None or detail.kind != "message":
            self.notify("L'élément n'est pas un message.", timeout=4)
            return
        agent = self.regie.agent
        assert agent is not None

        def send(body: str | None) -> None:
            if not body:
                return

            def action(db: Session) -> int:
                from regie_tui.models import Submission
                from regie_tui.services.portal.messages import reply

                message_id = db.get(Submission, detail.id).message_id  # type: ignore[union-attr]
                assert message_id is not None
                return reply(db, message_id=message_id, body=body, agent_id=agent.id)

            workers.write(
                self,
                action,
                lambda _: self.notify("Réponse en boîte d'envoi. Marquez le message traité (a).", timeout=6),
                on_error=lambda m: self.notify(m, title="Réponse non envoyée", severity="error"),
            )

        self.app.push_screen(ReplyDialog(f"Réponse à la famille {detail.family_name}", detail.body), send)

    def action_open_family(self) -> None:
        if self.detail is not None:
            self.regie.open_family(self.detail.family_id)

    def action_outbox(self) -> None:
        from regie_tui.screens.outbox import OutboxScreen

        self.app.push_screen(OutboxScreen())

    def action_back(self) -> None:
        self.app.action_dashboard()  # type: ignore[attr-defined]


_GROUPING = {"family": "par famille", "kind": "par type"}


# ---------------------------------------------------------------------- dialogs


class RefuseDialog(ModalScreen[tuple[str, bool] | None]):
    """The refusal's reason: a template picked in the list, or typed (required).

    Returns (reason, keep as a template)."""

    BINDINGS = [
        Binding("escape", "cancel", "Annuler"),
        Binding("ctrl+t", "keep", "Refuser et garder comme modèle", tooltip="Le motif tapé devient un modèle"),
    ]

    def __init__(self, summary: str, templates: list[Template]) -> None:
        super().__init__()
        self.summary, self.templates = summary, templates

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Refuser : {escape(self.summary)}", classes="dialog-title")
            yield OptionList(*(Option(t.text, id=str(t.id)) for t in self.templates), id="refuse-templates")
            yield Input(placeholder="Motif (obligatoire) : choisir un modèle ou taper", id="refuse-reason")
            yield Static(
                "Entrée sur un modèle : le reprendre · Entrée dans le motif : refuser · "
                "ctrl+t : refuser et garder le motif comme modèle · Échap : annuler",
                classes="dialog-hint",
            )

    @on(OptionList.OptionSelected)
    def _template(self, event: OptionList.OptionSelected) -> None:
        reason = self.query_one("#refuse-reason", Input)
        reason.value = str(event.option.prompt)
        reason.focus()

    def _finish(self, keep: bool) -> None:
        reason = self.query_one("#refuse-reason", Input).value.strip()
        if not reason:
            self.notify("Motif obligatoire pour refuser.", severity="warning")
            return
        self.dismiss((reason, keep))

    @on(Input.Submitted)
    def _submitted(self, _: Input.Submitted) -> None:
        self._finish(keep=False)

    def action_keep(self) -> None:
        self._finish(keep=True)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ReplyDialog(ModalScreen[str | None]):
    """A reply's text, several lines; ctrl+s sends it (through the outbox)."""

    BINDINGS = [
        Binding("escape", "cancel", "Annuler"),
        Binding("ctrl+s", "send", "Envoyer", tooltip="Mettre la réponse en boîte d'envoi"),
    ]

    def __init__(self, title: str, original: str) -> None:
        super().__init__()
        self.title_text, self.original = title, original

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(escape(self.title_text), classes="dialog-title")
            yield Static(escape(self.original), id="reply-original")
            yield TextArea(id="reply-body")
            yield Static("ctrl+s : envoyer · Échap : annuler", classes="dialog-hint")

    def action_send(self) -> None:
        body = self.query_one("#reply-body", TextArea).text.strip()
        if not body:
            self.notify("La réponse est vide.", severity="warning")
            return
        self.dismiss(body)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ValidityDialog(ModalScreen[tuple[date, date] | None]):
    """Accepting a document: valid from, valid to (proposed: the type's validity or the school year)."""

    BINDINGS = [Binding("escape", "cancel", "Annuler")]

    def __init__(self, document: DocumentInfo) -> None:
        super().__init__()
        self.document = document

    def compose(self) -> ComposeResult:
        d = self.document
        with Vertical(classes="dialog"):
            yield Static(f"Accepter : {escape(d.type_name)} — {escape(d.person)}", classes="dialog-title")
            yield Static("Valable du")
            yield Input(formatting.short_date(d.valid_from), id="valid-from")
            yield Static("au")
            yield Input(formatting.short_date(d.valid_to), id="valid-to")
            yield Static("", id="validity-error", classes="field-error")
            yield Static("Entrée : accepter · Échap : annuler", classes="dialog-hint")

    @on(Input.Submitted)
    def _submitted(self, _: Input.Submitted) -> None:
        from regie_tui.services.common.validation import InvalidValue, parse_date

        error = self.query_one("#validity-error", Static)
        try:
            start = parse_date(self.query_one("#valid-from", Input).value, "Valable du")
            end = parse_date(self.query_one("#valid-to", Input).value, "Valable au")
        except InvalidValue as invalid:
            error.update(invalid.message)
            return
        if end < start:
            error.update("La fin de validité précède son début.")
            return
        self.dismiss((start, end))

    def action_cancel(self) -> None:
        self.dismiss(None)
