"""The role matrix: who may do what, and who may read which sensitive data, in one place.

Every service that returns role-gated data or performs a reserved action takes the
agent and asks :func:`require` or :func:`allows`; no caller passes a "may see" flag.
On PostgreSQL the same matrix is enforced again by the grants of the group roles
``regie_<role>`` (migration 0007), so psql under an agent's own role cannot do more.
The README's role table is this one.
"""

from enum import StrEnum

import sqlalchemy as sa

from regie_tui.errors import AccessDenied
from regie_tui.models import Role


class Permission(StrEnum):
    """A reserved action, or a kind of sensitive data."""

    DESK = "desk"  # families, bannette, plannings, pointage, desk payments, reminders
    HEALTH_DATA = "health_data"  # health notes, health requests and documents: read and write
    UNLOCK_CELL = "unlock_cell"  # change a cell whose attendance is recorded or that is billed
    CREDIT_NOTE = "credit_note"
    CLOSE_CASH_DAY = "close_cash_day"
    ISSUE_INVOICES = "issue_invoices"  # the monthly run, issued (the preview is desk work)
    SEPA_COLLECT = "sepa_collect"  # debit export, rejects
    RATES = "rates"  # set a rate
    PUBLISH = "publish"  # news and structure documents shown on the portal
    AGENTS = "agents"  # add, change, deactivate agents
    PORTAL_IMPORT = "portal_import"  # import the portal's submissions file
    RGPD_EXPORT = "rgpd_export"  # everything held about a family (health data included)
    RGPD_PURGE = "rgpd_purge"  # anonymise archived families


ALL_DESK_ROLES = frozenset({Role.ACCUEIL, Role.REGISSEUR, Role.ADMIN})

#: The matrix. Health data goes to who receives the children (desk, admin), not to who
#: only handles money (CNIL NS-058); money that leaves the desk's hands goes to the
#: régisseur; the portal account only hands over the portal's file.
MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.DESK: ALL_DESK_ROLES,
    Permission.HEALTH_DATA: frozenset({Role.ACCUEIL, Role.ADMIN}),
    Permission.UNLOCK_CELL: frozenset({Role.REGISSEUR, Role.ADMIN}),
    Permission.CREDIT_NOTE: frozenset({Role.REGISSEUR, Role.ADMIN}),
    Permission.CLOSE_CASH_DAY: frozenset({Role.REGISSEUR, Role.ADMIN}),
    Permission.ISSUE_INVOICES: frozenset({Role.REGISSEUR, Role.ADMIN}),
    Permission.SEPA_COLLECT: frozenset({Role.REGISSEUR, Role.ADMIN}),
    Permission.RATES: frozenset({Role.ADMIN}),
    Permission.PUBLISH: frozenset({Role.ADMIN}),
    Permission.AGENTS: frozenset({Role.ADMIN}),
    # Not the régisseur: a portal file carries health data (its lines are checked against it).
    Permission.PORTAL_IMPORT: frozenset({Role.ACCUEIL, Role.ADMIN, Role.PORTAIL}),
    Permission.RGPD_EXPORT: frozenset({Role.ACCUEIL, Role.ADMIN}),
    Permission.RGPD_PURGE: frozenset({Role.ADMIN}),
}

PERMISSION_LABELS: dict[Permission, str] = {
    Permission.DESK: "le travail de guichet (familles, bannette, plannings, pointage, encaissements)",
    Permission.HEALTH_DATA: "les informations sanitaires",
    Permission.UNLOCK_CELL: "la modification d'une case verrouillée (pointée ou facturée)",
    Permission.CREDIT_NOTE: "les avoirs",
    Permission.CLOSE_CASH_DAY: "la clôture de la journée de caisse",
    Permission.ISSUE_INVOICES: "l'émission des factures",
    Permission.SEPA_COLLECT: "les prélèvements SEPA (export, rejets)",
    Permission.RATES: "la modification des tarifs",
    Permission.PUBLISH: "les publications du portail (actualités, documents de la structure)",
    Permission.AGENTS: "la gestion des agents",
    Permission.PORTAL_IMPORT: "l'import des demandes du portail",
    Permission.RGPD_EXPORT: "l'export RGPD d'une famille",
    Permission.RGPD_PURGE: "l'anonymisation RGPD",
}

#: What a role without health data reads for a child's medical diets (sans gluten, PAI alimentaire…).
MEDICAL_DIET_HIDDEN = "régime médical (accès réservé)"
#: What those roles read for a health document's file name (it may tell the condition).
HEALTH_FILE_HIDDEN = "(document de santé : accès réservé)"
#: The children who have a medical diet, not which one (a view of migration 0007): what those roles may know.
CHILD_MEDICAL_DIET = sa.table("child_medical_diet", sa.column("child_id"))

ROLE_LABELS = {
    Role.ACCUEIL: "Accueil",
    Role.REGISSEUR: "Régisseur",
    Role.ADMIN: "Administrateur",
    Role.PORTAIL: "Portail famille",
}


def allows(role: Role, permission: Permission) -> bool:
    return role in MATRIX[permission]


def require(role: Role, permission: Permission) -> None:
    """Refuse, in French, an action or data the role does not have."""
    if role not in MATRIX[permission]:
        allowed = ", ".join(ROLE_LABELS[r].lower() for r in Role if r in MATRIX[permission])
        raise AccessDenied(
            f"Accès refusé ({PERMISSION_LABELS[permission]}) : réservé aux rôles {allowed} ; "
            f"vous êtes {ROLE_LABELS[role].lower()}."
        )
