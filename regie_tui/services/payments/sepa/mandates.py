"""SEPA mandates: the RUM a régie gives them, the sequence type of their next debit (FRST →
RCUR, OOFF), when they lapse (36 months unused), and creating, finding, listing, revoking them."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from regie_tui import clock, formatting
from regie_tui.errors import NotFound, RegieError
from regie_tui.models import Family, Guardian, Mandate, MandateSequence, Regie
from regie_tui.services.common.sql import id_of
from regie_tui.services.common.validation import InvalidValue, check_bic, check_characters, check_iban, check_required
from regie_tui.services.trust import audit

RUM_MAX_LENGTH = 35
LAPSE_MONTHS = 36  # a mandate unused for this long is no longer valid


def new_rum(regie_prefix: str, family_id: int, serial: int = 1) -> str:
    """The mandate reference the régie gives a family's n-th mandate: 'POP-0000042-1'."""
    rum = f"{regie_prefix.upper()}-{family_id:07d}-{serial}"
    if len(rum) > RUM_MAX_LENGTH:
        raise ValueError(f"RUM longer than {RUM_MAX_LENGTH} characters: {rum}")
    return rum


def next_sequence(*, recurrent: bool, last_used_on: date | None) -> MandateSequence:
    """FRST for the first debit of a recurrent mandate, RCUR after it, OOFF for a one-off one."""
    if not recurrent:
        return MandateSequence.ONE_OFF
    return MandateSequence.RECURRENT if last_used_on is not None else MandateSequence.FIRST


def lapses_on(mandate: Mandate) -> date:
    """The day a mandate lapses if it is not used before: 36 months after its last use (or signature)."""
    start = mandate.last_used_on or mandate.signed_on
    month = start.month - 1 + LAPSE_MONTHS
    year, month = start.year + month // 12, month % 12 + 1
    day = min(start.day, 28 if month == 2 else 30 if month in (4, 6, 9, 11) else 31)
    return date(year, month, day)


def is_active(mandate: Mandate, on: date) -> bool:
    """Signed, not revoked and not lapsed on ``on``."""
    return (
        mandate.signed_on <= on and (mandate.revoked_on is None or mandate.revoked_on > on) and on < lapses_on(mandate)
    )


def active_mandate(db: Session, *, family_id: int, regie_id: int, on: date) -> Mandate | None:
    """The family's mandate for the régie that can be debited on ``on`` (the latest signed), if any."""
    mandates = db.exec(
        select(Mandate)
        .where(Mandate.family_id == family_id, Mandate.regie_id == regie_id)
        .order_by(col(Mandate.signed_on).desc(), col(Mandate.id).desc())
    ).all()
    return next((m for m in mandates if is_active(m, on)), None)


def planned_debit_date(due_date: date) -> date:
    """The day an invoice is debited for a family with a mandate: its due date.

    Invoices fall due 30 days after their issue, beyond the 14 days of pre-notification
    (``sepa.export.PRE_NOTIFICATION_DAYS``) the invoice itself gives (it prints this date and the RUM).
    """
    return due_date


# ----------------------------------------------------------------------------------------
# Mandates: created, listed, revoked
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MandateView:
    id: int
    rum: str
    family_id: int
    regie_id: int
    regie_code: str
    regie_name: str
    debtor_name: str
    debtor_address: str
    iban: str
    bic: str
    signed_on: date
    recurrent: bool
    next_sequence: str  # FRST, RCUR or OOFF
    last_used_on: date | None
    lapses_on: date
    revoked_on: date | None
    active: bool  # can be debited today

    @property
    def iban_masked(self) -> str:
        """'FR76 **** **** **** **** ***0 189': the country, check digits and last four characters."""
        return mask_iban(self.iban)

    @property
    def state(self) -> str:
        """What the agent reads of the mandate's state, in French."""
        if self.revoked_on is not None:
            return f"Révoqué le {formatting.short_date(self.revoked_on)}"
        if not self.active:
            if not self.recurrent and self.last_used_on is not None:
                return "Utilisé (ponctuel)"
            return f"Caduc depuis le {formatting.short_date(self.lapses_on)}"
        return "Actif"


def short_iban(iban: str) -> str:
    """'FR76…0189': enough for a list at 80 columns."""
    compact = iban.replace(" ", "")
    return f"{compact[:4]}…{compact[-4:]}" if len(compact) > 8 else compact


def mask_iban(iban: str) -> str:
    """An IBAN shown on screen: its country and check digits, then only its last four characters."""
    compact = iban.replace(" ", "")
    if len(compact) < 9:
        return compact
    hidden = compact[:4] + "*" * (len(compact) - 8) + compact[-4:]
    return " ".join(hidden[i : i + 4] for i in range(0, len(hidden), 4))


def usable(mandate: Mandate, on: date) -> bool:
    """Active on ``on``, and not a one-off mandate already used."""
    return is_active(mandate, on) and (mandate.recurrent or mandate.last_used_on is None)


