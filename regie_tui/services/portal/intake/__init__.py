"""The import of the portal's submissions file, line by line, in batches:

- ``run``: the run (:func:`~.run.import_submissions`): batches, known ids, the summary, the run's record and audit;
- ``lines``: reading the file: each line parsed alone into a JSON object or rejected, the file as kept;
- ``schema``: the contract's keys and types per kind, and the values every kind checks alike;
- ``prefetch``: what a batch's lines refer to (families, people, units, invoices), in a few queries;
- ``kinds``: the check of each kind of line, preparing its rows and its French summary;
- ``storing``: a batch written in a handful of multi-row INSERTs.
"""
