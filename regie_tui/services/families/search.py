"""Finding families and their children (the planning's child picker, F4): the search words of each
family file, and search by word prefix.

Each word typed must start one of the words of a family's file (names, phones,
e-mails, invoice numbers), kept folded in ``family_search_word``; results come in
name order, a page at a time (keyset paging).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, delete, tuple_
from sqlmodel import Session, col, select

from regie_tui.models import Child, Family, FamilySearchWord, Guardian, Invoice
from regie_tui.services.billing.accounts import family_balances
from regie_tui.services.common.sql import id_col, id_of, select_columns
from regie_tui.services.families.search_words import fold, prefix_upper_bound, search_terms, search_words

PAGE_SIZE = 50


@dataclass(frozen=True)
class FamilyRow:
    """One line of the Familles list."""

    id: int
    name: str
    guardians: str
    children: str
    city: str
    phone: str
    balance_cents: int
    sort_key: tuple[str, int]


@dataclass(frozen=True)
class FamilyPage:
    rows: list[FamilyRow]
    has_more: bool

    @property
    def next_after(self) -> tuple[str, int] | None:
        return self.rows[-1].sort_key if self.rows and self.has_more else None


def _has_word_starting_with(term: str) -> ColumnElement[bool]:
    """Condition: the family has a search word starting with ``term`` (one index range)."""
    return col(Family.id).in_(
        select(FamilySearchWord.family_id).where(
            FamilySearchWord.word >= term, FamilySearchWord.word < prefix_upper_bound(term)
        )
    )


def search_families(
    session: Session, query: str, *, limit: int = PAGE_SIZE, after: tuple[str, int] | None = None
) -> FamilyPage:
    """Families with a name, phone, e-mail or invoice number starting with each term of
    ``query`` (accents and case ignored), in name order, ``limit`` at a time after the
    sort key ``after`` (keyset paging: constant cost whatever the page)."""
    conditions: list[ColumnElement[bool]] = [col(Family.archived_at).is_(None)]
    conditions += [_has_word_starting_with(term) for term in search_terms(query)]
    if after is not None:
        conditions.append(tuple_(Family.name_key, Family.id) > tuple_(*after))
    found = session.exec(
        select(id_col(Family.id), col(Family.name), col(Family.name_key), col(Family.city))
        .where(and_(*conditions))
        .order_by(col(Family.name_key), col(Family.id))
        .limit(limit + 1)
    ).all()
    has_more = len(found) > limit
    found = found[:limit]
    ids = [row[0] for row in found]
    guardians: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, str] = {}
    for family_id, first_name, mobile, home in session.exec(
        select(Guardian.family_id, Guardian.first_name, Guardian.mobile_phone, Guardian.home_phone)
        .where(col(Guardian.family_id).in_(ids))
        .order_by(col(Guardian.family_id), col(Guardian.is_payer).desc(), col(Guardian.id))
    ):
        guardians[family_id].append(first_name)
        phones.setdefault(family_id, mobile or home)
    children: dict[int, list[str]] = defaultdict(list)
    for family_id, first_name in session.exec(
        select(Child.family_id, Child.first_name)
        .where(col(Child.family_id).in_(ids))
        .order_by(col(Child.family_id), col(Child.birth_date))
    ):
        children[family_id].append(first_name)
    balances = family_balances(session, ids)
    rows = [
        FamilyRow(
            id=fid,
            name=name,
            guardians=", ".join(guardians[fid]),
            children=", ".join(children[fid]),
            city=city,
            phone=phones.get(fid, ""),
            balance_cents=balances.get(fid, 0),
            sort_key=(key, fid),
        )
        for fid, name, key, city in found
    ]
    return FamilyPage(rows=rows, has_more=has_more)


def refresh_search_words(session: Session, family_ids: list[int]) -> None:
    """Rebuild the ``name_key`` and search words of these families from their rows.

    Every service that changes a name, phone, e-mail or invoice of a family calls this
    in the same transaction, so that search always sees the file as it is.
    """
    session.exec(delete(FamilySearchWord).where(col(FamilySearchWord.family_id).in_(family_ids)))
    for family in session.exec(select(Family).where(col(Family.id).in_(family_ids))):
        guardians = session.exec(select(Guardian).where(Guardian.family_id == family.id)).all()
        children = session.exec(select(Child).where(Child.family_id == family.id)).all()
        numbers = session.exec(select(Invoice.number).where(Invoice.family_id == family.id)).all()
        people: list[Guardian | Child] = [*guardians, *children]
        family.name_key = fold(family.name)
        session.add(family)
        words = search_words(
            names=[family.name, *(f"{p.last_name} {p.first_name}" for p in people)],
            phones=[ph for g in guardians for ph in (g.mobile_phone, g.home_phone, g.work_phone)],
            emails=[g.email for g in guardians],
            invoice_numbers=numbers,
        )
        session.add_all(FamilySearchWord(word=word, family_id=id_of(family)) for word in words)


@dataclass(frozen=True)
class ChildChoice:
    child_id: int
    first_name: str
    last_name: str
    birth_date: date
    family_id: int
    family_name: str


def find_children(db: Session, text: str, *, limit: int = 30) -> list[ChildChoice]:
    """Children of the families the search finds (each word starts a word of the family's file:
    names, phones, e-mail…), by family then birth date; a child whose own name matches first."""
    terms = search_terms(text)
    if not terms:
        return []
    families = search_families(db, text, limit=limit)
    if not families.rows:
        return []
    order = {row.id: i for i, row in enumerate(families.rows)}
    found = db.exec(
        select_columns(
            id_col(Child.id),
            col(Child.first_name),
            col(Child.last_name),
            col(Child.birth_date),
            col(Child.family_id),
            col(Family.name),
        )
        .join(Family, col(Family.id) == Child.family_id)
        .where(col(Child.family_id).in_(order))
    ).all()
    choices = [ChildChoice(*row) for row in found]

    def named(choice: ChildChoice) -> bool:
        words = set(search_terms(f"{choice.first_name} {choice.last_name}"))
        return any(any(word.startswith(term) for word in words) for term in terms)

    choices.sort(key=lambda c: (not named(c), order[c.family_id], c.birth_date, c.child_id))
    return choices[:limit]
