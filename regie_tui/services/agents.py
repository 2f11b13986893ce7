"""Who is at the keyboard: agents matched to operating-system logins, and their rights."""

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from regie_tui.errors import AccessDenied, RegieError
from regie_tui.models import Agent, Role, Source
from regie_tui.services import audit
from regie_tui.services.sql import id_of

ROLE_LABELS = {Role.ACCUEIL: "Accueil", Role.REGISSEUR: "Régisseur", Role.ADMIN: "Administrateur"}

# Health data is seen by those who care for the child's reception (desk and admin), not
# by those who only handle money (CNIL NS-058: health data only to who needs it).
ROLES_SEEING_HEALTH = frozenset({Role.ACCUEIL, Role.ADMIN})
# A cell whose attendance is recorded or that is billed is changed by the régie's accountable
# agents only, with a reason.
ROLES_UNLOCKING = frozenset({Role.REGISSEUR, Role.ADMIN})


@dataclass(frozen=True)
class AgentInfo:
    id: int
    login: str
    display_name: str
    role: Role

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.role]

    @property
    def sees_health(self) -> bool:
        return self.role in ROLES_SEEING_HEALTH

    @property
    def may_unlock(self) -> bool:
        """May change a locked booking cell (attendance recorded, billed), with a reason."""
        return self.role in ROLES_UNLOCKING


def _info(agent: Agent) -> AgentInfo:
    return AgentInfo(id=id_of(agent), login=agent.login, display_name=agent.display_name, role=agent.role)


def parse_role(text: str) -> Role:
    key = text.strip().lower().replace("é", "e")
    for role in Role:
        if role.value == key:
            return role
    choices = ", ".join(r.value for r in Role)
    raise RegieError(f"Rôle inconnu « {text} » : choisissez parmi {choices}.")


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


def add_agent(session: Session, *, login: str, role: Role, display_name: str | None, by: AgentInfo) -> AgentInfo:
    if by.role is not Role.ADMIN:
        raise AccessDenied("Seul un administrateur peut ajouter un agent.")
    login = login.strip()
    if not login or len(login) > 64 or any(c.isspace() for c in login):
        raise RegieError("Identifiant invalide : un mot sans espace, 64 caractères au plus.")
    if session.exec(select(Agent.id).where(Agent.login == login)).first() is not None:
        raise RegieError(f"L'agent « {login} » existe déjà.")
    return _create(session, login=login, role=role, display_name=display_name or login, by=by)


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
    return [_info(a) for a in session.exec(select(Agent).order_by(Agent.login))]
