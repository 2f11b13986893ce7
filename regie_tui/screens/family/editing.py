"""Editing the family file: the fields each part's form shows, and the save each form runs
through :mod:`regie_tui.services.families.edit`, with the stamp (version, last audit entry)
of the file as the screen loaded it: a save over a newer file is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from regie_tui.services.families import edit as family_edit

if TYPE_CHECKING:
    from regie_tui.screens.family.form import Save
    from regie_tui.services.families.stamps import FamilyStamp
    from regie_tui.workers import Db

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


def person_values(person: Any) -> dict[str, Any]:
    """A personne autorisée's values, as its form shows them."""
    return {
        "last_name": person.last_name,
        "first_name": person.first_name,
        "relationship": person.relationship,
        "phone": person.phone,
        "may_collect": person.may_collect,
        "emergency_contact": person.emergency_contact,
    }


def edit_save(
    *, family_id: int, agent_id: int, stamp: FamilyStamp | None, entity: str, entity_id: int, diets: bool = False
) -> Save:
    """Set the fields of one part of the file (and a child's diets, with ``diets``)."""

    def save(db: Db, values: dict[str, Any]) -> None:
        diet_ids = values.pop("diets", None)
        family_edit.set_fields(
            db,
            family_id=family_id,
            entity=entity,
            entity_id=entity_id,
            values=values,
            agent_id=agent_id,
            expected=stamp,
        )
        if diets and diet_ids is not None:
            family_edit.set_diets(db, child_id=entity_id, diet_ids=diet_ids, agent_id=agent_id)

    return save


def add_save(
    *, family_id: int, agent_id: int, stamp: FamilyStamp | None, entity: str, extra: Mapping[str, Any]
) -> Save:
    """Add a part to the file (a responsable, a person, a child, a health note), with ``extra`` values."""

    def save(db: Db, values: dict[str, Any]) -> None:
        family_edit.add_entity(
            db, family_id=family_id, entity=entity, values={**values, **extra}, agent_id=agent_id, expected=stamp
        )

    return save


def quotient_save(*, family_id: int, agent_id: int, stamp: FamilyStamp | None) -> Save:
    """Record a new quotient familial."""

    def save(db: Db, values: dict[str, Any]) -> None:
        family_edit.add_quotient(
            db,
            family_id=family_id,
            value=values["value"],
            source=values["source"],
            valid_from=values["valid_from"],
            valid_to=values["valid_to"],
            document_id=values["document_id"] or None,
            agent_id=agent_id,
            expected=stamp,
        )

    return save


def consents_save(*, family_id: int, agent_id: int, stamp: FamilyStamp | None, consents: Mapping[str, bool]) -> Save:
    """Record the consents that changed from ``consents`` (as the file shows them)."""

    def save(db: Db, values: dict[str, Any]) -> None:
        expected = stamp
        for kind, granted in values.items():
            if granted != consents.get(kind, False if kind not in consents else None):
                family_edit.set_consent(
                    db, family_id=family_id, kind=kind, granted=granted, agent_id=agent_id, expected=expected
                )
                expected = None  # the first write checked the stamp and holds the family's lock

    return save
