"""Fiche famille: tabs Foyer, Enfants, Inscriptions, Factures, Documents, Historique,
Messages (one pane each); the balance due and the alerts stay in view above the tabs.

The file is edited through the forms of :mod:`regie_tui.screens.family.form`, every save
going through :mod:`regie_tui.services.families.edit` with the stamp of the file as this
screen loaded it (:mod:`.editing`): a save over a newer file is refused.

Keys on Foyer: e modifies the responsable or personne autorisée under the cursor, n adds
one (the list in focus says which), a the address and notes, p makes the responsable the
payer, f adds a quotient familial, c the consents, suppr removes the selected person, x
archives the family. On Enfants: ⏎ opens the child's planning; e, n, h (a health note, for
roles allowed to see them).
On Historique: t the kind of entries, d the period. On Messages: ⏎ reads the message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent

from regie_tui import formatting, workers
from regie_tui.labels import CONSENT_KIND, label
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen
from regie_tui.screens.family import editing
from regie_tui.screens.family.children import ChildrenPane
from regie_tui.screens.family.documents import DocumentsPane
from regie_tui.screens.family.enrollments import EnrollmentsPane
from regie_tui.screens.family.form import FamilyForm, FormField, FormResult, Save, entity_fields, quotient_fields
from regie_tui.screens.family.history import HistoryPane
from regie_tui.screens.family.household import HouseholdPane
from regie_tui.screens.family.invoices import InvoicesPane
from regie_tui.screens.family.messages import MessagesPane
from regie_tui.screens.family.pane import FilePane
from regie_tui.services.families.edit import archive_family, diet_choices, remove_entity, set_payer
from regie_tui.services.families.file import FamilyDetail, family_detail
from regie_tui.services.families.stamps import FamilyStamp
from regie_tui.services.trust.access import Permission

if TYPE_CHECKING:
    from regie_tui.workers import Db

TABS = [
    ("foyer", "Foyer"),
    ("enfants", "Enfants"),
    ("inscriptions", "Inscriptions"),
    ("factures", "Factures"),
    ("documents", "Documents"),
    ("historique", "Historique"),
    ("messages", "Messages"),
]
#: Actions offered only on some tabs (the footer shows them there).
TAB_ACTIONS = {
    "edit": ("foyer", "enfants"),
    "new": ("foyer", "enfants"),
    "edit_family": ("foyer",),
    "payer": ("foyer",),
    "quotient": ("foyer",),
    "consents": ("foyer",),
    "remove": ("foyer",),
    "archive": ("foyer",),
    "health": ("enfants",),
    "payment": ("factures",),
    "situation": ("factures",),
    "mandates": ("factures",),
    "history_kind": ("historique",),
    "history_period": ("historique",),
}
ALERT_GLYPH = "⚠"


class FamilyScreen(RegieScreen):
    HELP_TITLE = "Fiche famille"
    CSS_PATH = "family.tcss"
    BINDINGS = [
        Binding("escape", "back", "Retour", id="back-to-list", tooltip="Revenir à la liste des familles"),
        *[
            Binding(str(n), f"tab('{tab_id}')", title, id=f"tab-{tab_id}", show=False, tooltip=f"Onglet {title}")
            for n, (tab_id, title) in enumerate(TABS, start=1)
        ],
        Binding("ctrl+right", "next_tab", "Onglet suivant", show=False),
        Binding("ctrl+left", "previous_tab", "Onglet précédent", show=False),
        Binding("e", "edit", "Modifier", id="family-edit", tooltip="Modifier la ligne sélectionnée"),
        Binding("n", "new", "Nouveau", id="family-new", tooltip="Ajouter un responsable, une personne, un enfant"),
        Binding("a", "edit_family", "Adresse", id="family-address", tooltip="Adresse, commune, résidence, notes"),
        Binding("p", "payer", "Payeur", id="family-payer", show=False, tooltip="Le responsable sélectionné paie"),
        Binding("f", "quotient", "QF", id="family-quotient", show=False, tooltip="Nouveau quotient familial"),
        Binding("c", "consents", "Consentements", id="family-consents", show=False, tooltip="Consentements RGPD"),
        Binding("delete", "remove", "Supprimer", id="family-remove", show=False, tooltip="Retirer la personne"),
        Binding("x", "archive", "Archiver", id="family-archive", show=False, tooltip="Archiver la famille"),
        Binding("h", "health", "Santé", id="family-health", tooltip="Ajouter une information sanitaire"),
        Binding("r", "payment", "Règlement", id="family-payment", tooltip="Enregistrer un règlement de la famille"),
        Binding("s", "situation", "Situation", id="family-situation", tooltip="Situation financière à une date"),
        Binding("m", "mandates", "Mandats", id="family-mandates", tooltip="Mandats de prélèvement SEPA"),
        Binding("t", "history_kind", "Type", id="history-kind", tooltip="Filtrer l'historique par type"),
        Binding("d", "history_period", "Période", id="history-period", tooltip="Filtrer l'historique par période"),
    ]

    def __init__(self, family_id: int) -> None:
        super().__init__()
        self.family_id = family_id
        self.detail: FamilyDetail | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Chargement…", id="family-summary")
        yield Static("", id="family-alerts")
        with TabbedContent(id="family-tabs"):
            yield HouseholdPane()
            yield ChildrenPane()
            yield EnrollmentsPane()
            yield InvoicesPane()
            yield DocumentsPane()
            yield HistoryPane(self.family_id)
            yield MessagesPane()
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Fiche famille"
        self.reload()

    def reload(self) -> None:
        """Read the file again (after a save, or when a form found it changed)."""
        desk = self.desk
        agent = desk.agent
        assert agent is not None  # the app opens a family file only once the database is open
        self.load(lambda db: family_detail(db, self.family_id, agent=agent, today=desk.today), self._show)

    def _show(self, detail: FamilyDetail) -> None:
        self.detail = detail
        self.sub_title = f"Famille {detail.name}"
        self._fill_summary(detail)
        for pane in self.query(FilePane):
            pane.show(detail)
        self._focus_active_table()

    def _fill_summary(self, detail: FamilyDetail) -> None:
        payer = next((g for g in detail.guardians if g.is_payer), None)
        contact = f" · {payer.name} {payer.mobile_phone or payer.home_phone}" if payer else ""
        balance = formatting.money(detail.balance_cents)
        summary = Text.from_markup(
            f"[b]{detail.name}[/b] (n° {detail.id}) · {detail.address}, {detail.postal_code} {detail.city}"
        )
        summary.append("\nSolde dû : ")
        summary.append(balance, style="bold" if detail.balance_cents <= 0 else "bold reverse")
        if detail.credit_cents:
            summary.append(f" · crédit {formatting.money(detail.credit_cents)}")
        summary.append(contact)
        self.query_one("#family-summary", Static).update(summary)
        alerts = self.query_one("#family-alerts", Static)
        if detail.alerts:
            alerts.update(" · ".join(f"{ALERT_GLYPH} {a.text}" for a in detail.alerts))
            alerts.display = True
        else:
            alerts.update("")
            alerts.display = False

    # ---------------------------------------------------------------- tabs

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_tab(self, tab_id: str) -> None:
        self.query_one(TabbedContent).active = tab_id
        self._focus_active_table()

    def _step_tab(self, step: int) -> None:
        ids = [tab_id for tab_id, _ in TABS]
        current = ids.index(self.query_one(TabbedContent).active)
        self.action_tab(ids[(current + step) % len(ids)])

    def action_next_tab(self) -> None:
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        self._step_tab(-1)

    def _focus_active_table(self) -> None:
        pane = self.query_one(TabbedContent).active_pane
        if pane is not None:
            tables = pane.query(DataTable)
            if tables:
                tables.first().focus()

    def on_tabbed_content_tab_activated(self, _event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        tabs = TAB_ACTIONS.get(action)
        if tabs is None:
            return True
        if not self.is_mounted or self.query_one(TabbedContent).active not in tabs:
            return False
        if action == "health":
            agent = self.desk.agent
            return agent is not None and agent.may(Permission.HEALTH_DATA)
        return True

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        detail = self.detail
        if detail is not None and event.data_table.id == "invoices":
            invoice = self.query_one(InvoicesPane).selected("invoices", detail.invoices)
            if invoice is not None:
                from regie_tui.screens.invoice_view import InvoiceScreen

                self.app.push_screen(InvoiceScreen(invoice.number), lambda _: self.reload())
            return
        if detail is not None and event.data_table.id == "children":
            child = self.query_one(ChildrenPane).selected("children", detail.children)
            if child is not None:
                from regie_tui.screens.planning.screen import PlanningScreen

                self.app.push_screen(PlanningScreen(child.id))
            return
        if event.data_table.id == "family-messages" and detail is not None:
            self.query_one(MessagesPane).read(event.cursor_row)

    # ----------------------------------------------------------------- editing

    @property
    def stamp(self) -> FamilyStamp | None:
        detail = self.detail
        return None if detail is None else FamilyStamp(version=detail.version, last_audit_id=detail.last_audit_id)

    def _agent_id(self) -> int:
        agent = self.desk.agent
        assert agent is not None
        return agent.id

    def _file(self) -> dict[str, Any]:
        """What every save of this file is given: the family, the agent, the stamp as loaded."""
        return {"family_id": self.family_id, "agent_id": self._agent_id(), "stamp": self.stamp}

    def _focused_table(self) -> str | None:
        focused = self.focused
        return focused.id if isinstance(focused, DataTable) else None

    def _selected(self, table_id: str, rows: Sequence[Any]) -> Any | None:
        index = self.query_one(f"#{table_id}", DataTable).cursor_row
        return rows[index] if 0 <= index < len(rows) else None

    def _open_form(self, title: str, fields: list[FormField], save: Save) -> None:
        def closed(result: FormResult | None) -> None:
            if result:
                self.reload()

        self.app.push_screen(FamilyForm(title, fields, save), closed)

    def _run(self, work: Callable[[Db], object], done: str) -> None:
        """A one-step change (payer, removal): then the file reloads, or the agent reads why not."""

        def saved(_result: object) -> None:
            self.notify(done, timeout=4)
            self.reload()

        def refused(message: str) -> None:
            self.notify(message, title="Modification refusée", severity="error", timeout=10)
            self.reload()

        workers.write(self, work, saved, on_error=refused)

    def action_edit(self) -> None:
        detail = self.detail
        if detail is None:
            return
        today = self.desk.today
        if self.query_one(TabbedContent).active == "enfants":
            child = self._selected("children", detail.children)
            if child is not None:
                self._edit_child(child)
            return
        if self._focused_table() == "authorized":
            person = self._selected("authorized", detail.authorized_persons)
            if person is None:
                return
            values = editing.person_values(person)
            fields = entity_fields("authorized_person", editing.PERSON_FORM_FIELDS, values, today=today)
            save = editing.edit_save(**self._file(), entity="authorized_person", entity_id=person.id)
            self._open_form(f"Personne autorisée : {person.name}", fields, save)
            return
        guardian = self._selected("guardians", detail.guardians)
        if guardian is None:
            self.action_edit_family()
            return
        fields = entity_fields("guardian", editing.GUARDIAN_FORM_FIELDS, guardian, today=today)
        save = editing.edit_save(**self._file(), entity="guardian", entity_id=guardian.id)
        self._open_form(f"Responsable : {guardian.name}", fields, save)

    def _edit_child(self, child: Any) -> None:
        today, agent_id = self.desk.today, self._agent_id()

        def with_diets(choices: list[tuple[int, str]]) -> None:
            fields = entity_fields("child", editing.CHILD_FORM_FIELDS, child, today=today)
            fields.append(
                FormField("diets", "Régimes", kind="multi", value=child.diet_ids, choices=[(t, i) for i, t in choices])
            )
            save = editing.edit_save(**self._file(), entity="child", entity_id=child.id, diets=True)
            self._open_form(f"Enfant : {child.first_name} {child.last_name}", fields, save)

        self.load(lambda db: diet_choices(db, agent_id=agent_id), with_diets)

    def action_edit_family(self) -> None:
        detail = self.detail
        if detail is None:
            return
        fields = entity_fields("family", editing.FAMILY_FORM_FIELDS, detail, today=self.desk.today)
        save = editing.edit_save(**self._file(), entity="family", entity_id=detail.id)
        self._open_form(f"Famille {detail.name}", fields, save)

    def action_new(self) -> None:
        detail = self.detail
        if detail is None:
            return
        today = self.desk.today
        if self.query_one(TabbedContent).active == "enfants":
            fields = entity_fields("child", editing.CHILD_FORM_FIELDS, {"last_name": detail.name.title()}, today=today)
            title, entity = "Nouvel enfant", "child"
        elif self._focused_table() == "authorized":
            person = {"may_collect": True, "emergency_contact": False}
            fields = entity_fields("authorized_person", editing.PERSON_FORM_FIELDS, person, today=today)
            title, entity = "Nouvelle personne autorisée", "authorized_person"
        else:
            guardian = {"last_name": detail.name.title()}
            fields = entity_fields("guardian", editing.GUARDIAN_FORM_FIELDS, guardian, today=today)
            title, entity = "Nouveau responsable légal", "guardian"
        self._open_form(title, fields, editing.add_save(**self._file(), entity=entity, extra={}))

    def action_health(self) -> None:
        detail = self.detail
        child = self._selected("children", detail.children) if detail else None
        if child is None:
            return
        fields = entity_fields("health_note", editing.HEALTH_FORM_FIELDS, {}, today=self.desk.today)
        save = editing.add_save(**self._file(), entity="health_note", extra={"child_id": child.id})
        self._open_form(f"Information sanitaire de {child.first_name}", fields, save)

    def action_payer(self) -> None:
        detail = self.detail
        guardian = self._selected("guardians", detail.guardians) if detail else None
        if guardian is None or guardian.is_payer:
            return
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp
        self._run(
            lambda db: set_payer(db, family_id=family_id, guardian_id=guardian.id, agent_id=agent_id, expected=stamp),
            f"{guardian.name} est désormais le payeur de la famille.",
        )

    def action_quotient(self) -> None:
        detail = self.detail
        if detail is None:
            return
        documents = [(f"{d.type_name} — {d.filename}", d.id) for d in detail.documents]
        fields = quotient_fields(self.desk.today, documents)
        self._open_form("Nouveau quotient familial", fields, editing.quotient_save(**self._file()))

    def action_consents(self) -> None:
        detail = self.detail
        if detail is None:
            return
        fields = [
            FormField(kind, label(CONSENT_KIND, kind), kind="bool", value=detail.consents.get(kind, False))
            for kind in CONSENT_KIND
        ]
        self._open_form("Consentements", fields, editing.consents_save(**self._file(), consents=detail.consents))

    def action_remove(self) -> None:
        detail = self.detail
        if detail is None:
            return
        if self._focused_table() == "authorized":
            entity, row = "authorized_person", self._selected("authorized", detail.authorized_persons)
        else:
            entity, row = "guardian", self._selected("guardians", detail.guardians)
        if row is None:
            return
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run(
                    lambda db: remove_entity(
                        db, family_id=family_id, entity=entity, entity_id=row.id, agent_id=agent_id, expected=stamp
                    ),
                    f"{row.name} retiré(e) de la famille.",
                )

        self.app.push_screen(ConfirmScreen(f"Retirer {row.name} de la famille ?", confirm="Retirer"), confirmed)

    def action_archive(self) -> None:
        detail = self.detail
        if detail is None:
            return
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp
        question = f"Archiver la famille {detail.name} (n° {detail.id}) ?"
        if detail.balance_cents > 0:
            question += f"\nAttention : solde dû de {formatting.money(detail.balance_cents)}."
        question += "\nElle ne sera plus proposée à la recherche ; son historique est conservé."

        def archived(_result: object) -> None:
            self.notify(f"Famille {detail.name} archivée.", timeout=4)
            self.app.pop_screen()

        def refused(message: str) -> None:
            self.notify(message, title="Archivage refusé", severity="error", timeout=10)
            self.reload()

        def confirmed(yes: bool | None) -> None:
            if yes:
                workers.write(
                    self,
                    lambda db: archive_family(db, family_id=family_id, agent_id=agent_id, expected=stamp),
                    archived,
                    on_error=refused,
                )

        self.app.push_screen(ConfirmScreen(question, confirm="Archiver"), confirmed)

    # ----------------------------------------------------------------- payments and history

    def action_payment(self) -> None:
        from regie_tui.screens.payments.payment_dialog import PaymentDialog, recorded_message

        def done(recorded: Any) -> None:
            if recorded is not None:
                self.notify(recorded_message(recorded), timeout=8)
                self.reload()

        self.app.push_screen(PaymentDialog(self.family_id), done)

    def action_situation(self) -> None:
        from regie_tui.screens.payments.situation import FinancialSituationScreen

        self.app.push_screen(FinancialSituationScreen(self.family_id), lambda _: self.reload())

    def action_mandates(self) -> None:
        from regie_tui.screens.mandates import MandatesScreen

        self.app.push_screen(MandatesScreen(self.family_id), lambda _: self.reload())

    def action_history_kind(self) -> None:
        self.query_one(HistoryPane).next_kind()

    def action_history_period(self) -> None:
        self.query_one(HistoryPane).next_period()
