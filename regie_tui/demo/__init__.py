"""The demo town: realistic fake data to train on, from 300 families to a large city.

A client of the services like any other (it takes their rules: brackets, prices,
numbering, mandates), and never imported by the app: only `regie seed`, the tests and
the benchmarks use it.

- ``seed``: orchestration: one transaction, a second process for large towns, the portal file imported;
- ``reference``: the town, régies, agents, calendar, brackets, diets, document types (from town.toml);
- ``activities``: the activities: periods, closures, units and rates, rules, age groups, capacities;
- ``generator``: the generator's shared state and draws;
- ``families``: one family at a time, in batches of rows;
- ``households``: guardians, children and their health, authorized persons, portal accounts;
- ``bookings``: enrollments and a school year of bookings, attendance before today;
- ``billing``: quotients, invoices of the months billed, payments, mandates;
- ``inbox``: documents and messages, decided or just sent;
- ``portal``: the family's portal lines (changes, new child, online payments, logins);
- ``bulk``: bulk loading (executemany on SQLite, COPY on PostgreSQL);
- ``town.toml``: the demo town's settings.
"""
