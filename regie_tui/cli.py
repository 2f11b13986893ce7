"""The `regie` command: opens the app, or runs one task (schema, seed, agents, read-outs)."""

import dataclasses
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from typer._click.globals import get_current_context

from regie_tui import clock, formatting
from regie_tui.cli_french import frenchify_click, refuse_unclear_values
from regie_tui.config import settings
from regie_tui.errors import RegieError, error_message, refused_by_database, system_error
from regie_tui.limits import ID_MAX

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from regie_tui.services.families.file import ChildView, FamilyDetail
    from regie_tui.services.trust.agents import AgentInfo

P = ParamSpec("P")
R = TypeVar("R")

frenchify_click()
refuse_unclear_values()
app = typer.Typer(
    help="Régie enfance : familles, bannette, réservations, facturation.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Schéma de la base de données.")
agent_app = typer.Typer(help="Agents de la régie.")
family_app = typer.Typer(help="Familles (lecture).")
app.add_typer(db_app, name="db")
app.add_typer(agent_app, name="agent")
app.add_typer(family_app, name="family")

#: Markup off: what agents and families typed prints as typed (« [/] » is text, not a tag that
#: would stop the command); the few styled lines ask for markup and escape what they show.
out = Console(markup=False)
err = Console(stderr=True, soft_wrap=True, markup=False)

DB_HELP = "Adresse de la base (sqlite:///… ou postgresql+psycopg://…). Défaut : REGIE_DATABASE_URL ou sqlite:///data/regie.db."
JsonOption = Annotated[bool, typer.Option("--json", help="Sortie JSON (pour les scripts).")]

#: Ids run from 1 to ``limits.ID_MAX`` (PostgreSQL's INTEGER): a number outside is refused
#: by the parser, in French, before any query.
ID_MIN = 1


def id_argument(help: str, *, metavar: str | None = None) -> Any:
    """The ``typer.Argument`` of a record's number (family, child, unit, item…): every id
    argument of every command uses it, so that all are bounded like the database's ids."""
    return typer.Argument(help=help, metavar=metavar, min=ID_MIN, max=ID_MAX)


def id_option(name: str, help: str) -> Any:
    """The ``typer.Option`` of a record's number (``--activity``, ``--group``…), bounded likewise."""
    return typer.Option(name, help=help, min=ID_MIN, max=ID_MAX)


def day(text: str, label: str) -> date:
    """A date typed on the command line (JJ/MM/AAAA or AAAA-MM-JJ), in the régie's years
    (``validation.parse_date``, the one parser of every date): else a French line, exit 1."""
    from regie_tui.services.common.validation import parse_date

    return parse_date(text, label)


def day_or_today(text: str | None, label: str) -> date:
    """:func:`day`, or today when the option is not given."""
    return day(text, label) if text is not None else clock.today()


def month(text: str, label: str = "Mois") -> date:
    """A month typed AAAA-MM on the command line: its first day, in the régie's years."""
    from regie_tui.services.common.validation import parse_month

    return parse_month(text, label)


def refuse_repeated(values: Iterable[object], message: str) -> None:
    """A repeatable option given the same value twice (``--line 1 --line 1``) is unclear:
    ``message`` (its ``{}`` the value) in French, exit 1, before anything runs."""
    seen: set[object] = set()
    for value in values:
        key = value.strip() if isinstance(value, str) else value
        if key in seen:
            fail(message.format(key))
        seen.add(key)


#: `regie --db URL <command>`: the URL given before the command, for commands given none.
_given_before: str | None = None


def _url(db: str | None) -> str:
    return db or _given_before or settings().database_url


@dataclasses.dataclass(frozen=True)
class Desk:
    """The open database and the agent at its keyboard, for one command."""

    engine: "Engine"
    agent: "AgentInfo"


@dataclasses.dataclass(frozen=True)
class AgentDesk:
    """The open database and who manages agents: an administrator, or None for the owner."""

    engine: "Engine"
    manager: "AgentInfo | None"


_DESK = "regie.desk"


def _opened(value: str | None, resolve: "Callable[[Any], Any]") -> tuple["Engine", Any]:
    """The database at ``value`` opened and ``resolve(session)``; failures as one French line."""
    from sqlalchemy.exc import DBAPIError

    from regie_tui.db import open_database, parse_url, session_scope

    try:
        engine = open_database(_url(value))
        with session_scope(engine) as session:
            return engine, resolve(session)
    except RegieError as exc:
        fail(exc.message)
    except DBAPIError as exc:
        fail(error_message(exc, parse_url(_url(value))))


