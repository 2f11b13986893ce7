"""Fiche famille: tabs Foyer, Enfants, Inscriptions, Factures, Documents, Historique,
Messages; the balance due and the alerts stay in view above the tabs.

The file is edited through the forms of :mod:`regie_tui.screens.family_form`, every save
going through :mod:`regie_tui.services.families.edit` with the stamp (version, last audit
entry) of the file as this screen loaded it: a save over a newer file is refused.

Keys on Foyer: e modifies the responsable or personne autorisée under the cursor, n adds
one (the list in focus says which), a the address and notes, p makes the responsable the
payer, f adds a quotient familial, c the consents, suppr removes the selected person, x
archives the family. On Enfants: ⏎ opens the child's planning; e, n, h (a health note, for
roles allowed to see them).
On Historique: t the kind of entries, d the period. On Messages: ⏎ reads the message.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from regie_tui import formatting, workers
from regie_tui.labels import (
    AUDIT_ACTION,
    AUDIT_ENTITY,
    AUDIT_FIELD,
    AUDIT_VALUE,
    CONSENT_KIND,
    DOCUMENT_STATUS,
    ENROLLMENT_STATUS,
    HEALTH_KIND,
    INVOICE_STATUS,
    SEX,
    label,
)
from regie_tui.screens.base import RegieScreen
from regie_tui.screens.dialogs import ConfirmScreen
from regie_tui.screens.family_form import (
    FamilyForm,
    FormField,
    FormResult,
    MessageScreen,
    Save,
    entity_fields,
    quotient_fields,
)
from regie_tui.services.billing.accounts import InvoiceRow
from regie_tui.services.families.edit import FamilyStamp
from regie_tui.services.families.file import FamilyDetail, family_detail
from regie_tui.services.families.history import HISTORY_KINDS, HISTORY_PERIODS, HistoryEntry, family_history
from regie_tui.services.payments.sepa import collection_text
from regie_tui.services.trust.access import Permission

TABS = [
    ("foyer", "Foyer"),
    ("enfants", "Enfants"),
    ("inscriptions", "Inscriptions"),
    ("factures", "Factures"),
    ("documents", "Documents"),
    ("historique", "Historique"),
    ("messages", "Messages"),
]
FAMILY_FORM_FIELDS = ("name", "address", "address_extra", "postal_code", "city", "resident", "notes")
GUARDIAN_FORM_FIELDS = (
    "last_name",
    "first_name",
    "relationship",
    "mobile_phone",
    "home_phone",
    "work_phone",
    "email",
    "employer",
)
CHILD_FORM_FIELDS = ("last_name", "first_name", "birth_date", "sex", "school", "school_class")
PERSON_FORM_FIELDS = ("last_name", "first_name", "relationship", "phone", "may_collect", "emergency_contact")
HEALTH_FORM_FIELDS = ("kind", "text", "valid_until")
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
SELF_DESCRIBED_ACTIONS = {"login", "online_payment", "online_payment_refused"}
MESSAGE_DIRECTION = {"incoming": "← Reçu", "outgoing": "→ Envoyé"}
ALERT_GLYPH = "⚠"


def _yes(flag: bool) -> str:
    return "oui" if flag else "non"


class FamilyScreen(RegieScreen):
    HELP_TITLE = "Fiche famille"
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
        self.history_kind = "all"
        self.history_period = "all"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Chargement…", id="family-summary")
        yield Static("", id="family-alerts")
        with TabbedContent(id="family-tabs"):
            with TabPane("1 Foyer", id="foyer"), VerticalScroll():
                yield Static("", id="household")
                yield DataTable(id="guardians", cursor_type="row")
                yield DataTable(id="authorized", cursor_type="row")
            with TabPane("2 Enfants", id="enfants"):
                yield DataTable(id="children", cursor_type="row")
            with TabPane("3 Inscriptions", id="inscriptions"):
                yield DataTable(id="enrollments", cursor_type="row")
            with TabPane("4 Factures", id="factures"):
                yield DataTable(id="invoices", cursor_type="row")
            with TabPane("5 Documents", id="documents"):
                yield DataTable(id="family-documents", cursor_type="row")
            with TabPane("6 Historique", id="historique"):
                yield Static("", id="history-filter")
                yield DataTable(id="history", cursor_type="row")
            with TabPane("7 Messages", id="messages"):
                yield DataTable(id="family-messages", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Fiche famille"
        self.reload()

    def reload(self) -> None:
        """Read the file again (after a save, or when a form found it changed)."""
        regie = self.regie
        agent = regie.agent
        assert agent is not None  # the app opens a family file only once the database is open
        self.load(
            lambda session: family_detail(session, self.family_id, agent=agent, today=regie.today),
            self._show,
        )

    # ---------------------------------------------------------------- actions

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
            agent = self.regie.agent
            return agent is not None and agent.may(Permission.HEALTH_DATA)
        return True

    # ----------------------------------------------------------------- editing

    @property
    def stamp(self) -> FamilyStamp | None:
        detail = self.detail
        return None if detail is None else FamilyStamp(version=detail.version, last_audit_id=detail.last_audit_id)

    def _agent_id(self) -> int:
        agent = self.regie.agent
        assert agent is not None
        return agent.id

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

    def _edit_save(self, entity: str, entity_id: int, *, diets: bool = False) -> Save:
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp

        def save(session: Any, values: dict[str, Any]) -> None:
            from regie_tui.services.families import edit as family_edit

            diet_ids = values.pop("diets", None)
            family_edit.set_fields(
                session,
                family_id=family_id,
                entity=entity,
                entity_id=entity_id,
                values=values,
                agent_id=agent_id,
                expected=stamp,
            )
            if diets and diet_ids is not None:
                family_edit.set_diets(session, child_id=entity_id, diet_ids=diet_ids, agent_id=agent_id)

        return save

    def _add_save(self, entity: str, **extra: Any) -> Save:
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp

        def save(session: Any, values: dict[str, Any]) -> None:
            from regie_tui.services.families.edit import add_entity

            add_entity(
                session,
                family_id=family_id,
                entity=entity,
                values={**values, **extra},
                agent_id=agent_id,
                expected=stamp,
            )

        return save

    def _run(self, work: Callable[[Any], object], done: str) -> None:
        """A one-step change (payer, removal, archive): then the file reloads, or the agent reads why not."""

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
        today = self.regie.today
        tab = self.query_one(TabbedContent).active
        if tab == "enfants":
            child = self._selected("children", detail.children)
            if child is None:
                return
            self._edit_child(child)
            return
        if self._focused_table() == "authorized":
            person = self._selected("authorized", detail.authorized_persons)
            if person is None:
                return
            fields = entity_fields("authorized_person", PERSON_FORM_FIELDS, _person_values(person), today=today)
            self._open_form(
                f"Personne autorisée : {person.name}", fields, self._edit_save("authorized_person", person.id)
            )
            return
        guardian = self._selected("guardians", detail.guardians)
        if guardian is None:
            self.action_edit_family()
            return
        fields = entity_fields("guardian", GUARDIAN_FORM_FIELDS, guardian, today=today)
        self._open_form(f"Responsable : {guardian.name}", fields, self._edit_save("guardian", guardian.id))

    def _edit_child(self, child: Any) -> None:
        today, agent_id = self.regie.today, self._agent_id()

        def with_diets(choices: list[tuple[int, str]]) -> None:
            fields = entity_fields("child", CHILD_FORM_FIELDS, child, today=today)
            fields.append(
                FormField("diets", "Régimes", kind="multi", value=child.diet_ids, choices=[(t, i) for i, t in choices])
            )
            self._open_form(
                f"Enfant : {child.first_name} {child.last_name}", fields, self._edit_save("child", child.id, diets=True)
            )

        def query(session: Any) -> list[tuple[int, str]]:
            from regie_tui.services.families.edit import diet_choices

            return diet_choices(session, agent_id=agent_id)

        self.load(query, with_diets)

    def action_edit_family(self) -> None:
        detail = self.detail
        if detail is None:
            return
        fields = entity_fields("family", FAMILY_FORM_FIELDS, detail, today=self.regie.today)
        self._open_form(f"Famille {detail.name}", fields, self._edit_save("family", detail.id))

    def action_new(self) -> None:
        detail = self.detail
        if detail is None:
            return
        today = self.regie.today
        if self.query_one(TabbedContent).active == "enfants":
            fields = entity_fields("child", CHILD_FORM_FIELDS, {"last_name": detail.name.title()}, today=today)
            self._open_form("Nouvel enfant", fields, self._add_save("child"))
        elif self._focused_table() == "authorized":
            values = {"may_collect": True, "emergency_contact": False}
            fields = entity_fields("authorized_person", PERSON_FORM_FIELDS, values, today=today)
            self._open_form("Nouvelle personne autorisée", fields, self._add_save("authorized_person"))
        else:
            fields = entity_fields("guardian", GUARDIAN_FORM_FIELDS, {"last_name": detail.name.title()}, today=today)
            self._open_form("Nouveau responsable légal", fields, self._add_save("guardian"))

    def action_health(self) -> None:
        detail = self.detail
        if detail is None:
            return
        child = self._selected("children", detail.children)
        if child is None:
            return
        fields = entity_fields("health_note", HEALTH_FORM_FIELDS, {}, today=self.regie.today)
        self._open_form(
            f"Information sanitaire de {child.first_name}", fields, self._add_save("health_note", child_id=child.id)
        )

    def action_payer(self) -> None:
        detail = self.detail
        guardian = self._selected("guardians", detail.guardians) if detail else None
        if guardian is None or guardian.is_payer:
            return
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp

        def work(session: Any) -> None:
            from regie_tui.services.families.edit import set_payer

            set_payer(session, family_id=family_id, guardian_id=guardian.id, agent_id=agent_id, expected=stamp)

        self._run(work, f"{guardian.name} est désormais le payeur de la famille.")

    def action_quotient(self) -> None:
        detail = self.detail
        if detail is None:
            return
        documents = [(f"{d.type_name} — {d.filename}", d.id) for d in detail.documents]
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp

        def save(session: Any, values: dict[str, Any]) -> None:
            from regie_tui.services.families.edit import add_quotient

            add_quotient(
                session,
                family_id=family_id,
                value=values["value"],
                source=values["source"],
                valid_from=values["valid_from"],
                valid_to=values["valid_to"],
                document_id=values["document_id"] or None,
                agent_id=agent_id,
                expected=stamp,
            )

        self._open_form("Nouveau quotient familial", quotient_fields(self.regie.today, documents), save)

    def action_consents(self) -> None:
        detail = self.detail
        if detail is None:
            return
        fields = [
            FormField(kind, label(CONSENT_KIND, kind), kind="bool", value=detail.consents.get(kind, False))
            for kind in CONSENT_KIND
        ]
        family_id, agent_id, stamp = self.family_id, self._agent_id(), self.stamp

        def save(session: Any, values: dict[str, Any]) -> None:
            from regie_tui.services.families.edit import set_consent

            expected = stamp
            for kind, granted in values.items():
                if granted != detail.consents.get(kind, False if kind not in detail.consents else None):
                    set_consent(
                        session, family_id=family_id, kind=kind, granted=granted, agent_id=agent_id, expected=expected
                    )
                    expected = None  # the first write checked the stamp and holds the family's lock

        self._open_form("Consentements", fields, save)

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

        def work(session: Any) -> None:
            from regie_tui.services.families.edit import remove_entity

            remove_entity(
                session, family_id=family_id, entity=entity, entity_id=row.id, agent_id=agent_id, expected=stamp
            )

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run(work, f"{row.name} retiré(e) de la famille.")

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

        def work(session: Any) -> None:
            from regie_tui.services.families.edit import archive_family

            archive_family(session, family_id=family_id, agent_id=agent_id, expected=stamp)

        def archived(_result: object) -> None:
            self.notify(f"Famille {detail.name} archivée.", timeout=4)
            self.app.pop_screen()

        def refused(message: str) -> None:
            self.notify(message, title="Archivage refusé", severity="error", timeout=10)
            self.reload()

        def confirmed(yes: bool | None) -> None:
            if yes:
                workers.write(self, work, archived, on_error=refused)

        self.app.push_screen(ConfirmScreen(question, confirm="Archiver"), confirmed)

    # ----------------------------------------------------------------- history and messages

    def action_payment(self) -> None:
        from regie_tui.screens.payments import PaymentDialog, recorded_message

        def done(recorded: Any) -> None:
            if recorded is not None:
                self.notify(recorded_message(recorded), timeout=8)
                self.reload()

        self.app.push_screen(PaymentDialog(self.family_id), done)

    def action_situation(self) -> None:
        from regie_tui.screens.payments import FinancialSituationScreen

        self.app.push_screen(FinancialSituationScreen(self.family_id), lambda _: self.reload())

    def action_mandates(self) -> None:
        from regie_tui.screens.mandates import MandatesScreen

        self.app.push_screen(MandatesScreen(self.family_id), lambda _: self.reload())

    def action_history_kind(self) -> None:
        kinds = list(HISTORY_KINDS)
        self.history_kind = kinds[(kinds.index(self.history_kind) + 1) % len(kinds)]
        self._load_history()

    def action_history_period(self) -> None:
        periods = list(HISTORY_PERIODS)
        self.history_period = periods[(periods.index(self.history_period) + 1) % len(periods)]
        self._load_history()

    def _load_history(self) -> None:
        regie, agent = self.regie, self.regie.agent
        assert agent is not None
        family_id, kind, period = self.family_id, self.history_kind, self.history_period
        self._show_filter()
        self.load(
            lambda session: family_history(
                session, family_id=family_id, agent=agent, today=regie.today, kind=kind, period=period
            ),
            self._fill_history,
        )

    def _show_filter(self) -> None:
        self.query_one("#history-filter", Static).update(
            f"Type : {HISTORY_KINDS[self.history_kind]} (t) · Période : {HISTORY_PERIODS[self.history_period]} (d)"
        )

    def _fill_history(self, entries: list[HistoryEntry]) -> None:
        self._fill(
            "#history",
            ("Date", "Par", "Action", "Détail"),
            [(formatting.local_datetime(h.at), h.who, _what(h), _change_text(h.before, h.after)) for h in entries],
            empty="Aucun historique." if self.history_kind == "all" and self.history_period == "all" else "Rien.",
        )

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        detail = self.detail
        if detail is not None and event.data_table.id == "invoices":
            invoice = self._selected("invoices", detail.invoices)
            if invoice is not None:
                from regie_tui.screens.invoice_view import InvoiceScreen

                self.app.push_screen(InvoiceScreen(invoice.number), lambda _: self.reload())
            return
        if detail is not None and event.data_table.id == "children":
            child = self._selected("children", detail.children)
            if child is not None:
                from regie_tui.screens.planning import PlanningScreen

                self.app.push_screen(PlanningScreen(child.id))
            return
        if event.data_table.id != "family-messages" or detail is None:
            return
        index = event.cursor_row
        if not 0 <= index < len(detail.messages):
            return
        message = detail.messages[index]
        who = "De la famille" if message.direction == "incoming" else "Du service"
        head = f"{message.subject}\n{who} · {formatting.local_datetime(message.sent_at)}"
        if message.recipient:
            head += f" · à : {message.recipient}"
        self.app.push_screen(MessageScreen(head, message.body))

    # ----------------------------------------------------------------- filling

    def _show(self, detail: FamilyDetail) -> None:
        self.detail = detail
        self.sub_title = f"Famille {detail.name}"
        self._fill_summary(detail)
        self._fill_household(detail)
        self._fill_children(detail)
        self._fill(
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
        self._fill_invoices(detail)
        self._fill(
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
        if self.history_kind == "all" and self.history_period == "all":
            self._show_filter()
            self._fill_history(detail.history)
        else:
            self._load_history()
        self._fill(
            "#family-messages",
            ("Date", "Sens", "Objet", "État"),
            [
                (
                    formatting.local_datetime(m.sent_at),
                    label(MESSAGE_DIRECTION, m.direction),
                    m.subject,
                    ("Lu" if m.read_at else "Non lu") if m.direction == "incoming" else "",
                )
                for m in detail.messages
            ],
            empty="Aucun message.",
        )
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

    def _fill_household(self, detail: FamilyDetail) -> None:
        q = detail.quotient
        quotient = (
            f"{q.value} ({q.source}, {q.bracket or 'tranche inconnue'}) du {formatting.short_date(q.valid_from)} "
            f"au {formatting.short_date(q.valid_to)}"
            if q
            else "non fourni"
        )
        consents = ", ".join(f"{label(CONSENT_KIND, k)} : {_yes(v)}" for k, v in sorted(detail.consents.items()))
        last_login = formatting.local_datetime(detail.portal_last_login) or "jamais"
        portal = (
            f"{detail.portal_email} (dernière connexion : {last_login})" if detail.portal_email else "pas de compte"
        )
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
        self.query_one("#household", Static).update("\n".join(lines))
        self._fill(
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
        self._fill(
            "#authorized",
            ("Personne autorisée", "Lien", "Téléphone", "Récupère", "À prévenir"),
            [
                (p.name, p.relationship, p.phone, _yes(p.may_collect), _yes(p.emergency_contact))
                for p in detail.authorized_persons
            ],
            empty="Aucune personne autorisée.",
        )

    def _fill_children(self, detail: FamilyDetail) -> None:
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
        self._fill(
            "#children",
            ("Prénom", "Nom", "Sexe", "Né(e) le", "Âge", "École", "Classe", "Régime", "Santé"),
            rows,
            empty="Aucun enfant.",
        )

    def _fill_invoices(self, detail: FamilyDetail) -> None:
        money = formatting.money
        self._fill(
            "#invoices",
            # What fits 80 columns; ⏎ shows the invoice whole (payments, credit notes), s the situation.
            ("Numéro", "Période", "Échéance", "Montant", "Solde", "État"),
            [
                (
                    i.number,
                    f"{i.period_start:%m/%Y}",
                    formatting.short_date(i.due_date),
                    Text(money(i.total_cents), justify="right"),
                    Text(money(i.balance_cents), justify="right"),
                    self._invoice_state(detail, i),
                )
                for i in detail.invoices
            ],
            empty="Aucune facture.",
        )

    def _invoice_state(self, detail: FamilyDetail, invoice: InvoiceRow) -> str:
        collected = detail.collections.get(invoice.id)
        if collected is not None and invoice.status == "issued":
            return collection_text(collected, self.regie.today)
        return (
            label(INVOICE_STATUS, invoice.status) if invoice.balance_cents or invoice.status != "issued" else "Soldée"
        )

    def _fill(self, selector: str, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]], *, empty: str) -> None:
        table = self.query_one(selector, DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        if not rows:
            table.add_row(empty, *[""] * (len(columns) - 1))
        for row in rows:
            table.add_row(*row)


def _change_text(before: Mapping[str, object] | None, after: Mapping[str, object] | None) -> str:
    """'adresse : 3 rue A → 5 rue B' from the audit entry's before/after values."""
    before = before or {}
    after = after or {}
    parts = []
    for key in list(dict.fromkeys([*before, *after])):
        old, new = _value(before.get(key), key), _value(after.get(key), key)
        name = label(AUDIT_FIELD, key)
        if old is None:
            parts.append(f"{name} : {new}")
        elif new is None:
            parts.append(f"{name} : {old} (supprimé)")
        elif old != new:
            parts.append(f"{name} : {old} → {new}")
    return "; ".join(parts)


def _value(value: object, key: str = "") -> str | None:
    """A recorded value in French (stored codes such as 'accepted' have their word)."""
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(_value(item) or "" for item in value) or "(aucun)"
    if key.endswith("_cents") and isinstance(value, int):
        return formatting.money(value)
    if isinstance(value, str) and len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            return formatting.short_date(date.fromisoformat(value))
        except ValueError:
            pass
    return label(AUDIT_VALUE, str(value))


def _what(entry: HistoryEntry) -> str:
    """'Modification responsable', 'Connexion au portail', 'Paiement en ligne'."""
    if entry.action in SELF_DESCRIBED_ACTIONS:
        return label(AUDIT_ACTION, entry.action)
    return f"{label(AUDIT_ACTION, entry.action)} {label(AUDIT_ENTITY, entry.entity)}"


def _person_values(person: Any) -> dict[str, Any]:
    return {
        "last_name": person.last_name,
        "first_name": person.first_name,
        "relationship": person.relationship,
        "phone": person.phone,
        "may_collect": person.may_collect,
        "emergency_contact": person.emergency_contact,
    }
