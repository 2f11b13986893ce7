"""The one way to change a family file: checked, versioned, audited, searchable at once.

The desk forms and the bannette (a portal change accepted, a new child) call these
functions; none commits, the caller's unit of work does. Every write, in one transaction:

- values cleaned by :mod:`regie_tui.services.families.fields` (French ``InvalidValue``);
- the entity must belong to the family; an archived family is not changed any more;
- the family locked and checked against the form's stamp, then the change, its audit
  entry, the family's version + 1 and its search words (:mod:`.stamps`).

Health notes are read and written only by roles allowed to see them (``AccessDenied``).
Children and guardians are not deleted here: a child has bookings and invoices, and a
guardian may be the payer or the debtor of a mandate; a guardian who is neither can be removed.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, SQLModel, col, select

from regie_tui import clock
from regie_tui.clock import utc_now
from regie_tui.errors import AccessDenied, NotFound, RegieError
from regie_tui.models import (
    AuthorizedPerson,
    Child,
    ChildDiet,
    Consent,
    ConsentKind,
    Diet,
    Document,
    Family,
    FamilyQuotient,
    Guardian,
    HealthNote,
    HealthNoteKind,
    Mandate,
    Sex,
    Source,
)
from regie_tui.services.common import validation as v
from regie_tui.services.common.sql import id_col, id_of
from regie_tui.services.families.fields import ENTITY_LABELS, FIELDS, FieldSpec
from regie_tui.services.families.stamps import FILE_MODELS, FamilyStamp, lock_family, record_change, sees_health

#: Fields each new entity must have.
_REQUIRED_NEW = {
    "guardian": ("last_name", "first_name"),
    "child": ("last_name", "first_name", "birth_date", "sex"),
    "authorized_person": ("last_name", "first_name", "phone"),
    "health_note": ("kind", "text"),
}

QUOTIENT_SOURCES = ("CAF", "MSA", "avis d'imposition")


# --------------------------------------------------------------------------- reading


def desk_field(entity: str, name: str) -> FieldSpec:
    """The spec of a field the desk may edit, or ``InvalidValue``."""
    if entity not in FILE_MODELS:
        raise v.InvalidValue(f"entité inconnue : « {entity} ».")
    spec = FIELDS.get(entity, {}).get(name)
    if spec is None:
        raise v.InvalidValue(f"champ inconnu pour {ENTITY_LABELS[entity].lower()} : « {name} ».")
    return spec


def read_field(db: Session, *, entity: str, entity_id: int, field: str) -> Any:
    """The stored value of one field (enums as their code), e.g. to compare with a portal's ``old``."""
    desk_field(entity, field)
    row = db.get(FILE_MODELS[entity], entity_id)
    if row is None:
        raise NotFound(f"{ENTITY_LABELS[entity]} n° {entity_id} introuvable.")
    return _plain(getattr(row, field))


def diet_choices(db: Session, *, agent_id: int | None) -> list[tuple[int, str]]:
    """The diets the kitchen serves that this agent may set: (id, label), by label (the
    medical ones only for the roles that may read health data)."""
    query = select(id_col(Diet.id), col(Diet.label)).order_by(col(Diet.label))
    if not sees_health(db, agent_id):
        query = query.where(~col(Diet.health))
    return [(id_, label) for id_, label in db.exec(query)]


# --------------------------------------------------------------------------- writing


def set_fields(
    db: Session,
    *,
    family_id: int,
    entity: str,
    entity_id: int,
    values: Mapping[str, Any],
    agent_id: int | None,
    source: Source = Source.AGENT,
    expected: FamilyStamp | None = None,
) -> None:
    """Change fields of the family, a guardian, child, authorized person or health note."""
    family = lock_family(db, family_id, expected, agent_id)
    if entity == "health_note":
        _check_health_access(db, agent_id)
    row = _owned(db, family, entity, entity_id)
    cleaned = _clean(entity, values)
    if entity == "child" and "birth_date" in cleaned:
        _check_child_birth(cleaned["birth_date"])
    if entity == "authorized_person":
        may_collect = cleaned.get("may_collect", getattr(row, "may_collect"))  # noqa: B009
        emergency = cleaned.get("emergency_contact", getattr(row, "emergency_contact"))  # noqa: B009
        _check_purpose(may_collect, emergency)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name, value in cleaned.items():
        old = getattr(row, name)
        if _plain(old) == _plain(value):
            continue
        before[name], after[name] = _json(old), _json(value)
        setattr(row, name, _stored(entity, name, value))
    if not after:
        return
    if hasattr(row, "version") and row is not family:
        row.version += 1
    db.add(row)
    record_change(db, family, agent_id, source, "update", entity, entity_id, before, after)