def _desk_opener(permission: str) -> "Callable[[typer.Context, str | None], str | None]":
    """``--db``'s callback, eager: before any other argument is read, the database is opened,
    the agent at the keyboard resolved and ``permission`` checked against the role matrix;
    a stranger, a deactivated agent or a role without it stops here. (``permission`` is a
    :class:`~regie_tui.services.trust.access.Permission` value: the models load with the command.)"""

    def open_desk(ctx: typer.Context, value: str | None) -> str | None:
        if not ctx.resilient_parsing:
            from regie_tui.services.trust.access import Permission
            from regie_tui.services.trust.agents import current_agent

            def resolve(session: Any) -> "AgentInfo":
                agent = current_agent(session)
                agent.require(Permission(permission))
                return agent

            engine, agent = _opened(value, resolve)
            ctx.meta[_DESK] = Desk(engine, agent)
        return value

    return open_desk


def _open_agent_desk(ctx: typer.Context, value: str | None) -> str | None:
    """``--db``'s callback for agent management: an administrator, or the database's owner."""
    if not ctx.resilient_parsing:
        from regie_tui.services.trust.agents import agent_manager

        engine, manager = _opened(value, agent_manager)
        ctx.meta[_DESK] = AgentDesk(engine, manager)
    return value


#: ``--db`` of every command that works on the régie: the agent is resolved by its callback.
DbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP, callback=_desk_opener("desk"), is_eager=True)]
#: ``--db`` of the portal's import (the desk's roles and the portal's own account).
ImportDbOption = Annotated[
    str | None, typer.Option("--db", help=DB_HELP, callback=_desk_opener("portal_import"), is_eager=True)
]
#: ``--db`` of agent management (an administrator, or the database's owner on PostgreSQL).
AgentDbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP, callback=_open_agent_desk, is_eager=True)]
#: ``--db`` of the schema and the demo seed: no régie data read, no agent yet.
SchemaDbOption = Annotated[str | None, typer.Option("--db", help=DB_HELP)]


def desk() -> Desk:
    """The database and agent of the running command (resolved by ``--db``'s callback)."""
    found = get_current_context().meta[_DESK]
    assert isinstance(found, Desk)
    return found


def agent_desk() -> AgentDesk:
    found = get_current_context().meta[_DESK]
    assert isinstance(found, AgentDesk)
    return found


def french_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print expected failures (ours, a database out of reach, a file the system refuses) as
    one French line on stderr and exit 1, no traceback; any other exception is a bug and
    keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except RegieError as exc:
            fail(exc.message)
        except OSError as exc:  # a path too long, a folder given for a file, a full disk…
            where = f"« {str(exc.filename)[:80]} » : " if exc.filename is not None else ""
            fail(f"{where}{system_error(exc)}.")
        except Exception as exc:
            from sqlalchemy.exc import OperationalError

            from regie_tui.db import parse_url

            refused = refused_by_database(exc)
            if refused is not None:
                fail(refused)
            if not isinstance(exc, OperationalError):
                raise
            db = cast("str | None", kwargs.get("db"))  # every command's --db (DbOption)
            fail(error_message(exc, parse_url(_url(db))))

    return wrapper


def fail(message: str) -> NoReturn:
    """One French line on stderr, exit status 1."""
    err.print(f"[bold red]Erreur :[/] {escape(visible(message))}", highlight=False, markup=True)
    raise typer.Exit(1) from None


#: Characters a terminal would obey rather than show (control characters, bidirectional
#: overrides) and bytes that were not UTF-8: shown as escapes in what the CLI prints back.
_UNSHOWABLE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """``text`` safe to print back to the agent: an escape sequence typed in a value is shown
    as ``\\x1b``, never played by the terminal."""
    return _UNSHOWABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"not serialisable: {type(value)}")


def print_json(data: Any) -> None:
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    elif isinstance(data, list):
        data = [dataclasses.asdict(d) if dataclasses.is_dataclass(d) and not isinstance(d, type) else d for d in data]
    sys.stdout.write(json.dumps(data, default=_json_default, ensure_ascii=False, indent=2) + "\n")


