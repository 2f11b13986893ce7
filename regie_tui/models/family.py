"""The family file: household, guardians, children, and what goes with them."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from regie_tui.models.base import created_at_field, enum_type, partial_index, version_field


class Family(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        Index("ix_family_name_order", "archived_at", "name_key", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    name_key: str = Field(max_length=120, description="name without accents, lower case")
    address: str = Field(default="", max_length=200)
    address_extra: str = Field(default="", max_length=200)
    postal_code: str = Field(default="", max_length=10)
    city: str = Field(default="", max_length=80)
    resident: bool = Field(default=True, description="lives in the collectivité (else 'extérieur' rates)")
    notes: str = Field(default="", max_length=2000)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = None
    archived_at: datetime | None = None
    version: int = version_field()


class FamilySearchWord(SQLModel, table=True):
    """One word a family is found by (name, phone, e-mail, invoice number), folded.

    A search term is looked up as a prefix range of the primary key, so each term costs
    one index seek whatever the size of the town. The column sorts bytewise on both
    engines (collation "C" on PostgreSQL), as prefix ranges need.
    """

    __tablename__ = "family_search_word"
    __table_args__ = (Index("ix_family_search_word_family", "family_id", "word"),)

    word: str = Field(
        primary_key=True,
        sa_type=String(120).with_variant(String(120, collation="C"), "postgresql"),
    )
    family_id: int = Field(foreign_key="family.id", primary_key=True, ondelete="CASCADE")


class Guardian(SQLModel, table=True):
    """A responsable légal; exactly one per family may be the payer (titulaire)."""

    __table_args__ = (partial_index("uq_guardian_one_payer", "family_id", where="is_payer", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", index=True, ondelete="CASCADE")
    last_name: str = Field(max_length=80)
    first_name: str = Field(max_length=80)
    relationship: str = Field(max_length=40, description="mère, père, tuteur…")
    is_payer: bool = Field(default=False)
    mobile_phone: str = Field(default="", max_length=20)
    home_phone: str = Field(default="", max_length=20)
    work_phone: str = Field(default="", max_length=20)
    email: str = Field(default="", max_length=120)
    employer: str = Field(default="", max_length=120)
    version: int = version_field()


class Sex(StrEnum):
    FEMALE = "F"
    MALE = "M"


class Child(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", index=True, ondelete="CASCADE")
    last_name: str = Field(max_length=80)
    first_name: str = Field(max_length=80)
    birth_date: date
    sex: Sex = Field(sa_type=enum_type(Sex, "child_sex"))
    school: str = Field(default="", max_length=120)
    school_class: str = Field(default="", max_length=20)
    version: int = version_field()


class AuthorizedPerson(SQLModel, table=True):
    __tablename__ = "authorized_person"
    __table_args__ = (CheckConstraint("may_collect OR emergency_contact", name="has_a_purpose"),)

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", index=True, ondelete="CASCADE")
    last_name: str = Field(max_length=80)
    first_name: str = Field(max_length=80)
    relationship: str = Field(default="", max_length=40)
    phone: str = Field(max_length=20)
    may_collect: bool = Field(default=True)
    emergency_contact: bool = Field(default=False)
    version: int = version_field()


class Diet(SQLModel, table=True):
    """A dietary regime the kitchen serves (never a religious label: CNIL)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=30, unique=True)
    label: str = Field(max_length=80)
    # A medical diet (sans gluten, sans lactose, PAI alimentaire) tells a health condition: role matrix.
    health: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class ChildDiet(SQLModel, table=True):
    __tablename__ = "child_diet"

    child_id: int = Field(foreign_key="child.id", primary_key=True, ondelete="CASCADE")
    diet_id: int = Field(foreign_key="diet.id", primary_key=True)


class HealthNoteKind(StrEnum):
    ALLERGY = "allergy"
    TREATMENT = "treatment"
    PAI = "pai"
    DISABILITY = "disability"
    OTHER = "other"


class HealthNote(SQLModel, table=True):
    """Health information; sensitive, shown only to roles allowed to see it."""

    __tablename__ = "health_note"

    id: int | None = Field(default=None, primary_key=True)
    child_id: int = Field(foreign_key="child.id", index=True, ondelete="CASCADE")
    kind: HealthNoteKind = Field(sa_type=enum_type(HealthNoteKind, "health_note_kind"))
    text: str = Field(max_length=1000)
    sensitive: bool = Field(default=True)
    valid_until: date | None = None
    version: int = version_field()


class FamilyQuotient(SQLModel, table=True):
    """A quotient familial (CAF or MSA figure) over its validity, with its proof."""

    __tablename__ = "family_quotient"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_positive"),
        CheckConstraint("valid_to >= valid_from", name="valid_range"),
        Index("ix_family_quotient_family_from", "family_id", "valid_from"),
    )

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", ondelete="CASCADE")
    value: int = Field(description="in euros, as printed on the CAF certificate")
    source: str = Field(max_length=20, description="CAF, MSA, avis d'imposition")
    valid_from: date
    valid_to: date
    document_id: int | None = Field(default=None, foreign_key="document.id")


class ConsentKind(StrEnum):
    PERSONAL_DATA = "personal_data"
    HEALTH_DATA = "health_data"
    IMAGE_RIGHTS = "image_rights"


class Consent(SQLModel, table=True):
    """An RGPD consent given (or withdrawn) by the family, with its date."""

    __table_args__ = (UniqueConstraint("family_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", ondelete="CASCADE")
    kind: ConsentKind = Field(sa_type=enum_type(ConsentKind, "consent_kind"))
    granted: bool
    at: datetime


class PortalAccount(SQLModel, table=True):
    """The family's Espace famille account."""

    __tablename__ = "portal_account"

    id: int | None = Field(default=None, primary_key=True)
    family_id: int = Field(foreign_key="family.id", unique=True, ondelete="CASCADE")
    email: str = Field(max_length=120, unique=True)
    activated_at: datetime | None = None
    stay_signed_in: bool = Field(default=False)


class PortalLogin(SQLModel, table=True):
    """One sign-in to the portal (the family's 'Historique' of connections)."""

    __tablename__ = "portal_login"
    __table_args__ = (Index("ix_portal_login_account_at", "account_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="portal_account.id", ondelete="CASCADE")
    at: datetime
    succeeded: bool = Field(default=True)
