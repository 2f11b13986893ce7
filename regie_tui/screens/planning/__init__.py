"""The planning (F4): a child's reservation grid, read and moved around (``grid``), edited
under the booking rules (``editing``), saved in one transaction (``screen``); its dialogs."""
