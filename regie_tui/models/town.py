"""The collectivité running the services, and its régies (one invoice series each)."""

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel


class Town(SQLModel, table=True):
    """The single collectivité this database serves (issuer of every invoice)."""

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int | None = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    name: str = Field(max_length=120)
    service_name: str = Field(max_length=120)
    address: str = Field(max_length=200)
    postal_code: str = Field(max_length=10)
    city: str = Field(max_length=80)
    phone: str = Field(max_length=20)
    email: str = Field(max_length=120)
    school_zone: str = Field(max_length=1)
    appeal_notice: str = Field(max_length=600)


class Regie(SQLModel, table=True):
    """A régie de recettes: bills one group of services under its own number prefix."""

    __table_args__ = (CheckConstraint("length(invoice_prefix) between 1 and 8", name="prefix_length"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=120)
    invoice_prefix: str = Field(max_length=8, unique=True)
    sepa_creditor_id: str | None = Field(default=None, max_length=35)
    payfip_client_number: str | None = Field(default=None, max_length=6)
    sepa_iban: str | None = Field(default=None, max_length=34, description="the account direct debits go to")
    sepa_bic: str | None = Field(default=None, max_length=11)
