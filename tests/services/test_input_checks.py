"""What every input typed at the desk must be (issue 15, point 6): one French line otherwise.

The checks of services/common/validation.py that the CLI, the screens and the portal import share:
characters (no control character, NUL, byte that was not UTF-8, bidirectional override),
lengths against the column, the régie's years, amounts, a file's content against its name.
No database: the commands' side is tests/cli/test_hostile_input.py.
"""

import re
from datetime import date

import pytest

from regie_tui.models import CreditNote, Family
from regie_tui.services.common import validation as v
from regie_tui.services.families.fields import FIELDS, clean_new

#: Characters no one-line text may hold, and how the refusal names them.
REFUSED = {
    "\x00": "caractère nul",
    "\x07": "(U+0007)",
    "\x1b": "(U+001B)",
    "\x7f": "(U+007F)",
    "\x85": "(U+0085)",
    "\n": "retour à la ligne",
    "\t": "tabulation",
    "\u2028": "(U+2028)",
    "\u202e": "(U+202E)",
    "\u2066": "(U+2066)",
    "\udcff": "(U+DCFF)",
    "\ue000": "(U+E000)",
}


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_control_characters_are_refused_in_one_line_texts(char):
    with pytest.raises(v.InvalidValue, match=rf"^Motif : .*{re.escape(REFUSED[char])}"):
        v.check_text(f"Absent{char}malade", "Motif", column=CreditNote.reason)


@pytest.mark.parametrize("char", [c for c in REFUSED if c not in "\n\t\u2028"], ids=lambda c: f"U+{ord(c):04X}")
def test_a_multi_line_text_allows_newlines_and_tabs_only(char):
    assert v.check_text(" Ligne 1\r\n\tLigne 2 ", "Texte", multiline=True) == "Ligne 1\n\tLigne 2"
    with pytest.raises(v.InvalidValue, match="^Texte : "):
        v.check_text(f"Ligne 1\nLigne{char}2", "Texte", multiline=True)


@pytest.mark.parametrize("text", ["Dupont", "Lefèvre-Martin", "N'Diaye", "Ælfrida Øster", "Zoë 🎈", "x\u00a0y"])
def test_real_texts_pass_unchanged(text):
    assert v.check_text(f"  {text} ", "Nom", column=Family.name) == text


@pytest.mark.parametrize("char", ["\x1b", "\x00", "\u202e", "\udcff"], ids=lambda c: f"U+{ord(c):04X}")
def test_names_of_families_guardians_children_refuse_control_characters(char):
    with pytest.raises(v.InvalidValue, match="^Nom : "):
        v.check_name(f"Du{char}pont", "Nom")
    for entity, field in (("family", "name"), ("guardian", "first_name"), ("child", "last_name")):
        with pytest.raises(v.InvalidValue, match=f"^{FIELDS[entity][field].label} : "):
            FIELDS[entity][field].clean(f"Du{char}pont")
    # Free text fields of the family file too (the desk's forms and the portal's changes).
    with pytest.raises(v.InvalidValue, match="^Commune : "):
        FIELDS["family"]["city"].clean(f"Lyon{char}")
    with pytest.raises(v.InvalidValue, match="^Information : "):
        clean_new("health_note", {"kind": "allergy", "text": f"Arachide{char}", "child": 1})


def test_a_text_longer_than_its_column_is_refused_with_the_same_line_on_every_engine():
    assert v.column_length(CreditNote.reason) == 500
    assert v.check_text("é" * 500, "Motif", column=CreditNote.reason) == "é" * 500
    with pytest.raises(v.InvalidValue, match=r"^Motif : 500 caractères au plus \(501 saisis\)\.$"):
        v.check_text("é" * 501, "Motif", column=CreditNote.reason)
    with pytest.raises(v.InvalidValue, match=r"^Motif : obligatoire\.$"):
        v.check_text("  ", "Motif", column=CreditNote.reason)
    assert v.check_text("", "Motif", column=CreditNote.reason, required=False) == ""


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("9999-12-31", "31/12/9999 est hors des années de la régie (2000 à 2099)"),
        ("0001-01-01", "01/01/0001 est hors des années de la régie (2000 à 2099)"),
        ("31/12/1999", "31/12/1999 est hors des années de la régie"),
        ("01/01/2100", "01/01/2100 est hors des années de la régie"),
        ("31/02/2026", "n'est pas une date valide"),
        ("２０２６-１１-２３", "n'est pas une date valide"),
        ("2026-11-23T08:00", "n'est pas une date valide"),
    ],
)
def test_dates_outside_the_regies_years_are_refused(typed, refusal):
    with pytest.raises(v.InvalidValue, match=f"^Jour : .*{re.escape(refusal)}"):
        v.parse_date(typed, "Jour")


def test_the_regies_years_are_the_whole_2000s():
    assert v.parse_date("01/01/2000") == date(2000, 1, 1) and v.parse_date("2099-12-31") == date(2099, 12, 31)
    assert v.parse_month("2026-11") == v.parse_month("11/2026") == date(2026, 11, 1)
    for typed in ("9999-12", "0001-01", "2026-13", "novembre", "2026-11-01"):
        with pytest.raises(v.InvalidValue, match="^Mois"):
            v.parse_month(typed)


@pytest.mark.parametrize(
    "typed", ["nan", "inf", "1e400", "-12,50", "12,505", "1000000,01", "9999999999", "١٢", "0x10", "12,50,1"]
)
def test_absurd_amounts_are_refused(typed):
    with pytest.raises(v.InvalidValue, match="^Montant : "):
        v.parse_money(typed)


def test_amounts_up_to_a_million_euros():
    assert v.parse_money("1 000 000,00 €") == v.MAX_AMOUNT_CENTS == 100_000_000
    assert v.parse_money("0", positive=False) == 0


@pytest.mark.parametrize(
    ("name", "content", "refusal"),
    [
        ("a.pdf", b"\x89PNG\r\n\x1a\nxx", "« a.pdf » n'est pas un PDF : c'est une image PNG."),
        ("a.pdf", b"<html>", "« a.pdf » n'est ni un PDF, ni une image JPEG ou PNG"),
        ("a.jpg", b"%PDF-1.7\n", "« a.jpg » n'est pas une image JPEG : c'est un PDF."),
        ("sans-extension", b"GIF89a", "n'est ni un PDF, ni une image JPEG ou PNG"),
    ],
)
def test_a_file_is_what_its_first_bytes_say_and_its_name_agrees(name, content, refusal):
    with pytest.raises(v.InvalidValue, match=re.escape(refusal)):
        v.check_file_content(content, name)


def test_real_files_pass():
    assert v.check_file_content(b"%PDF-1.7\n%%EOF\n", "Règlement.PDF") == "application/pdf"
    assert v.check_file_content(b"\xff\xd8\xff\xe0", "photo.jpeg") == "image/jpeg"
    assert v.check_file_content(b"\x89PNG\r\n\x1a\n", "sans-extension") == "image/png"
