"""Agents: the OS login is the agent; the first login of a fresh database is admin."""

import pytest
from sqlmodel import Session, select

from regie_tui.errors import AccessDenied, RegieError
from regie_tui.models import AuditEntry, Role
from regie_tui.services.trust.agents import add_agent, parse_role, resolve_agent


def test_first_login_becomes_admin_then_strangers_are_refused(engine):
    with Session(engine) as session:
        first = resolve_agent(session, "mdupont")
        session.commit()
        assert first.role is Role.ADMIN
        assert resolve_agent(session, "mdupont") == first
        with pytest.raises(AccessDenied, match="« intrus » n'est pas un agent de la régie"):
            resolve_agent(session, "intrus")
        audit = session.exec(select(AuditEntry).where(AuditEntry.entity == "agent")).one()
        assert audit.after == {"login": "mdupont", "role": "admin", "display_name": "mdupont"}


def test_only_an_admin_adds_agents_and_each_login_once(engine):
    with Session(engine) as session:
        admin = resolve_agent(session, "chef")
        desk = add_agent(session, login="accueil1", role=Role.ACCUEIL, display_name="Julie Petit", by=admin)
        session.commit()
        assert resolve_agent(session, "accueil1").display_name == "Julie Petit"
        with pytest.raises(AccessDenied, match="réservé aux rôles administrateur"):
            add_agent(session, login="autre", role=Role.ACCUEIL, display_name=None, by=desk)
        with pytest.raises(RegieError, match="existe déjà"):
            add_agent(session, login="accueil1", role=Role.ACCUEIL, display_name=None, by=admin)
        with pytest.raises(RegieError, match="Identifiant invalide"):
            add_agent(session, login="deux mots", role=Role.ACCUEIL, display_name=None, by=admin)


def test_roles_are_read_in_french():
    assert parse_role("Régisseur") is Role.REGISSEUR
    with pytest.raises(RegieError, match="Rôle inconnu « chef »"):
        parse_role("chef")
