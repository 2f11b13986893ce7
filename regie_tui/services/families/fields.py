"""The fields of the family file one may edit: their French label, their kind and their check.

The portal import refuses a change of any field not listed here as ``portal``; the
bannette applies a change through the same check; the desk forms edit the same fields
(and a few more the portal may not touch, such as names: civil status is checked at the desk).
Ids, versions, the payer flag and computed columns are never listed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from regie_tui.services.common import validation as v

FieldKind = Literal["text", "bool", "date", "choice"]


@dataclass(frozen=True)
class FieldSpec:
    entity: str
    name: str
    label: str
    kind: FieldKind = "text"
    max_length: int = 200
    required: bool = False
    portal: bool = True  # families may change it from the portal
    check_text: Callable[[str], str] | None = None
    choices: tuple[str, ...] = ()

    def clean(self, value: Any) -> Any:
        """The value as stored, or ``InvalidValue`` with a French message."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise v.InvalidValue(f"{self.label} : oui ou non attendu.")
            return value
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise v.InvalidValue(f"{self.label} : texte attendu.")
        if self.kind == "date":
            return v.parse_date(value, self.label) if value.strip() else None
        text = self.check_text(value) if self.check_text else " ".join(value.split())
        v.check_characters(text, self.label)
        if self.required and not text:
            raise v.InvalidValue(f"{self.label} : obligatoire.")
        if len(text) > self.max_length:
            raise v.InvalidValue(f"{self.label} : {self.max_length} caractères au plus.")
        if self.choices and text not in self.choices:
            raise v.InvalidValue(f"{self.label} : « {text} » n'est pas une valeur possible.")
        return text


def shown(value: Any) -> str:
    """A stored value as an agent reads it."""
    if value is None or value == "":
        return "(vide)"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def _name(label: str) -> Callable[[str], str]:
    return lambda value: v.check_name(value, label)


HEALTH_KINDS = ("allergy", "treatment", "pai", "disability", "other")

FIELDS: dict[str, dict[str, FieldSpec]] = {}


def _register(*specs: FieldSpec) -> None:
    for spec in specs:
        FIELDS.setdefault(spec.entity, {})[spec.name] = spec


_register(
    FieldSpec(
        "family",
        "name",
        "Nom de la famille",
        required=True,
        max_length=120,
        portal=False,
        check_text=_name("Nom de la famille"),
    ),
    FieldSpec("family", "address", "Adresse", max_length=200),
    FieldSpec("family", "address_extra", "Complément d'adresse", max_length=200),
    FieldSpec("family", "postal_code", "Code postal", max_length=10, check_text=v.check_postal_code),
    FieldSpec("family", "city", "Commune", max_length=80),
    FieldSpec("family", "resident", "Résident de la commune", kind="bool", portal=False),
    FieldSpec("family", "notes", "Notes du service", max_length=2000, portal=False),
    FieldSpec("guardian", "last_name", "Nom", required=True, max_length=80, portal=False, check_text=_name("Nom")),
    FieldSpec(
        "guardian", "first_name", "Prénom", required=True, max_length=80, portal=False, check_text=_name("Prénom")
    ),
    FieldSpec("guardian", "relationship", "Lien", max_length=40, portal=False),
    FieldSpec("guardian", "mobile_phone", "Téléphone portable", max_length=20, check_text=v.check_phone),
    FieldSpec("guardian", "home_phone", "Téléphone domicile", max_length=20, check_text=v.check_phone),
    FieldSpec("guardian", "work_phone", "Téléphone travail", max_length=20, check_text=v.check_phone),
    FieldSpec("guardian", "email", "E-mail", max_length=120, check_text=v.check_email),
    FieldSpec("guardian", "employer", "Employeur", max_length=120),
    FieldSpec("child", "last_name", "Nom", required=True, max_length=80, portal=False, check_text=_name("Nom")),
    FieldSpec("child", "first_name", "Prénom", required=True, max_length=80, portal=False, check_text=_name("Prénom")),
    FieldSpec("child", "birth_date", "Date de naissance", kind="date", portal=False),
    FieldSpec("child", "sex", "Sexe", kind="choice", choices=("F", "M"), required=True, portal=False),
    FieldSpec("child", "school", "École", max_length=120),
    FieldSpec("child", "school_class", "Classe", max_length=20),
    FieldSpec("authorized_person", "last_name", "Nom", required=True, max_length=80, check_text=_name("Nom")),
    FieldSpec("authorized_person", "first_name", "Prénom", required=True, max_length=80, check_text=_name("Prénom")),
    FieldSpec("authorized_person", "relationship", "Lien", max_length=40),
    FieldSpec(
        "authorized_person",
        "phone",
        "Téléphone",
        required=True,
        max_length=20,
        check_text=lambda value: v.check_phone(value, required=True),
    ),
    FieldSpec("authorized_person", "may_collect", "Peut récupérer l'enfant", kind="bool"),
    FieldSpec("authorized_person", "emergency_contact", "À prévenir en cas d'urgence", kind="bool"),
    FieldSpec("health_note", "kind", "Type", kind="choice", choices=HEALTH_KINDS, required=True),
    FieldSpec("health_note", "text", "Information", required=True, max_length=1000),
    FieldSpec("health_note", "valid_until", "Valable jusqu'au", kind="date"),
)

ENTITY_LABELS = {
    "family": "Famille",
    "guardian": "Responsable légal",
    "child": "Enfant",
    "authorized_person": "Personne autorisée",
    "health_note": "Information sanitaire",
}

# What a portal "new" object must hold to create an entity (the others take their defaults).
NEW_REQUIRED = {
    "authorized_person": ("last_name", "first_name", "phone"),
    "health_note": ("kind", "text"),
}


def field_spec(entity: str, name: str) -> FieldSpec | None:
    return FIELDS.get(entity, {}).get(name)


def portal_field(entity: str, name: str) -> FieldSpec:
    """The spec of a field families may change, or ``InvalidValue`` saying why not."""
    spec = field_spec(entity, name)
    if entity not in ENTITY_LABELS:
        raise v.InvalidValue(f"entité inconnue : « {entity} ».")
    if spec is None:
        raise v.InvalidValue(f"champ inconnu pour {ENTITY_LABELS[entity].lower()} : « {name} ».")
    if not spec.portal:
        raise v.InvalidValue(f"le champ « {spec.label} » ne se modifie pas depuis le portail.")
    return spec


def clean_new(entity: str, values: Any) -> dict[str, Any]:
    """The fields of an entity the portal creates (a new authorized person or health note)."""
    if entity not in NEW_REQUIRED:
        raise v.InvalidValue(
            f"on ne peut pas ajouter de {ENTITY_LABELS.get(entity, entity).lower()} depuis le portail."
        )
    if not isinstance(values, dict):
        raise v.InvalidValue("« new » doit être un objet de champs.")
    cleaned = {name: portal_field(entity, name).clean(value) for name, value in values.items()}
    missing = [FIELDS[entity][name].label for name in NEW_REQUIRED[entity] if not cleaned.get(name)]
    if missing:
        raise v.InvalidValue("champ(s) obligatoire(s) manquant(s) : " + ", ".join(missing) + ".")
    if entity == "authorized_person" and not (cleaned.get("may_collect", True) or cleaned.get("emergency_contact")):
        raise v.InvalidValue("une personne autorisée doit pouvoir récupérer l'enfant ou être à prévenir.")
    return cleaned
