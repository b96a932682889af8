"""MLPerf inference submissions: the tree's layout, the round's rules, export, the checker,
and import (``reef.mlperf.importer``).

Facts about the submission format (paths, required files, seeds, minimums, accuracy targets)
come from MLCommons' submission checker; the code here is Reef's own. Modules:
``layout`` (paths of the tree), ``logs`` (LoadGen's summary and detail logs), ``rules``
(the round's facts), ``systems`` (the system description JSON), ``contents`` (what each file of
a scenario says), ``export`` (runs to a tree),
``check`` (Reef's reading of the rules over a tree).
"""
