"""`regie rates …`: the rate grid (units × quotient brackets) on a date, and its changes (administrators)."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, french_errors, out, print_json, say

if TYPE_CHECKING:
    from regie_tui.services.billing.rates import RateGrid, RateValue

rates_app = typer.Typer(help="Tarifs : grille par unité et tranche de quotient, changements (administrateurs).")

DateOption = Annotated[
    str | None, typer.Option("--on", help="Date de la situation (JJ/MM/AAAA ou AAAA-MM-JJ ; défaut : aujourd'hui).")
]


def _cell_json(cell: "RateValue | None") -> dict[str, Any] | None:
    if cell is None:
        return None
    return {
        "rate_id": cell.id,
        "valid_from": cell.valid_from,
        "amount_cents": cell.amount_cents,
        "unbooked_surcharge_cents": cell.unbooked_surcharge_cents,
        "absence_penalty_cents": cell.absence_penalty_cents,
        "package_cents": cell.package_cents,
        "next_change": cell.next_from,
    }


def _grid_json(grid: "RateGrid") -> dict[str, Any]:
    return {
        "on": grid.on,
        "brackets": [{"id": b.id, "name": b.name} for b in grid.brackets],
        "units": [
            {
                "activity_id": row.activity_id,
                "activity": row.activity_name,
                "service": row.regie_code,
                "unit_id": row.unit_id,
                "unit": row.unit_name,
                "package": row.package,
                "invoiced_until": grid.locked_until.get(row.unit_id),
                "rates": {
                    bracket.name: _cell_json(cell) for bracket, cell in zip(grid.brackets, row.cells, strict=True)
                },
            }
            for row in grid.rows
        ],
    }


@rates_app.command("list")
@french_errors
def rates_list(on: DateOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Affiche la grille des tarifs en vigueur à une date (unités × tranches de quotient)."""
    day = common.day_or_today(on, "Date")
    from regie_tui import formatting
    from regie_tui.db import session_scope
    from regie_tui.services.billing.rates import rate_grid

    engine = common.desk().engine
    with session_scope(engine) as session:
        grid = rate_grid(session, on=day)
    if as_json:
        print_json(_grid_json(grid))
        return

    # Plain lines that read at 80 columns: the unit, then its price per bracket (and its package's).
    def prices(values: list[int | None]) -> str:
        return "".join(f"{formatting.money(v) if v is not None else '—':>11}" for v in values)

    say(f"Tarifs en vigueur le {formatting.short_date(day)}")
    say("      " + "".join(f"{b.name[:10]:>11}" for b in grid.brackets))
    for row in grid.rows:
        say(f"{row.unit_id:>4}  {row.activity_name} — {row.unit_name}")
        say("      " + prices([c.amount_cents if c else None for c in row.cells]))
        cells = [c for c in row.cells if c is not None]
        extras = {(c.unbooked_surcharge_cents, c.absence_penalty_cents) for c in cells}
        if len(extras) == 1 and (extra := extras.pop()) != (0, 0):
            say(f"      majoration {formatting.money(extra[0])} · pénalité {formatting.money(extra[1])}")
        elif len(extras) > 1:
            say("      majoration et pénalité selon la tranche : --json")
        if any(c.package_cents is not None for c in cells):
            say("      " + prices([c.package_cents if c else None for c in row.cells]) + f"  {row.package}")


@rates_app.command("set")
@french_errors
def rates_set(
    unit_id: Annotated[int, common.id_argument("Numéro de l'unité (voir regie rates list).", metavar="UNITE")],
    bracket: Annotated[str, typer.Argument(metavar="TRANCHE", help="Tranche : son numéro ou son nom exact.")],
    valid_from: Annotated[str, typer.Option("--from", help="Date d'effet (JJ/MM/AAAA).")],
    amount: Annotated[str, typer.Option("--amount", help="Tarif, par exemple 4,15.")],
    surcharge: Annotated[
        str | None, typer.Option("--surcharge", help="Majoration sans réservation (défaut : inchangée, ou 0).")
    ] = None,
    penalty: Annotated[
        str | None, typer.Option("--penalty", help="Pénalité d'absence non justifiée (défaut : inchangée, ou 0).")
    ] = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Prix du forfait par semaine (unités à forfait).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Fixe un tarif à partir d'une date, ou corrige celui qui commence ce jour-là (administrateurs)."""
    from regie_tui.services.common.validation import parse_money

    day = common.day(valid_from, "Date d'effet")
    amount_cents = parse_money(amount, "Tarif", positive=False)
    surcharge_cents = parse_money(surcharge, "Majoration", positive=False) if surcharge is not None else None
    penalty_cents = parse_money(penalty, "Pénalité", positive=False) if penalty is not None else None
    package_cents = parse_money(package, "Forfait", positive=False) if package is not None else None

    from regie_tui import formatting
    from regie_tui.db import session_scope
    from regie_tui.services.billing.rates import find_bracket, rate_on, set_rate

    engine = common.desk().engine
    with session_scope(engine, write=True) as session:
        agent = common.desk().agent
        bracket_id = find_bracket(session, bracket)
        current = rate_on(session, unit_id=unit_id, bracket_id=bracket_id, day=day)
        if surcharge_cents is None:
            surcharge_cents = current.unbooked_surcharge_cents if current else 0
        if penalty_cents is None:
            penalty_cents = current.absence_penalty_cents if current else 0
        if package_cents is None and current is not None:
            package_cents = current.package_cents
        result = set_rate(
            session,
            unit_id=unit_id,
            bracket_id=bracket_id,
            valid_from=day,
            amount_cents=amount_cents,
            unbooked_surcharge_cents=surcharge_cents,
            absence_penalty_cents=penalty_cents,
            package_cents=package_cents,
            agent_id=agent.id,
        )
    rate = result.rate
    what = "Nouveau tarif" if result.created else "Tarif corrigé" if result.changed else "Tarif inchangé"
    until = f" jusqu'au changement du {formatting.short_date(rate.next_from)}" if rate.next_from else ""
    out.print(
        f"{what} : {result.unit_name} (unité {unit_id}), tranche {result.bracket_name}, "
        f"{formatting.money(rate.amount_cents)} à partir du {formatting.short_date(rate.valid_from)}{until}.",
        highlight=False,
        markup=False,
    )
