"""Agents: the agent at the keyboard (see :mod:`identity`), its rights, agent management.

On PostgreSQL each agent's login role is a member of one group role ``regie_<role>``,
whose grants enforce the role matrix again (migration 0007); adding, changing or
deactivating an agent changes that membership at once.
"""

import re
from dataclasses import dataclass

from sqlalchemy import func, text
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from regie_tui.errors import AccessDenied, NotFound, RegieError
from regie_tui.models import Agent, Role, Source
from regie_tui.services.common.sql import id_of
from regie_tui.services.trust import access, audit, identity
from regie_tui.services.trust.access import Permission

#: A login as PostgreSQL and Unix both accept it (and never a group role's name).
LOGIN_PATTERN = re.compile(r"[a-z_][a-z0-9_.-]{0,62}")


@dataclass(frozen=True)
class AgentInfo:
    id: int
    login: str
    display_name: str
    role: Role
    active: bool = True

    @property
    def role_label(self) -> str:
        return access.ROLE_LABELS[self.role]

    def may(self, permission: Permission) -> bool:
        """Whether the role matrix gives this agent's role ``permission``."""
        return access.allows(self.role, permission)

    def require(self, permission: Permission) -> None:
        """Refuse (AccessDenied, in French) what the matrix does not give this agent's role."""
        access.require(self.role, permission)


def current_agent(session: Session) -> AgentInfo:
    """The active agent at the keyboard of ``session``; refused in French otherwise."""
    return resolve_agent(session, identity.desk_login(session.connection()))


def require_agent(session: Session, agent_id: int | None, permission: Permission) -> None:
    """Refuse, in French, an action the role matrix does not give the agent ``agent_id`` (an
    unknown or deactivated agent included); None is the system (the portal's import, the seed)."""
    if agent_id is None:
        return
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.active:
        raise AccessDenied("Agent inconnu ou désactivé : rien n'a été fait.")
    _info(agent).require(permission)


def agent_manager(session: Session) -> AgentInfo | None:
    """Who manages agents here: an administrator agent, or None for the database's owner
    (on PostgreSQL, the owner creates the first agents)."""
    who = identity.connected_identity(session.connection())
    if who.owner:
        return None
    agent = resolve_agent(session, who.login)
    agent.require(Permission.AGENTS)
    return agent


def _info(agent: Agent) -> AgentInfo:
    return AgentInfo(
        id=id_of(agent), login=agent.login, display_name=agent.display_name, role=agent.role, active=agent.active
    )


def parse_role(word: str) -> Role:
    key = word.strip().lower().replace("é", "e")
    for role in Role:
        if role.value == key:
            return role
    choices = ", ".join(r.value for r in Role)
    raise RegieError(f"Rôle inconnu « {word} » : choisissez parmi {choices}.")


def resolve_agent(session: Session, login: str) -> AgentInfo:
    """The agent for this login; on a database with no agent yet, it becomes admin."""
    agent = session.exec(select(Agent).where(Agent.login == login)).first()
    if agent is None:
        if session.exec(select(func.count()).select_from(Agent)).one() == 0:
            return _create(session, login=login, role=Role.ADMIN, display_name=login, by=None)
        raise AccessDenied(
            f"L'identifiant « {login} » n'est pas un agent de la régie. "
            f"Un administrateur peut l'ajouter : regie agent add {login} --role accueil"
        )
    if not agent.active:
        raise AccessDenied(f"Le compte agent « {login} » est désactivé.")
    return _info(agent)


