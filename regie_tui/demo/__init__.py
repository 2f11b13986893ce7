"""The demo town: realistic fake data to train on, from 300 families to a large city.

A client of the services like any other (it takes their rules: brackets, prices,
numbering, mandates), and never imported by the app: only `regie seed`, the tests and
the benchmarks use it.
"""
