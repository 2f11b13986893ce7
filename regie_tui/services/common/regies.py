"""The régies (one invoice series each), found by the code agents type."""

from sqlmodel import Session, col, select

from regie_tui.errors import NotFound
from regie_tui.models import Regie
from regie_tui.services.common.sql import id_col


def regie_by_code(db: Session, *, code: str) -> Regie:
    """The régie whose code (or invoice prefix) is ``code``; a French error naming the known ones."""
    wanted = code.strip().lower()
    regies = db.exec(select(Regie).order_by(col(Regie.code))).all()
    for regie in regies:
        if wanted in (regie.code.lower(), regie.invoice_prefix.lower()):
            return regie
    known = ", ".join(r.code for r in regies) or "aucune"
    raise NotFound(f"Régie « {code.strip()} » inconnue (régies : {known}).")


def all_regies(db: Session) -> list[tuple[int, str, str]]:
    """(id, code, name) of the town's régies, in the order they were created."""
    rows = db.exec(select(id_col(Regie.id), Regie.code, Regie.name).order_by(col(Regie.id))).all()
    return [(regie_id, code, name) for regie_id, code, name in rows]