def add_agent(session: Session, *, login: str, role: Role, display_name: str | None, by: AgentInfo | None) -> AgentInfo:
    """Add an agent (``by``: an administrator, or None for the database's owner); on
    PostgreSQL its login role is created if need be and made a member of its group role."""
    if by is not None:
        by.require(Permission.AGENTS)
    login = login.strip()
    if not LOGIN_PATTERN.fullmatch(login) or login.startswith(("regie_", "pg_")):
        raise RegieError(
            "Identifiant invalide : un login système en minuscules (lettres, chiffres, . _ -), "
            "63 caractères au plus, sans le préfixe regie_ ni pg_."
        )
    if display_name is not None:
        display_name = clean_display_name(display_name)
    if session.exec(select(Agent.id).where(Agent.login == login)).first() is not None:
        raise RegieError(f"L'agent « {login} » existe déjà.")
    info = _create(session, login=login, role=role, display_name=display_name or login, by=by)
    _grant_database_role(session, login, role)
    return info


def clean_display_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 120 or any(not c.isprintable() for c in name):
        raise RegieError("Nom affiché invalide : 1 à 120 caractères imprimables.")
    return name


def set_role(session: Session, *, login: str, role: Role, by: AgentInfo | None) -> AgentInfo:
    """Give an agent another role (its group role on PostgreSQL follows at once)."""
    agent = _agent(session, login, by)
    if agent.role is role:
        return _info(agent)
    before = agent.role
    agent.role = role
    session.add(agent)
    session.flush()
    _audit(session, agent, by, action="update", before={"role": before.value}, after={"role": role.value})
    if agent.active:
        _grant_database_role(session, login, role)
    return _info(agent)


def set_active(session: Session, *, login: str, active: bool, by: AgentInfo | None) -> AgentInfo:
    """Deactivate (or reactivate) an agent: on PostgreSQL its group membership goes (or
    comes back) at once, so its login role can no longer read or write anything."""
    agent = _agent(session, login, by)
    if by is not None and agent.id == by.id and not active:
        raise RegieError("Un administrateur ne peut pas désactiver son propre compte.")
    if agent.active is active:
        return _info(agent)
    agent.active = active
    session.add(agent)
    session.flush()
    _audit(session, agent, by, action="update", before={"active": not active}, after={"active": active})
    if active:
        _grant_database_role(session, login, agent.role)
    else:
        _revoke_database_role(session, login)
    return _info(agent)


def _agent(session: Session, login: str, by: AgentInfo | None) -> Agent:
    if by is not None:
        by.require(Permission.AGENTS)
    agent = session.exec(select(Agent).where(Agent.login == login.strip())).first()
    if agent is None:
        raise NotFound(f"Aucun agent « {login} ».")
    return agent


def grant_database_role(connection: Connection, login: str, role: Role) -> None:
    """On PostgreSQL, ``login``'s role (created if need be) in the group role of ``role`` only."""
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT regie_agent_grant(:login, :grp)"), {"login": login, "grp": f"regie_{role.value}"}
        )


def _grant_database_role(session: Session, login: str, role: Role) -> None:
    grant_database_role(session.connection(), login, role)


def _revoke_database_role(session: Session, login: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT regie_agent_revoke(:login)"), {"login": login})


def _audit(
    session: Session,
    agent: Agent,
    by: AgentInfo | None,
    *,
    action: str,
    before: dict[str, object],
    after: dict[str, object],
) -> None:
    audit.record(
        session,
        action=action,
        entity="agent",
        entity_id=agent.id,
        source=Source.AGENT if by else Source.SYSTEM,
        agent_id=by.id if by else None,
        before=before,
        after=after,
    )


def _create(session: Session, *, login: str, role: Role, display_name: str, by: AgentInfo | None) -> AgentInfo:
    agent = Agent(login=login, role=role, display_name=display_name)
    session.add(agent)
    session.flush()
    audit.record(
        session,
        action="create",
        entity="agent",
        entity_id=agent.id,
        source=Source.AGENT if by else Source.SYSTEM,
        agent_id=by.id if by else agent.id,
        after={"login": login, "role": role.value, "display_name": display_name},
    )
    return _info(agent)


def list_agents(session: Session) -> list[AgentInfo]:
    """Every agent (any agent may read who works here)."""
    return [_info(a) for a in session.exec(select(Agent).order_by(Agent.login))]