def _view(mandate: Mandate, regie: Regie, today: date) -> MandateView:
    return MandateView(
        id=id_of(mandate),
        rum=mandate.rum,
        family_id=mandate.family_id,
        regie_id=mandate.regie_id,
        regie_code=regie.code,
        regie_name=regie.name,
        debtor_name=mandate.debtor_name,
        debtor_address=mandate.debtor_address,
        iban=mandate.iban,
        bic=mandate.bic,
        signed_on=mandate.signed_on,
        recurrent=mandate.recurrent,
        next_sequence=MandateSequence(mandate.next_sequence).value,
        last_used_on=mandate.last_used_on,
        lapses_on=lapses_on(mandate),
        revoked_on=mandate.revoked_on,
        active=usable(mandate, today),
    )


def get_regie(db: Session, regie_id: int) -> Regie:
    """The régie of that id; a French error when there is none."""
    regie = db.get(Regie, regie_id)
    if regie is None:
        raise NotFound(f"Régie n° {regie_id} introuvable.")
    return regie


def mandate_regies(db: Session) -> list[tuple[int, str, str]]:
    """(id, code, name) of the régies that collect by direct debit (they have an ICS)."""
    rows = db.exec(select(Regie).where(col(Regie.sepa_creditor_id).is_not(None)).order_by(col(Regie.code))).all()
    return [(id_of(r), r.code, r.name) for r in rows if r.sepa_creditor_id]


def family_payer(db: Session, *, family_id: int) -> tuple[str, str]:
    """The account holder a new mandate names by default: the paying guardian (or the family) and the address."""
    family = db.get(Family, family_id)
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    payer = db.exec(select(Guardian).where(Guardian.family_id == family_id, col(Guardian.is_payer))).first()
    name = f"{payer.first_name} {payer.last_name}" if payer is not None else family.name
    lines = [family.address, family.address_extra, f"{family.postal_code} {family.city}".strip()]
    return name.strip(), ", ".join(line.strip() for line in lines if line.strip())


def _checked_holder(debtor_name: str, debtor_address: str) -> tuple[str, str]:
    """The account holder's name and address (lines joined by commas), checked."""
    name = " ".join(check_required(debtor_name, "Titulaire du compte").split())
    if len(name) > 140:
        raise InvalidValue("Titulaire du compte : 140 caractères au plus.")
    address = ", ".join(part.strip() for part in debtor_address.splitlines() if part.strip())
    if not address:
        raise InvalidValue("Adresse du titulaire du compte obligatoire.")
    if len(address) > 280:
        raise InvalidValue("Adresse du titulaire du compte : 280 caractères au plus.")
    check_characters(name, "Titulaire du compte")
    check_characters(address, "Adresse du titulaire du compte")
    return name, address


def _checked_account(iban: str, bic: str) -> tuple[str, str]:
    """The IBAN (in the SEPA zone) and the BIC, checked and written the standard way."""
    checked_iban = check_iban(iban)
    if not _in_sepa_zone(checked_iban):
        raise InvalidValue(f"IBAN hors de la zone SEPA : « {checked_iban} » ne peut pas être prélevé.")
    return checked_iban, check_bic(bic)


def _replace_mandates(db: Session, mandate: Mandate, regie: Regie, today: date, agent_id: int | None) -> None:
    """Give ``mandate`` the family's next free RUM in the régie and revoke its mandates still running."""
    family_id = mandate.family_id
    existing = db.exec(select(Mandate).where(Mandate.family_id == family_id, Mandate.regie_id == regie.id)).all()
    taken = {m.rum for m in existing}
    serial = len(existing) + 1
    while new_rum(regie.invoice_prefix, family_id, serial) in taken:
        serial += 1
    mandate.rum = new_rum(regie.invoice_prefix, family_id, serial)
    for old in existing:
        if old.revoked_on is None:
            old.revoked_on = max(today, old.signed_on)
            db.add(old)
            audit.record(
                db,
                action="revoke_mandate",
                entity="mandate",
                entity_id=old.id,
                agent_id=agent_id,
                family_id=family_id,
                before={"revoked_on": None},
                after={"revoked_on": old.revoked_on.isoformat(), "reason": f"Remplacé par le mandat {mandate.rum}"},
            )


def _audit_created(db: Session, mandate: Mandate, regie: Regie, agent_id: int | None) -> None:
    audit.record(
        db,
        action="create_mandate",
        entity="mandate",
        entity_id=mandate.id,
        agent_id=agent_id,
        family_id=mandate.family_id,
        after={
            "rum": mandate.rum,
            "regie": regie.code,
            "debtor_name": mandate.debtor_name,
            "iban": mask_iban(mandate.iban),
            "bic": mandate.bic,
            "signed_on": mandate.signed_on.isoformat(),
            "recurrent": mandate.recurrent,
        },
    )
    db.flush()


