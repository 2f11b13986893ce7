"""`regie booking set|list`: a child's cells under the same rules as the planning grid.

Same service, same French refusals as the screen; the exit status is 1 when the rules
refuse the cell.
"""

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from regie_tui.cli import common
from regie_tui.cli.common import DbOption, JsonOption, fail, french_errors, out, print_json

if TYPE_CHECKING:
    from regie_tui.services.bookings.cells import CellCheck, CellRequest

booking_app = typer.Typer(help="Réservations d'un enfant, sous les règles du planning.", no_args_is_help=True)

#: What `STATE` may be: the stored states of a booking, or `free` to free the cell.
STATES = (
    "reserved",
    "present",
    "present_special",
    "absent_justified",
    "absent_unjustified",
    "requested",
    "waiting_list",
    "refused",
    "free",
)
#: Longest period `regie booking list` prints at once.
MAX_DAYS = 366


def _request(day: date, unit_id: int, state: str) -> "CellRequest":
    from regie_tui.codes import BookingState
    from regie_tui.services.bookings.cells import CellRequest

    if state not in STATES:
        fail(f"État inconnu : « {state} ». États : {', '.join(STATES)}.")
    if state == "free":
        return CellRequest(day=day, unit_id=unit_id, action="cancel")
    if state == "reserved":
        return CellRequest(day=day, unit_id=unit_id, action="book")
    return CellRequest(day=day, unit_id=unit_id, action="set", state=BookingState(state))


@booking_app.command("set")
@french_errors
def booking_set(
    child: Annotated[int, common.id_argument("Numéro de l'enfant.")],
    day: Annotated[str, typer.Argument(help="Le jour (JJ/MM/AAAA ou AAAA-MM-JJ).")],
    unit: Annotated[int, common.id_argument("Numéro de l'unité (voir regie booking list).")],
    state: Annotated[str, typer.Argument(help=f"L'état voulu : {', '.join(STATES)}.")],
    force: Annotated[
        bool,
        typer.Option("--force", help="Passer outre le délai de prévenance, ou une cellule verrouillée (régisseur)."),
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Motif, obligatoire avec --force (journalisé).")] = "",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Donner un état à une cellule (réserver, libérer, pointer, liste d'attente)."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.bookings.planning import save_edits

    request = _request(common.day(day, "Jour"), unit, state)
    if force and not reason.strip():
        fail("--force demande un motif : --reason TEXTE.")
    with session_scope(common.desk().engine, write=True) as session:
        agent = common.desk().agent
        (check,) = save_edits(
            session,
            child_id=child,
            edits=[request],
            loaded={},
            agent=agent,
            now=clock.now(),
            override_notice=force,
            reason=reason,
        )
    _print_check(check, child, as_json)


def _print_check(check: "CellCheck", child: int, as_json: bool) -> None:
    """What became of the cell; exit 1 when the rules refused it (a line on stderr but in JSON)."""
    from regie_tui.services.bookings.cells import STATE_LABELS

    place = f"{check.unit_name} – {check.activity_name}" if check.unit_name else f"unité n° {check.unit_id}"
    where = f"{check.day:%d/%m/%Y} {place}"
    now_state = STATE_LABELS[check.state] if check.state else "libre"
    if as_json:
        print_json(
            {
                "child": child,
                "day": check.day,
                "unit_id": check.unit_id,
                "allowed": check.allowed,
                "state": check.state.value if check.state else None,
                "waiting_list": check.waiting_list,
                "rule": check.rule,
                "promoted_child": check.promoted.child_id if check.promoted else None,
            }
        )
    elif check.allowed:
        out.print(f"{where} : {now_state}.", highlight=False, markup=False, soft_wrap=True)
        if check.waiting_list:
            out.print("Limite de capacité atteinte : l'enfant est en liste d'attente.", highlight=False)
        if check.promoted is not None:
            out.print(
                f"Place libérée : {check.promoted.child_name} quitte la liste d'attente (sa famille est prévenue).",
                highlight=False,
                markup=False,
            )
    if not check.allowed:
        if not as_json:
            common.err.print(f"Refusé — {where} : {check.rule}", highlight=False, markup=False)
        raise typer.Exit(1)


@booking_app.command("list")
@french_errors
def booking_list(
    child: Annotated[int, common.id_argument("Numéro de l'enfant.")],
    first: Annotated[str, typer.Option("--from", help="Premier jour (JJ/MM/AAAA ou AAAA-MM-JJ).")],
    last: Annotated[str, typer.Option("--to", help="Dernier jour, inclus.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Les cellules d'un enfant sur une période : état et apparence du planning."""
    from regie_tui import clock
    from regie_tui.db import session_scope
    from regie_tui.services.bookings.planning import LEGEND, child_grid

    start, end = common.day(first, "--from"), common.day(last, "--to")
    if end < start:
        fail("--to précède --from.")
    if (end - start).days >= MAX_DAYS:
        fail(f"Période trop longue : {MAX_DAYS} jours au plus.")
    with session_scope(common.desk().engine) as session:
        grid = child_grid(session, child_id=child, first=start, last=end, now=clock.now())
    labels = {entry.appearance: entry.label for entry in LEGEND}
    cells = [(day, row, grid.cell(day, row.unit_id)) for day in grid.days for row in grid.rows]
    if as_json:
        print_json(
            [
                {
                    "day": day,
                    "unit_id": row.unit_id,
                    "unit": row.unit_name,
                    "activity": row.activity_name,
                    "state": cell.state.value if cell.state else None,
                    "appearance": cell.appearance.value,
                    "appearance_label": labels[cell.appearance],
                }
                for day, row, cell in cells
            ]
        )
        return
    title = f"{grid.child_name} (famille {grid.family_name}) : du {start:%d/%m/%Y} au {end:%d/%m/%Y}"
    out.print(title, highlight=False, markup=False, soft_wrap=True)
    for day, row, cell in cells:
        if cell.glyph == "-":
            continue  # closed that day
        out.print(
            f"{day:%d/%m/%Y} {row.unit_id:>4} {row.unit_name} – {row.activity_name} : {cell.glyph} "
            f"{labels[cell.appearance].split(' (')[0]}",  # the legend's hint in brackets is for the screen
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
