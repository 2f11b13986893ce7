"""The régies (one invoice series each), found by the code agents type."""

from sqlmodel import Session, col, select

from regie_tui.errors import NotFound
from regie_tui.models import Regie


def regie_by_code(db: Session, *, code: str) -> Regie:
    """The régie whose code (or invoice prefix) is ``code``; a French error naming the known ones."""
    wanted = code.strip().lower()
    regies = db.exec(select(Regie).order_by(col(Regie.code))).all()
    for regie in regies:
        if wanted in (regie.code.lower(), regie.invoice_prefix.lower()):
            return regie
    known = ", ".join(r.code for r in regies) or "aucune"
    raise NotFound(f"Régie « {code.strip()} » inconnue (régies : {known}).")