# ------------------------------------------------------------------------- app


@app.callback(invoke_without_command=True)
@french_errors
def run(ctx: typer.Context, db: SchemaDbOption = None) -> None:
    """Sans commande : ouvre l'application sur la base."""
    global _given_before
    _given_before = db
    if ctx.invoked_subcommand is not None:
        return
    import textual_image.widget  # noqa: F401  (asks the terminal what images it can show: before Textual starts)

    from regie_tui.app import create_app

    # The app paints its first screen, then opens the database in a worker.
    app = create_app(database_url=_url(db))
    app.run()
    if app.startup_error:
        fail(app.startup_error)


# -------------------------------------------------------------------------- db


@db_app.command("upgrade")
@french_errors
def db_upgrade(db: SchemaDbOption = None) -> None:
    """Crée ou met à jour le schéma (migrations Alembic)."""
    from regie_tui.db import make_engine, upgrade

    engine = make_engine(_url(db), create=True)
    before, after = upgrade(engine)
    if before == after:
        out.print(f"Schéma déjà à jour (révision {after}).")
    elif before is None:
        out.print(f"Schéma créé (révision {after}).")
    else:
        out.print(f"Schéma mis à jour : révision {before} → {after}.")


@db_app.command("status")
@french_errors
def db_status(db: SchemaDbOption = None) -> None:
    """Affiche la révision du schéma de la base et celle attendue."""
    from regie_tui.db import current_revision, head_revision, make_engine

    engine = make_engine(_url(db))
    out.print(f"Base : révision {current_revision(engine) or 'aucune'} ; regie-tui attend : {head_revision()}.")


# ------------------------------------------------------------------------ seed


@app.command("seed")
@french_errors
def seed(
    db: SchemaDbOption = None,
    families: Annotated[int, typer.Option("--families", min=1, max=200_000, help="Nombre de familles.")] = 300,
    seed_value: Annotated[int, typer.Option("--seed", help="Graine : la même graine donne la même ville.")] = 1,
    admin: Annotated[
        str | None, typer.Option("--admin", help="Login de l'administrateur de la ville (défaut : le compte système).")
    ] = None,
) -> None:
    """Crée une ville de démonstration (schéma compris) dans une base vide."""
    from regie_tui.db import make_engine, upgrade
    from regie_tui.demo.seed import seed_demo_town
    from regie_tui.services.trust import identity

    engine = make_engine(_url(db), create=True)
    upgrade(engine)
    summary = seed_demo_town(
        engine, families=families, seed=seed_value, today=clock.today(), admin_login=admin or identity.os_login()
    )
    for line in summary.lines():
        out.print(line, highlight=False)


# ----------------------------------------------------------------------- agents


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


# --------------------------------------------------------------------- families