def create_mandate(
    db: Session,
    *,
    family_id: int,
    regie_id: int,
    debtor_name: str,
    debtor_address: str,
    iban: str,
    bic: str,
    signed_on: date,
    recurrent: bool,
    agent_id: int | None,
    today: date | None = None,
) -> MandateView:
    """Record a signed mandate under a new RUM; it replaces the family's active mandate for the
    régie (revoked today). French errors for a bad IBAN/BIC, a date in the future, a lapsed one."""
    today = today or clock.today()
    # Locks the family (PostgreSQL): two desks adding a mandate to it take serials in turn.
    family = db.exec(select(Family).where(Family.id == family_id).with_for_update()).first()
    if family is None:
        raise NotFound(f"Famille n° {family_id} introuvable.")
    regie = get_regie(db, regie_id)
    if not regie.sepa_creditor_id:
        raise RegieError(f"La régie « {regie.name} » n'a pas d'identifiant créancier SEPA (ICS) : pas de mandat.")
    name, address = _checked_holder(debtor_name, debtor_address)
    checked_iban, checked_bic = _checked_account(iban, bic)
    if signed_on > today:
        raise InvalidValue(f"Date de signature dans le futur : {formatting.short_date(signed_on)}.")
    mandate = Mandate(
        family_id=family_id,
        regie_id=regie_id,
        rum="-",
        debtor_name=name,
        debtor_address=address,
        iban=checked_iban,
        bic=checked_bic,
        signed_on=signed_on,
        recurrent=recurrent,
        next_sequence=next_sequence(recurrent=recurrent, last_used_on=None),
    )
    if lapses_on(mandate) <= today:
        raise InvalidValue(
            f"Mandat signé le {formatting.short_date(signed_on)} et jamais utilisé : caduc après "
            f"{LAPSE_MONTHS} mois (depuis le {formatting.short_date(lapses_on(mandate))})."
        )
    _replace_mandates(db, mandate, regie, today, agent_id)
    db.add(mandate)
    db.flush()
    _audit_created(db, mandate, regie, agent_id)
    return _view(mandate, regie, today)


def _in_sepa_zone(iban: str) -> bool:
    from schwifty import IBAN

    return bool(IBAN(iban).in_sepa_zone)


def find_mandate(db: Session, *, rum: str, today: date | None = None) -> MandateView:
    """A mandate by its RUM (as typed: case and spaces ignored)."""
    wanted = "".join(rum.split()).upper()
    mandate = db.exec(select(Mandate).where(func.upper(Mandate.rum) == wanted)).first()
    if mandate is None:
        raise NotFound(f"Mandat « {rum.strip()} » introuvable.")
    return _view(mandate, get_regie(db, mandate.regie_id), today or clock.today())


def revoke_mandate(
    db: Session, *, mandate_id: int, on: date, reason: str, agent_id: int | None, today: date | None = None
) -> MandateView:
    """End a mandate from ``on`` (the family's letter, a closed account…): it is no longer debited."""
    mandate = db.exec(select(Mandate).where(Mandate.id == mandate_id).with_for_update()).first()
    if mandate is None:
        raise NotFound(f"Mandat n° {mandate_id} introuvable.")
    why = " ".join(reason.split())
    if not why:
        raise InvalidValue("Motif de la révocation obligatoire.")
    if len(why) > 200:
        raise InvalidValue("Motif de la révocation : 200 caractères au plus.")
    check_characters(why, "Motif de la révocation")
    if mandate.revoked_on is not None:
        raise RegieError(f"Le mandat {mandate.rum} est déjà révoqué (le {formatting.short_date(mandate.revoked_on)}).")
    if on < mandate.signed_on:
        raise InvalidValue(
            f"Révocation au {formatting.short_date(on)} : avant la signature du mandat "
            f"({formatting.short_date(mandate.signed_on)})."
        )
    mandate.revoked_on = on
    db.add(mandate)
    audit.record(
        db,
        action="revoke_mandate",
        entity="mandate",
        entity_id=mandate.id,
        agent_id=agent_id,
        family_id=mandate.family_id,
        before={"revoked_on": None},
        after={"revoked_on": on.isoformat(), "reason": why},
    )
    db.flush()
    return _view(mandate, get_regie(db, mandate.regie_id), today or clock.today())


def family_mandates(db: Session, *, family_id: int, today: date | None = None) -> list[MandateView]:
    """The family's mandates, newest signed first."""
    today = today or clock.today()
    rows = db.exec(
        select(Mandate, Regie)
        .join(Regie, col(Regie.id) == Mandate.regie_id)
        .where(Mandate.family_id == family_id)
        .order_by(col(Mandate.signed_on).desc(), col(Mandate.id).desc())
    ).all()
    return [_view(mandate, regie, today) for mandate, regie in rows]
