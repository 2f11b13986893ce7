"""`regie occupancy`: places booked against capacity for an activity over a month (registered by cli.py)."""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui import cli
from regie_tui.cli import DbOption, JsonOption, _url, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.occupancy import GroupCount, OccupancyMonth


WEEKDAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")


def _places(booked: int, capacity: int | None) -> str:
    return f"{booked}/{capacity}" if capacity is not None else f"{booked}/∞"


def _group_json(month: "OccupancyMonth", count: "GroupCount") -> dict[str, Any]:
    return {
        "group_id": count.group_id,
        "group": month.group(count.group_id).name,
        "capacity": count.capacity,
        "booked": count.booked,
        "waiting": count.waiting,
        "left": count.left,
        "full": count.full,
    }


def occupancy_json(month: "OccupancyMonth") -> dict[str, Any]:
    """The month as `--json` prints it."""
    return {
        "activity": {"id": month.activity.id, "name": month.activity.name},
        "month": month.month.strftime("%Y-%m"),
        "days": [
            {
                "day": day.day.isoformat(),
                "closed": day.closed or None,
                "units": [
                    {
                        "unit_id": unit.unit_id,
                        "unit": month.unit(unit.unit_id).name,
                        "groups": [_group_json(month, g) for g in unit.groups],
                        "booked": unit.booked,
                        "capacity": unit.capacity,
                        "waiting": unit.waiting,
                        "left": unit.left,
                        "full": unit.full,
                    }
                    for unit in day.units
                ],
                "booked": day.booked,
                "waiting": day.waiting,
            }
            for day in month.days
        ],
    }


@french_errors
def occupancy(
    activity: Annotated[int, typer.Option("--activity", help="Numéro de l'activité.")],
    month: Annotated[str, typer.Option("--month", help="Mois, AAAA-MM (par exemple 2026-12).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Occupation d'une activité sur un mois : places réservées, capacité et liste d'attente par jour."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from regie_tui.db import open_database, session_scope
    from regie_tui.services.agents import resolve_agent
    from regie_tui.services.occupancy import month_label, occupancy_month, parse_month

    first = parse_month(month)
    engine = open_database(_url(db))
    with session_scope(engine) as session:
        resolve_agent(session, cli.current_login())
        result = occupancy_month(session, activity_id=activity, month=first)
    if as_json:
        print_json(occupancy_json(result))
        return

    out.print(
        Text(f"{result.activity.name} (n° {result.activity.id}) — occupation de {month_label(result.month)}", "bold")
    )
    table = Table("Jour", box=box.SIMPLE_HEAD)
    for header in result.units:
        for group in result.groups:
            table.add_column(f"{header.name}\n{group.name}", justify="right", no_wrap=True)
    table.add_column("Attente", justify="right", no_wrap=True)
    closed: dict[str, list[str]] = {}
    for day in result.days:
        label = f"{WEEKDAYS[day.day.weekday()]} {day.day:%d/%m}"
        if day.closed:
            closed.setdefault(day.closed, []).append(f"{day.day:%d}")
            continue
        cells: list[Text] = []
        for unit in day.units:
            for count in unit.groups:
                text = _places(count.booked, count.capacity)
                if count.waiting:
                    text += f" +{count.waiting}"
                if count.full:
                    text += " ■"
                cells.append(Text(text, "bold reverse" if count.full else ""))
        table.add_row(Text(label, no_wrap=True), *cells, str(day.waiting or ""))
    if result.open_days:
        out.print(table)
    for reason, days in closed.items():
        out.print(Text(f"Fermé les {', '.join(days)} : {reason}", "dim"))
    out.print(
        f"{len(result.open_days)} jour(s) d'ouverture, {len(result.full_days)} avec un groupe complet (■). "
        "Places réservées/capacité (∞ : sans limite) ; +N : en liste d'attente.",
        highlight=False,
    )
