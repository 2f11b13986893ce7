"""Agents of the régie, matched to operating-system logins."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from regie_tui.models.base import created_at_field, enum_type


class Role(StrEnum):
    ACCUEIL = "accueil"
    REGISSEUR = "regisseur"
    ADMIN = "admin"
    PORTAIL = "portail"  # the family portal's account: imports its submissions file, nothing else


class Agent(SQLModel, table=True):
    __table_args__ = (CheckConstraint("length(login) > 0", name="login_not_empty"),)

    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=120)
    role: Role = Field(sa_type=enum_type(Role, "agent_role"))
    active: bool = Field(default=True)
    created_at: datetime = created_at_field()