def add_entity(
    db: Session,
    *,
    family_id: int,
    entity: str,
    values: Mapping[str, Any],
    agent_id: int | None,
    source: Source = Source.AGENT,
    expected: FamilyStamp | None = None,
) -> int:
    """Add a guardian, child, authorized person or health note (``values["child_id"]``); its id."""
    if entity not in _REQUIRED_NEW:
        raise RegieError(f"On ne peut pas ajouter : « {entity} ».")
    family = lock_family(db, family_id, expected, agent_id)
    fields = dict(values)
    child_id = fields.pop("child_id", None)
    if entity == "health_note":
        _check_health_access(db, agent_id)
        if not isinstance(child_id, int):
            raise v.InvalidValue("Information sanitaire : l'enfant concerné est obligatoire.")
        _owned(db, family, "child", child_id)
    cleaned = _clean(entity, fields)
    missing = [desk_field(entity, name).label for name in _REQUIRED_NEW[entity] if cleaned.get(name) in (None, "")]
    if missing:
        raise v.InvalidValue("Champ(s) obligatoire(s) : " + ", ".join(missing) + ".")
    if entity == "child":
        _check_child_birth(cleaned["birth_date"])
    if entity == "authorized_person":
        _check_purpose(cleaned.get("may_collect", True), cleaned.get("emergency_contact", False))
    stored = {name: _stored(entity, name, value) for name, value in cleaned.items()}
    row: SQLModel
    if entity == "guardian":
        has_payer = db.exec(select(Guardian.id).where(Guardian.family_id == family_id, Guardian.is_payer)).first()
        stored.setdefault("relationship", "")
        row = Guardian(family_id=family_id, is_payer=has_payer is None, **stored)
    elif entity == "child":
        row = Child(family_id=family_id, **stored)
    elif entity == "authorized_person":
        row = AuthorizedPerson(family_id=family_id, **stored)
    else:
        assert isinstance(child_id, int)
        row = HealthNote(child_id=child_id, **stored)
    db.add(row)
    db.flush()
    new_id = id_of(row)
    after = {name: _json(value) for name, value in cleaned.items()}
    if entity == "health_note":
        after["child_id"] = child_id
    record_change(db, family, agent_id, source, "create", entity, new_id, None, after)
    return new_id


def remove_entity(
    db: Session,
    *,
    family_id: int,
    entity: str,
    entity_id: int,
    agent_id: int | None,
    source: Source = Source.AGENT,
    expected: FamilyStamp | None = None,
) -> None:
    """Remove an authorized person, a health note, or a guardian who neither pays nor signed a mandate."""
    if entity == "child":
        raise RegieError("Un enfant ne se supprime pas : ses inscriptions et factures restent au dossier.")
    if entity not in ("guardian", "authorized_person", "health_note"):
        raise RegieError(f"On ne peut pas supprimer : « {entity} ».")
    family = lock_family(db, family_id, expected, agent_id)
    if entity == "health_note":
        _check_health_access(db, agent_id)
    row = _owned(db, family, entity, entity_id)
    if isinstance(row, Guardian):
        if row.is_payer:
            raise RegieError(
                f"{row.first_name} {row.last_name} est le payeur de la famille : désignez d'abord un autre payeur."
            )
        # The debtor's name is copied on the mandate: a guardian signing one is kept.
        name = f"{row.first_name} {row.last_name}"
        if db.exec(select(Mandate.id).where(Mandate.family_id == family_id, Mandate.debtor_name == name)).first():
            raise RegieError(f"{name} a signé un mandat de prélèvement : il reste au dossier.")
    before = {name: _json(getattr(row, name)) for name in _audited_fields(entity)}
    db.delete(row)
    db.flush()
    record_change(db, family, agent_id, source, "delete", entity, entity_id, before, None)


