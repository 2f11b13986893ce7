"""`regie family …`: families read as the Familles screen and the family file show them."""

import dataclasses
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from regie_tui import clock, formatting
from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.families.file import ChildView, FamilyDetail

family_app = typer.Typer(help="Familles (lecture).")

Rows = list[tuple[str | None, ...]]
#: A table of the family file: its title, its column heads, its rows.
Section = tuple[str, tuple[str, ...], Rows]


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

    with session_scope(common.desk().engine) as session:
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
    family_id: Annotated[int, common.id_argument("Numéro de la famille.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Affiche la fiche d'une famille."""
    from regie_tui.db import session_scope
    from regie_tui.services.families.file import family_detail

    current = common.desk()
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
    """The family file in the terminal: its heading, then one table per section."""
    out.print(
        f"[bold]{escape(detail.name)}[/] (n° {detail.id}) — "
        + escape(f"{detail.address}, {detail.postal_code} {detail.city}"),
        highlight=False,
        markup=True,
    )
    out.print(f"Solde dû : {formatting.money(detail.balance_cents)}", highlight=False)
    for alert in detail.alerts:
        out.print(f"  ! {alert.text}", highlight=False)
    for title, headers, rows in [*_people(detail), *_records(detail)]:
        table = Table(*headers, title=title, title_justify="left")
        for row in rows:
            table.add_row(*row)
        out.print(table)


def _people(detail: "FamilyDetail") -> list[Section]:
    """The guardians and the children."""
    guardians: Rows = [
        (g.name, g.relationship, "oui" if g.is_payer else "", g.mobile_phone, g.email) for g in detail.guardians
    ]
    children: Rows = [
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
    ]
    return [
        ("Responsables", ("Nom", "Lien", "Payeur", "Mobile", "E-mail"), guardians),
        ("Enfants", ("Prénom", "Nom", "Naissance", "Âge", "École", "Régime", "Santé"), children),
    ]


def _records(detail: "FamilyDetail") -> list[Section]:
    """The enrollments, the invoices and the documents."""
    from regie_tui.labels import DOCUMENT_STATUS, ENROLLMENT_STATUS, label

    money = formatting.money
    enrollments: Rows = [
        (e.child, e.activity, e.age_group, label(ENROLLMENT_STATUS, e.status)) for e in detail.enrollments
    ]
    invoices: Rows = [
        (i.number, f"{i.period_start:%m/%Y}", money(i.total_cents), money(i.paid_cents), money(i.balance_cents))
        for i in detail.invoices
    ]
    documents: Rows = [
        (d.type_name, d.person, label(DOCUMENT_STATUS, d.status), formatting.short_date(d.valid_to))
        for d in detail.documents
    ]
    return [
        ("Inscriptions", ("Enfant", "Activité", "Groupe", "Statut"), enrollments),
        ("Factures", ("Numéro", "Période", "Montant", "Réglé", "Solde"), invoices),
        ("Documents", ("Document", "Pour", "Statut", "Valable jusqu'au"), documents),
    ]
