"""`regie agent …`: the régie's agents, managed by an administrator (or the database's owner)."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from regie_tui.cli.common import AgentDbOption, JsonOption, agent_desk, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.trust.agents import AgentInfo

agent_app = typer.Typer(help="Agents de la régie.")

RoleOption = Annotated[str, typer.Option("--role", help="accueil, regisseur, admin ou portail.")]
LoginArgument = Annotated[str, typer.Argument(help="Identifiant système (login SSH) de l'agent.")]


@agent_app.command("add")
@french_errors
def agent_add(
    login: LoginArgument,
    role: RoleOption = "accueil",
    name: Annotated[str | None, typer.Option("--name", help="Nom affiché.")] = None,
    db: AgentDbOption = None,
) -> None:
    """Ajoute un agent (administrateur, ou propriétaire de la base pour le premier)."""
    from regie_tui.db import session_scope
    from regie_tui.services.trust.agents import add_agent, parse_role

    desk = agent_desk()
    with session_scope(desk.engine, write=True) as session:
        agent = add_agent(session, login=login, role=parse_role(role), display_name=name, by=desk.manager)
    out.print(f"Agent « {agent.login} » ajouté ({agent.role_label}).", highlight=False)


@agent_app.command("role")
@french_errors
def agent_role(login: LoginArgument, role: RoleOption, db: AgentDbOption = None) -> None:
    """Change le rôle d'un agent (ses droits sur la base suivent aussitôt)."""
    from regie_tui.db import session_scope
    from regie_tui.services.trust.agents import parse_role, set_role

    desk = agent_desk()
    with session_scope(desk.engine, write=True) as session:
        agent = set_role(session, login=login, role=parse_role(role), by=desk.manager)
    out.print(f"Agent « {agent.login} » : {agent.role_label}.", highlight=False)


@agent_app.command("deactivate")
@french_errors
def agent_deactivate(login: LoginArgument, db: AgentDbOption = None) -> None:
    """Désactive un agent : il ne peut plus rien lire ni écrire, dès maintenant."""
    agent = _set_active(login, active=False)
    out.print(f"Agent « {agent.login} » désactivé.", highlight=False)


@agent_app.command("reactivate")
@french_errors
def agent_reactivate(login: LoginArgument, db: AgentDbOption = None) -> None:
    """Réactive un agent désactivé, avec son rôle."""
    agent = _set_active(login, active=True)
    out.print(f"Agent « {agent.login} » réactivé ({agent.role_label}).", highlight=False)


def _set_active(login: str, *, active: bool) -> "AgentInfo":
    from regie_tui.db import session_scope
    from regie_tui.services.trust.agents import set_active

    desk = agent_desk()
    with session_scope(desk.engine, write=True) as session:
        return set_active(session, login=login, active=active, by=desk.manager)


@agent_app.command("list")
@french_errors
def agent_list(db: AgentDbOption = None, as_json: JsonOption = False) -> None:
    """Liste les agents (administrateur)."""
    from regie_tui.db import session_scope
    from regie_tui.services.trust.agents import list_agents

    with session_scope(agent_desk().engine) as session:
        agents = list_agents(session)
    if as_json:
        print_json(agents)
        return
    table = Table("Identifiant", "Nom", "Rôle", "Actif")
    for a in agents:
        table.add_row(a.login, a.display_name, a.role_label, "oui" if a.active else "non")
    out.print(table)