def set_payer(
    db: Session,
    *,
    family_id: int,
    guardian_id: int,
    agent_id: int | None,
    expected: FamilyStamp | None = None,
    source: Source = Source.AGENT,
) -> None:
    """Make this guardian the family's one payer (titulaire)."""
    family = lock_family(db, family_id, expected, agent_id)
    guardian = _owned(db, family, "guardian", guardian_id)
    assert isinstance(guardian, Guardian)
    if guardian.is_payer:
        return
    former = db.exec(select(Guardian).where(Guardian.family_id == family_id, Guardian.is_payer)).first()
    if former is not None:
        former.is_payer = False
        former.version += 1
        db.add(former)
        db.flush()  # the one-payer unique index is checked row by row
    guardian.is_payer = True
    guardian.version += 1
    db.add(guardian)
    before = {"payer": f"{former.first_name} {former.last_name}"} if former else None
    after = {"payer": f"{guardian.first_name} {guardian.last_name}"}
    record_change(db, family, agent_id, source, "update", "family", family_id, before, after)


def set_diets(
    db: Session,
    *,
    child_id: int,
    diet_ids: Iterable[int],
    agent_id: int | None,
    expected: FamilyStamp | None = None,
    source: Source = Source.AGENT,
) -> None:
    """The child's diets become exactly ``diet_ids``; an agent who may not read health data
    neither sets nor removes a medical diet (those stay as they are)."""
    child = db.get(Child, child_id)
    if child is None:
        raise NotFound(f"Enfant n° {child_id} introuvable.")
    family = lock_family(db, child.family_id, expected, agent_id)
    wanted = sorted(set(diet_ids))
    known = set(db.exec(select(id_col(Diet.id)).where(col(Diet.id).in_(wanted))).all())
    unknown = [str(d) for d in wanted if d not in known]
    if unknown:
        raise v.InvalidValue("Régime inconnu : n° " + ", ".join(unknown) + ".")
    current = sorted(db.exec(select(ChildDiet.diet_id).where(ChildDiet.child_id == child_id)).all())
    if not sees_health(db, agent_id):  # the medical diets it cannot see stay; it sets none
        medical = set(db.exec(select(id_col(Diet.id)).where(col(Diet.health))).all())
        if (set(wanted) - set(current)) & medical:
            raise AccessDenied("Les régimes médicaux sont des informations sanitaires : accueil et administrateur.")
        wanted = sorted(set(wanted) | (set(current) & medical))
    labels = dict(db.exec(select(col(Diet.id), col(Diet.label)).where(col(Diet.id).in_(wanted))).all())
    if current == wanted:
        return
    old_labels = dict(db.exec(select(col(Diet.id), col(Diet.label)).where(col(Diet.id).in_(current))).all())
    db.exec(
        delete(ChildDiet).where(
            col(ChildDiet.child_id) == child_id, col(ChildDiet.diet_id).in_(set(current) - set(wanted))
        )
    )
    for diet_id in set(wanted) - set(current):
        db.add(ChildDiet(child_id=child_id, diet_id=diet_id))
    child.version += 1
    db.add(child)
    before = {"diets": ", ".join(sorted(old_labels.values())) or None}
    after = {"diets": ", ".join(sorted(labels.values())) or None}
    record_change(db, family, agent_id, source, "update", "child", child_id, before, after)


def set_consent(
    db: Session,
    *,
    family_id: int,
    kind: str,
    granted: bool,
    agent_id: int | None,
    expected: FamilyStamp | None = None,
    source: Source = Source.AGENT,
) -> None:
    """Record an RGPD consent given or withdrawn, dated now."""
    try:
        consent_kind = ConsentKind(kind)
    except ValueError:
        raise v.InvalidValue(f"Consentement inconnu : « {kind} ».") from None
    if not isinstance(granted, bool):
        raise v.InvalidValue("Consentement : oui ou non attendu.")
    family = lock_family(db, family_id, expected, agent_id)
    consent = db.exec(select(Consent).where(Consent.family_id == family_id, Consent.kind == consent_kind)).first()
    old = None if consent is None else consent.granted
    if old == granted:
        return
    if consent is None:
        consent = Consent(family_id=family_id, kind=consent_kind, granted=granted, at=_now())
    else:
        consent.granted, consent.at = granted, _now()
    db.add(consent)
    record_change(db, family, agent_id, source, "update", "consent", family_id, {kind: old}, {kind: granted})


