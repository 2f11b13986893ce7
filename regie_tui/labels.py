"""French words for the codes stored in the database, shared by the screens and the CLI."""

ENROLLMENT_STATUS = {
    "requested": "Demandée",
    "accepted": "Acceptée",
    "waiting": "En attente",
    "refused": "Refusée",
}
DOCUMENT_STATUS = {
    "pending": "À valider",
    "accepted": "Validé",
    "refused": "Refusé",
    "expired": "Expiré",
}
INVOICE_STATUS = {"issued": "Émise", "cancelled": "Annulée"}
CONSENT_KIND = {
    "personal_data": "Données personnelles",
    "health_data": "Données sanitaires",
    "image_rights": "Droit à l'image",
}
HEALTH_KIND = {
    "allergy": "allergie",
    "treatment": "traitement",
    "pai": "PAI",
    "disability": "handicap",
    "other": "autre",
}
SEX = {"F": "Fille", "M": "Garçon"}
AUDIT_ACTION = {"create": "Création", "update": "Modification", "delete": "Suppression", "decide": "Décision"}
#: Field names and stored values as audit entries record them (before → after).
AUDIT_FIELD = {
    "status": "statut",
    "name": "nom",
    "address": "adresse",
    "city": "commune",
    "employer": "employeur",
    "file": "fichier",
    "activity": "activité",
    "child": "enfant",
    "mobile_phone": "mobile",
    "email": "e-mail",
    "diet": "régime",
    "login": "identifiant",
    "role": "rôle",
    "display_name": "nom affiché",
}
AUDIT_VALUE = {
    "pending": "à valider",
    "requested": "demandée",
    "accepted": "acceptée",
    "refused": "refusée",
    "waiting": "en attente",
    "expired": "expirée",
    "accueil": "accueil",
    "regisseur": "régisseur",
    "admin": "administrateur",
}
AUDIT_ENTITY = {
    "family": "famille",
    "guardian": "responsable",
    "child": "enfant",
    "authorized_person": "personne autorisée",
    "document": "document",
    "change_request": "demande de modification",
    "enrollment": "inscription",
    "booking": "réservation",
    "invoice": "facture",
    "payment": "règlement",
    "agent": "agent",
    "message": "message",
    "quotient": "quotient familial",
    "consent": "consentement",
}


def label(table: dict[str, str], code: str) -> str:
    return table.get(code, code)