@family_app.command("search")
@french_errors
def family_search(
    text: Annotated[str, typer.Argument(help="Nom, prénom, téléphone, e-mail ou n° de facture.")],
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cherche des familles comme l'écran Familles."""
    from regie_tui.db import session_scope
    from regie_tui.services.families.search import search_families

    with session_scope(desk().engine) as session:
        page = search_families(session, text, limit=limit)
    if as_json:
        print_json([{k: v for k, v in dataclasses.asdict(r).items() if k != "sort_key"} for r in page.rows])
        return
    table = Table("N°", "Famille", "Responsables", "Enfants", "Commune", "Téléphone", "Solde dû")
    for r in page.rows:
        table.add_row(str(r.id), r.name, r.guardians, r.children, r.city, r.phone, formatting.money(r.balance_cents))
    out.print(table)
    more = " (affinez la recherche pour voir la suite)" if page.has_more else ""
    out.print(f"{len(page.rows)} famille(s){more}.", highlight=False)


@family_app.command("show")
@french_errors
def family_show(
    family_id: Annotated[int, id_argument("Numéro de la famille.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Affiche la fiche d'une famille."""
    from regie_tui.db import session_scope
    from regie_tui.services.families.file import family_detail

    current = desk()
    with session_scope(current.engine) as session:
        detail = family_detail(session, family_id, agent=current.agent, today=clock.today())
    if as_json:
        data = dataclasses.asdict(detail)
        for invoice, row in zip(data["invoices"], detail.invoices, strict=True):
            invoice["balance_cents"] = row.balance_cents
        print_json(data)
        return
    _print_family(detail)


def _health(child: "ChildView") -> str:
    """A child's health notes, or that there are some the agent's role may not read."""
    from regie_tui.labels import HEALTH_KIND, label

    if child.health_notes is None:
        return "accès réservé" if child.health_note_count else ""
    return "; ".join(f"{label(HEALTH_KIND, n.kind)} : {n.text}" for n in child.health_notes)


def _print_family(detail: "FamilyDetail") -> None:
    from regie_tui.labels import DOCUMENT_STATUS, ENROLLMENT_STATUS, label

    money = formatting.money
    out.print(
        f"[bold]{escape(detail.name)}[/] (n° {detail.id}) — "
        + escape(f"{detail.address}, {detail.postal_code} {detail.city}"),
        highlight=False,
        markup=True,
    )
    out.print(f"Solde dû : {money(detail.balance_cents)}", highlight=False)
    for alert in detail.alerts:
        out.print(f"  ! {alert.text}", highlight=False)
    sections: list[tuple[str, tuple[str, ...], list[tuple[str | None, ...]]]] = [
        (
            "Responsables",
            ("Nom", "Lien", "Payeur", "Mobile", "E-mail"),
            [(g.name, g.relationship, "oui" if g.is_payer else "", g.mobile_phone, g.email) for g in detail.guardians],
        ),
        (
            "Enfants",
            ("Prénom", "Nom", "Naissance", "Âge", "École", "Régime", "Santé"),
            [
                (
                    c.first_name,
                    c.last_name,
                    formatting.short_date(c.birth_date),
                    f"{c.age} ans",
                    c.school,
                    ", ".join(c.diets),
                    _health(c),
                )
                for c in detail.children
            ],
        ),
        (
            "Inscriptions",
            ("Enfant", "Activité", "Groupe", "Statut"),
            [(e.child, e.activity, e.age_group, label(ENROLLMENT_STATUS, e.status)) for e in detail.enrollments],
        ),
        (
            "Factures",
            ("Numéro", "Période", "Montant", "Réglé", "Solde"),
            [
                (i.number, f"{i.period_start:%m/%Y}", money(i.total_cents), money(i.paid_cents), money(i.balance_cents))
                for i in detail.invoices
            ],
        ),
        (
            "Documents",
            ("Document", "Pour", "Statut", "Valable jusqu'au"),
            [
                (d.type_name, d.person, label(DOCUMENT_STATUS, d.status), formatting.short_date(d.valid_to))
                for d in detail.documents
            ],
        ),
    ]
    for title, headers, rows in sections:
        table = Table(*headers, title=title, title_justify="left")
        for row in rows:
            table.add_row(*row)
        out.print(table)


def _register_rooms() -> None:
    """The commands of each room live in their own module (they import this one)."""
    from regie_tui import cli_bannette  # noqa: F401  (adds its commands to inbox_app)
    from regie_tui.cli_billing_admin import rates_app, reminders_app
    from regie_tui.cli_booking import booking_app
    from regie_tui.cli_inbox import inbox_app
    from regie_tui.cli_invoices import invoices_app
    from regie_tui.cli_mail import mail_app
    from regie_tui.cli_occupancy import occupancy
    from regie_tui.cli_payments import payments_app
    from regie_tui.cli_publish import publish_app
    from regie_tui.cli_rgpd import rgpd_app
    from regie_tui.cli_roster import roster_command
    from regie_tui.cli_sepa import sepa_app

    app.add_typer(inbox_app, name="inbox")
    app.add_typer(mail_app, name="mail")
    app.add_typer(publish_app, name="publish")
    app.add_typer(booking_app, name="booking")
    app.add_typer(invoices_app, name="invoices")
    app.command("roster")(roster_command)
    app.command("occupancy")(occupancy)
    app.add_typer(payments_app, name="payments")
    app.add_typer(rates_app, name="rates")
    app.add_typer(reminders_app, name="reminders")
    app.add_typer(sepa_app, name="sepa")
    app.add_typer(rgpd_app, name="rgpd")

    from regie_tui import cli_invoice_print  # noqa: F401  (adds show and pdf to invoices_app)


_register_rooms()


def main() -> None:
    app(prog_name="regie")
