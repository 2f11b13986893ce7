"""Bannette (F3): the pending portal items, oldest first, decided at the keyboard.

The list (grouped by family or by kind: :mod:`.item_list`) is above, the item under the
cursor below (:mod:`.item_view`), checked against the file as it is now. a accepts, r refuses
with a reason, A accepts all of the family; a decision is one service call that brings back
the next item, which the cursor stays on.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static

from regie_tui import clock, workers
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen, PickOne, TextPrompt
from regie_tui.screens.inbox.dialogs import RefuseDialog, ReplyDialog, ValidityDialog, choice_options
from regie_tui.screens.inbox.item_list import InboxTable
from regie_tui.screens.inbox.item_view import ItemView
from regie_tui.services.portal.inbox.accepting import AcceptChoice, NeedsChoice
from regie_tui.services.portal.inbox.decisions import Refusal, accept_family, decide, reply_to_message
from regie_tui.services.portal.inbox.item import item_detail
from regie_tui.services.portal.inbox.listing import InboxFilter, filter_places, inbox_page
from regie_tui.services.portal.inbox.templates import refusal_templates
from regie_tui.services.portal.pending import KINDS, SHORT_LABELS

if TYPE_CHECKING:
    from regie_tui.services.portal.inbox.decisions import Decided, Decision
    from regie_tui.services.portal.inbox.item import ItemDetail
    from regie_tui.services.portal.inbox.listing import FilterPlaces, Grouping, InboxPage
    from regie_tui.services.portal.inbox.templates import Template
    from regie_tui.services.trust.agents import AgentInfo
    from regie_tui.workers import Db

WAITING_STEPS = (None, 2, 7, 30)  # the age filter cycles through these (days)
PAGE_ROWS = 100  # the oldest items; filters reach the others
_GROUPING = {"family": "par famille", "kind": "par type"}


class InboxScreen(RegieScreen):
    HELP_TITLE = "Bannette"
    CSS_PATH = "inbox.tcss"
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
        self.grouping: Grouping = "family"
        self._keep_row = 0
        #: Decisions shown so far: a list read before the last one landed is stale (it was read
        #: while the decision was written, e.g. on the resume that follows a dialog) and not shown.
        self._decisions_shown = 0
        self._activity_label = ""  # the activity or facility filtered on, as the header names it

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Chargement…", id="inbox-counts")
        yield Static(
            "↑↓ : élément · a : accepter · r : refuser · A : toute la famille · F1 : toutes les touches",
            id="inbox-status",
        )
        yield InboxTable()
        yield ItemView()
        yield Footer()

    @property
    def items(self) -> InboxTable:
        return self.query_one(InboxTable)

    @property
    def item_view(self) -> ItemView:
        return self.query_one(ItemView)

    @property
    def page(self) -> InboxPage | None:
        """The page of the list (None before the first read)."""
        return self.items.page

    @property
    def detail(self) -> ItemDetail | None:
        """The item shown below the list."""
        return self.item_view.detail

    def _agent(self) -> AgentInfo:
        agent = self.desk.agent
        assert agent is not None
        return agent

    def on_mount(self) -> None:
        self.sub_title = "Bannette"
        self.items.add_item_columns()
        if self.desk.connected:
            self.refresh_list()
        else:
            self.desk.database_opened.subscribe(self, lambda _: self.refresh_list())

    def on_screen_resume(self) -> None:
        """Back to the bannette: what other agents (or the import) did since shows."""
        if self.page is not None and self.desk.connected:
            self.refresh_list()

    # ------------------------------------------------------------------ list

    def refresh_list(self) -> None:
        filters, grouping, now, keep, agent = self.filters, self.grouping, clock.now(), self._keep_row, self._agent()
        decisions = self._decisions_shown

        def query(db: Db) -> tuple[InboxPage, ItemDetail | None]:
            page = inbox_page(db, filters=filters, grouping=grouping, now=now, limit=PAGE_ROWS)
            if not page.rows:
                return page, None
            # The item under the cursor comes with the list: one read, one paint.
            first = page.rows[min(keep, len(page.rows) - 1)].id
            return page, item_detail(db, submission_id=first, agent=agent, now=now)

        def show(result: tuple[InboxPage, ItemDetail | None]) -> None:
            if decisions == self._decisions_shown:
                self._show_page(result)

        self.load(query, show)

    def _show_page(self, result: tuple[InboxPage, ItemDetail | None]) -> None:
        page, detail = result
        self.items.page = page
        self._show_counts()
        if detail is not None:
            self._show_detail(detail)
        self.items.fill(page, self.grouping, keep_row=self._keep_row)
        if not page.rows:
            self.item_view.show_empty()

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

    def _show_current(self) -> None:
        submission_id = self.items.current_id()
        if submission_id is None or (self.detail is not None and self.detail.id == submission_id):
            return  # already shown (it came with the list, or with the last decision)
        now, agent = clock.now(), self._agent()
        workers.read(
            self,
            lambda db: item_detail(db, submission_id=submission_id, agent=agent, now=now),
            self._show_detail,
            group="detail",
        )

    def _show_detail(self, detail: ItemDetail) -> None:
        self.item_view.show(detail)

    # ------------------------------------------------------------------ filters and grouping

    def action_reload(self) -> None:
        self.refresh_list()

    def action_first(self) -> None:
        self.items.move_cursor(row=0)

    def action_last(self) -> None:
        self.items.move_cursor(row=max(0, self.items.row_count - 1))

    def show_kind(self, kind: str) -> None:
        """Only the items of ``kind`` (a key of pending.KINDS), as a dashboard counter asks."""
        self.filters = InboxFilter(kind=kind)
        self._activity_label = ""
        self._keep_row = 0
        if self.is_mounted and self.desk.connected:
            self.refresh_list()

    def _filter(self, filters: InboxFilter) -> None:
        self.filters = filters
        self._keep_row = 0
        self.refresh_list()

    def action_grouping(self) -> None:
        self.grouping = "kind" if self.grouping == "family" else "family"
        self._keep_row = 0
        self.refresh_list()

    def action_kind_filter(self) -> None:
        order = [None, *KINDS]
        self._filter(replace(self.filters, kind=order[(order.index(self.filters.kind) + 1) % len(order)]))

    def action_age_filter(self) -> None:
        position = WAITING_STEPS.index(self.filters.waiting_days)
        self._filter(replace(self.filters, waiting_days=WAITING_STEPS[(position + 1) % len(WAITING_STEPS)]))

    def action_text_filter(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                self._filter(replace(self.filters, text=text.strip()))

        self.app.push_screen(TextPrompt("Filtrer la bannette (texte, vide pour tout voir)", self.filters.text), done)

    def action_activity_filter(self) -> None:
        def ask(places: FilterPlaces) -> None:
            options = [("", "Toutes les activités")]
            options += [(f"f{i}", f"Structure : {name}") for i, name in places.facilities]
            options += [(f"a{i}", f"Activité : {name}") for i, name in places.activities]

            def chosen(value: str | None) -> None:
                if value is None:
                    return
                self._activity_label = dict(options).get(value, "").split(" : ", 1)[-1]
                self._filter(
                    replace(
                        self.filters,
                        activity_id=int(value[1:]) if value.startswith("a") else None,
                        facility_id=int(value[1:]) if value.startswith("f") else None,
                    )
                )

            self.app.push_screen(PickOne("Filtrer par activité ou structure", options), chosen)

        self.load(filter_places, ask)

    # ------------------------------------------------------------------ decisions

    def _decide(self, answer: AcceptChoice | Refusal) -> None:
        """Decide the item shown in one write, which brings back the next item (one read, one
        paint); show the outcome, or ask for the choice the decision needs."""
        decided = self.detail
        assert decided is not None and self.page is not None
        next_id = self.items.next_id(decided.id)
        now, agent = clock.now(), self._agent()

        def done(result: Decided) -> None:
            if isinstance(result.outcome, NeedsChoice):
                self._ask_choice(result.outcome, decided.id)
                return
            self._decisions_shown += 1
            if result.next_item is not None:
                self._show_detail(result.next_item)
            self.items.drop(decided.id, decided.kind)
            self._show_counts()
            if not self.items.page or not self.items.page.rows:
                self.item_view.show_empty()
            self._tell(decided.id, result.outcome)

        def failed(message: str) -> None:
            self.notify(message, title="Rien n'a été fait", severity="error", timeout=10)
            self.refresh_list()

        workers.write(
            self,
            lambda db: decide(db, submission_id=decided.id, answer=answer, agent=agent, now=now, next_id=next_id),
            done,
            on_error=failed,
        )

    def _tell(self, submission_id: int, outcome: Decision) -> None:
        title = (outcome.verdict or "acceptée").capitalize() if outcome.accepted else "Refusée"
        mail = " · courriel en boîte d'envoi" if outcome.mail_id is not None else ""
        self.query_one("#inbox-status", Static).update(
            f"[b $success]✓ n° {submission_id} {title.lower()}[/] : {escape(outcome.message)}{mail}"
        )
        refused = [line for line in outcome.details if "refusé" in line]
        if refused or outcome.verdict:  # what the agent must not miss stays in view a while
            self.notify("\n".join([outcome.message, *refused[:6]]), title=title, timeout=8)

    def action_accept(self, choice: AcceptChoice | None = None) -> None:
        detail = self.detail
        if detail is None or detail.id != self.items.current_id():
            return
        if choice is None and detail.document is not None:
            self._ask_validity(detail)
            return
        self._decide(choice or AcceptChoice())

    def _ask_validity(self, detail: ItemDetail) -> None:
        """A document is accepted with its validity: the proposed dates, which the agent may change."""
        assert detail.document is not None
        submission_id = detail.id

        def chosen(dates: tuple[date, date] | None) -> None:
            if dates is not None and self.items.current_id() == submission_id:
                self.action_accept(AcceptChoice(valid_from=dates[0], valid_to=dates[1]))

        self.app.push_screen(ValidityDialog(detail.document), chosen)

    def _ask_choice(self, needs: NeedsChoice, submission_id: int) -> None:
        def chosen(value: str | None) -> None:
            if value is None or self.items.current_id() != submission_id:
                return
            if value == "refuse":
                self.action_refuse()
            elif value == "force":
                self.action_accept(AcceptChoice(force=True))
            elif value == "waiting_list":
                self.action_accept(AcceptChoice(waiting_list=True))
            elif value.startswith("group:"):
                self.action_accept(AcceptChoice(group_id=int(value.split(":")[1])))

        self.app.push_screen(PickOne(needs.message, choice_options(needs, self.detail)), chosen)

    def action_refuse(self) -> None:
        detail = self.detail
        if detail is None or detail.id != self.items.current_id():
            return
        if detail.kind == "message":
            self.notify("Un message ne se refuse pas : répondez (e) ou marquez-le traité (a).", timeout=6)
            return
        kind = detail.kind

        def refuse_with(answer: tuple[str, bool] | None) -> None:
            if answer:
                reason, keep = answer
                self._decide(Refusal(reason=reason, keep=keep))

        def ask(templates: list[Template]) -> None:
            self.app.push_screen(RefuseDialog(detail.summary, templates), refuse_with)

        self.load(lambda db: refusal_templates(db, kind=kind), ask)

    def action_accept_family(self) -> None:
        detail, page = self.detail, self.page
        if detail is None or page is None:
            return
        agent, family_id, name = self._agent(), detail.family_id, detail.family_name

        def done(result: tuple[list[Decision], list[str]]) -> None:
            decisions, left = result
            message = f"{len(decisions)} élément(s) accepté(s) pour la famille {name}."
            if left:
                message += f"\n{len(left)} à décider un par un :\n" + "\n".join(left[:4])
            self.notify(message, title="Famille", severity="warning" if left else "information", timeout=10)
            self._decisions_shown += 1
            self.refresh_list()

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            now = clock.now()
            workers.write(
                self,
                lambda db: accept_family(db, family_id=family_id, agent=agent, now=now),
                done,
                on_error=lambda m: self.notify(m, title="Rien n'a été fait", severity="error"),
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

    def action_open_document(self) -> None:
        self.item_view.open_document()

    def action_save_document(self) -> None:
        self.item_view.save_document()

    def action_reply(self) -> None:
        detail = self.detail
        if detail is None or detail.kind != "message":
            self.notify("L'élément n'est pas un message.", timeout=4)
            return
        agent, submission_id = self._agent(), detail.id

        def send(body: str | None) -> None:
            if not body:
                return
            workers.write(
                self,
                lambda db: reply_to_message(db, submission_id=submission_id, body=body, agent=agent),
                lambda _: self.notify("Réponse en boîte d'envoi. Marquez le message traité (a).", timeout=6),
                on_error=lambda m: self.notify(m, title="Réponse non envoyée", severity="error"),
            )

        self.app.push_screen(ReplyDialog(f"Réponse à la famille {detail.family_name}", detail.body), send)

    def action_open_family(self) -> None:
        if self.detail is not None:
            self.desk.open_family(self.detail.family_id)

    def action_outbox(self) -> None:
        from regie_tui.screens.outbox import OutboxScreen

        self.app.push_screen(OutboxScreen())

    def action_back(self) -> None:
        self.app.action_dashboard()  # type: ignore[attr-defined]
