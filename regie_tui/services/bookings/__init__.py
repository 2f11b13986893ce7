"""Bookings: the school calendar, the rules of a booking cell, the planning grids, attendance and occupancy.

- ``calendar``: school years: terms, school and public holidays, bridges;
- ``opening``: when an activity opens on a day, and if not, why;
- ``cells``: a cell asked and the rules' answer (CellRequest, CellCheck), state words, notice deadlines, stale saves;
- ``judge``: the judge of one cell alone (calendar, enrollment, lock, attendance, notice, capacity);
- ``days``: a child's day as a whole: unit combinations and overlaps;
- ``evaluation``: what a request reads (a fixed handful of queries) and its cells judged;
- ``rules``: the service: check_cells and apply_cells (write, audit, promote a waiting child);
- ``planning``: a child's grid: each cell's appearance and explanation, edits checked and saved;
- ``attendance``: the roster of a day and an activity, marks through the rules, walk-ins;
- ``occupancy``: places held against capacity per day, unit and group over a month.
"""