def add_quotient(
    db: Session,
    *,
    family_id: int,
    value: int | str,
    source: str,
    valid_from: date | str,
    valid_to: date | str,
    document_id: int | None = None,
    agent_id: int | None,
    expected: FamilyStamp | None = None,
    origin: Source = Source.AGENT,
) -> int:
    """A new quotient familial (``source``: CAF, MSA or avis d'imposition) over its validity; its id."""
    amount = quotient_value(value)
    quotient_source = next((s for s in QUOTIENT_SOURCES if s.lower() == str(source).strip().lower()), None)
    if quotient_source is None:
        raise v.InvalidValue("Source du quotient : CAF, MSA ou avis d'imposition.")
    start = _date(valid_from, "Valable du")
    end = _date(valid_to, "Valable au")
    if end < start:
        raise v.InvalidValue("Quotient familial : la fin de validité précède son début.")
    family = lock_family(db, family_id, expected, agent_id)
    if document_id is not None:
        document = db.get(Document, document_id)
        if document is None or document.family_id != family_id:
            raise v.InvalidValue(f"Le document n° {document_id} n'est pas un document de cette famille.")
    quotient = FamilyQuotient(
        family_id=family_id,
        value=amount,
        source=quotient_source,
        valid_from=start,
        valid_to=end,
        document_id=document_id,
    )
    db.add(quotient)
    db.flush()
    after = {
        "value": amount,
        "source": quotient_source,
        "valid_from": start.isoformat(),
        "valid_to": end.isoformat(),
    }
    record_change(db, family, agent_id, origin, "create", "quotient", id_of(quotient), None, after)
    return id_of(quotient)


def archive_family(
    db: Session,
    *,
    family_id: int,
    agent_id: int | None,
    expected: FamilyStamp | None = None,
    source: Source = Source.AGENT,
) -> None:
    """Archive the family: out of searches and of the portal import; its history is kept."""
    family = lock_family(db, family_id, expected, agent_id)
    family.archived_at = _now()
    record_change(db, family, agent_id, source, "archive", "family", family_id, {"archived": False}, {"archived": True})


# --------------------------------------------------------------------------- inside


def _now() -> datetime:
    return utc_now()


def _owned(db: Session, family: Family, entity: str, entity_id: int) -> SQLModel:
    if entity == "family":
        if entity_id != family.id:
            raise RegieError(f"La famille n° {entity_id} n'est pas celle du formulaire (n° {family.id}).")
        return family
    if entity not in FILE_MODELS:
        raise v.InvalidValue(f"entité inconnue : « {entity} ».")
    row = db.get(FILE_MODELS[entity], entity_id)
    owner = None
    if row is not None:
        if isinstance(row, HealthNote):
            owner = db.exec(select(Child.family_id).where(Child.id == row.child_id)).first()
        else:
            owner = getattr(row, "family_id", None)
    if row is None or owner != family.id:
        raise NotFound(f"{ENTITY_LABELS[entity]} n° {entity_id} : introuvable dans la famille {family.name}.")
    return row


def _clean(entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        spec = desk_field(entity, name)
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, date):
            value = value.isoformat()
        cleaned[name] = spec.clean(value)
        if spec.kind == "date" and cleaned[name] is None and name == "birth_date":
            raise v.InvalidValue(f"{spec.label} : obligatoire.")
    return cleaned


def _stored(entity: str, name: str, value: Any) -> Any:
    if entity == "child" and name == "sex":
        return Sex(value)
    if entity == "health_note" and name == "kind":
        return HealthNoteKind(value)
    return value


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _json(value: Any) -> Any:
    value = _plain(value)
    return value.isoformat() if isinstance(value, date) else value


def _audited_fields(entity: str) -> list[str]:
    return list(FIELDS.get(entity, {}))


def _check_child_birth(value: date) -> None:
    v.check_birth_date(value, today=clock.today(), max_age=18)


def _check_purpose(may_collect: bool, emergency: bool) -> None:
    if not (may_collect or emergency):
        raise v.InvalidValue("Une personne autorisée doit pouvoir récupérer l'enfant ou être à prévenir.")


def _check_health_access(db: Session, agent_id: int | None) -> None:
    if not sees_health(db, agent_id):
        raise AccessDenied("Les informations sanitaires sont réservées aux rôles accueil et administrateur.")


def quotient_value(value: int | str) -> int:
    if isinstance(value, bool):
        raise v.InvalidValue("Quotient familial : un nombre entier d'euros est attendu.")
    if isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        if not text.isdigit():
            raise v.InvalidValue(f"Quotient familial : « {value.strip()} » n'est pas un nombre entier d'euros.")
        value = int(text)
    if value < 0 or value > 100_000:
        raise v.InvalidValue("Quotient familial : entre 0 et 100 000 €.")
    return value


def _date(value: date | str, label: str) -> date:
    if isinstance(value, date):
        return value
    if not str(value).strip():
        raise v.InvalidValue(f"{label} : obligatoire.")
    return v.parse_date(str(value), label)
