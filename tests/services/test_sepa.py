"""Mandate references and the sequence type of the next debit."""

from datetime import date

import pytest

from regie_tui.models import MandateSequence
from regie_tui.services.sepa import RUM_MAX_LENGTH, new_rum, next_sequence


def test_rum():
    assert new_rum("pop", 42) == "POP-0000042-1"
    assert new_rum("alsh", 42, 2) == "ALSH-0000042-2"
    with pytest.raises(ValueError):
        new_rum("x" * RUM_MAX_LENGTH, 1)


def test_a_recurrent_mandate_is_first_then_recurrent():
    assert next_sequence(recurrent=True, last_used_on=None) is MandateSequence.FIRST
    assert next_sequence(recurrent=True, last_used_on=date(2026, 10, 20)) is MandateSequence.RECURRENT
    assert next_sequence(recurrent=False, last_used_on=None) is MandateSequence.ONE_OFF
