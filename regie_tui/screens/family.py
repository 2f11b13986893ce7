"""Fiche famille (read-only for now): tabs Foyer, Enfants, Inscriptions, Factures,
Documents, Historique; the balance due and the alerts stay in view above the tabs."""

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from regie_tui import formatting
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
from regie_tui.services.family_file import FamilyDetail, family_detail

TABS = [
    ("foyer", "Foyer"),
    ("enfants", "Enfants"),
    ("inscriptions", "Inscriptions"),
    ("factures", "Factures"),
    ("documents", "Documents"),
    ("historique", "Historique"),
]
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
                yield DataTable(id="history", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Fiche famille"
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
        self._fill(
            "#history",
            ("Date", "Par", "Action", "Détail"),
            [
                (
                    formatting.local_datetime(h.at),
                    h.who,
                    f"{label(AUDIT_ACTION, h.action)} {label(AUDIT_ENTITY, h.entity)}",
                    _change_text(h.before, h.after),
                )
                for h in detail.history
            ],
            empty="Aucun historique.",
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
            ("Numéro", "Période", "Émise le", "Échéance", "Montant", "Réglé", "Solde", "État", "Régie"),
            [
                (
                    i.number,
                    f"{i.period_start:%m/%Y}",
                    formatting.short_date(i.issue_date),
                    formatting.short_date(i.due_date),
                    Text(money(i.total_cents), justify="right"),
                    Text(money(i.paid_cents), justify="right"),
                    Text(money(i.balance_cents), justify="right"),
                    label(INVOICE_STATUS, i.status) if i.balance_cents or i.status != "issued" else "Soldée",
                    i.regie,
                )
                for i in detail.invoices
            ],
            empty="Aucune facture.",
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
        old, new = _value(before.get(key)), _value(after.get(key))
        name = label(AUDIT_FIELD, key)
        if old is None:
            parts.append(f"{name} : {new}")
        elif new is None:
            parts.append(f"{name} : {old} (supprimé)")
        elif old != new:
            parts.append(f"{name} : {old} → {new}")
    return "; ".join(parts)


def _value(value: object) -> str | None:
    """A recorded value in French (stored codes such as 'accepted' have their word)."""
    return None if value is None else label(AUDIT_VALUE, str(value))
