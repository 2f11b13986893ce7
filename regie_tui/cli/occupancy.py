"""`regie occupancy`: places booked against capacity for an activity over a month."""

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.bookings.occupancy import GroupCount, OccupancyMonth


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


def _group_parts(month: "OccupancyMonth") -> dict[tuple[date, int], list[tuple[str, bool]]]:
    """Per open day × unit: each group's "booked/capacity" ("■" before a full one), right-aligned
    to the widest of that group over the month, so that the groups line up in columns."""
    parts = {
        (day.day, unit.unit_id): [
            (("■" if g.full else "") + _places(g.booked, g.capacity), g.full) for g in unit.groups
        ]
        for day in month.open_days
        for unit in day.units
    }
    widths = [max((len(cells[i][0]) for cells in parts.values()), default=0) for i in range(len(month.groups))]
    return {
        key: [(text.rjust(width), full) for (text, full), width in zip(cells, widths, strict=True)]
        for key, cells in parts.items()
    }


def _names_lines(head: str, names: list[str], width: int = 80) -> list[str]:
    """'head a · b · c' cut between names into lines of ``width`` at most (a long name alone on its line)."""
    lines = [head + names[0]]
    for name in names[1:]:
        if len(lines[-1]) + 3 + len(name) <= width:
            lines[-1] += f" · {name}"
        else:
            lines[-1] += " ·"
            lines.append(" " * len(head) + name)
    return lines


@french_errors
def occupancy(
    activity: Annotated[int, common.id_option("--activity", "Numéro de l'activité.")],
    month: Annotated[str, typer.Option("--month", help="Mois, AAAA-MM (par exemple 2026-12).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Occupation d'une activité sur un mois : places réservées, capacité et liste d'attente par jour."""
    from rich.text import Text

    from regie_tui.db import session_scope
    from regie_tui.services.bookings.occupancy import month_label, occupancy_month

    first = common.month(month)
    engine = common.desk().engine
    with session_scope(engine) as session:
        result = occupancy_month(session, activity_id=activity, month=first)
    if as_json:
        print_json(occupancy_json(result))
        return

    def say(text: Text) -> None:
        out.print(text, soft_wrap=True, highlight=False)

    say(Text(f"{result.activity.name} (n° {result.activity.id}) — occupation de {month_label(result.month)}", "bold"))
    # One line per open day × unit: "mer 02/12  Matin       46/52 · ■32/32 · 3/∞  +2".
    unit_width = max([len("Unité"), *(len(u.name) for u in result.units)])
    parts = _group_parts(result)
    places_width = max([len(" · ".join(p for p, _ in cells)) for cells in parts.values()] or [0])
    if result.open_days and result.units:
        for names in _names_lines("Groupes, dans l'ordre : ", [g.name for g in result.groups] or ["aucun"]):
            say(Text(names))
        heading = f"{'Jour':<9}  {'Unité':<{unit_width}}  {'Places':<{places_width}}  Attente"
        say(Text(heading.rstrip(), "bold"))
    closed: dict[str, list[str]] = {}
    for day in result.days:
        if day.closed:
            closed.setdefault(day.closed, []).append(f"{day.day:%d}")
            continue
        label = f"{WEEKDAYS[day.day.weekday()]} {day.day:%d/%m}"
        for unit in day.units:
            line = Text(f"{label}  {result.unit(unit.unit_id).name:<{unit_width}}  ")
            cells = parts[(day.day, unit.unit_id)]
            for index, (text, full) in enumerate(cells):
                if index:
                    line.append(" · ", "dim")
                line.append(text, "bold reverse" if full else "")
            line.append(" " * (places_width - len(" · ".join(p for p, _ in cells))))
            if unit.waiting:
                line.append(f"  +{unit.waiting}", "bold")
            line.rstrip()
            say(line)
    for reason, days in closed.items():
        say(Text(f"Fermé {'les' if len(days) > 1 else 'le'} {', '.join(days)} : {reason}", "dim"))
    say(Text(f"{len(result.open_days)} jour(s) d'ouverture, {len(result.full_days)} avec un groupe complet (■)."))
    say(Text("Places : réservées/capacité par groupe (∞ : sans limite) ; +N : en attente."))
