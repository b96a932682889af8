"""A fake powercap tree whose RAPL counters advance on a thread of their own, as a real
package's do while a run measures: for the tests of energy in whole runs (``tests/bench``,
``tests/cli``).

::

    from energy_support import FakeRapl

    with FakeRapl(tmp_path / "powercap") as rapl:  # REEF_POWERCAP_ROOT=rapl.root
        ...
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

# Each tick of the fake counters: 10 mJ to the package, 2 mJ to its DRAM.
TICK_S = 0.005
PACKAGE_UJ, DRAM_UJ = 10_000, 2_000


class FakeRapl:
    """A powercap tree of one package and its DRAM, whose counters advance every ``TICK_S``
    on a thread of their own, as a real package's do while the run measures."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.counters = {"intel-rapl:0": ("package-0", 0), "intel-rapl:0:0": ("dram", 0)}
        for folder, (name, uj) in self.counters.items():
            (root / folder).mkdir(parents=True)
            (root / folder / "name").write_text(f"{name}\n")
            (root / folder / "max_energy_range_uj").write_text("262143328850\n")
            self._write(folder, uj)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._advance, daemon=True)

    def _write(self, folder: str, uj: int) -> None:
        # Written aside and renamed: a reader never sees a half-written number.
        part = self.root / folder / "energy_uj.part"
        part.write_text(f"{uj}\n")
        os.replace(part, self.root / folder / "energy_uj")

    def _advance(self) -> None:
        package = dram = 0
        while not self._stop.wait(TICK_S):
            package, dram = package + PACKAGE_UJ, dram + DRAM_UJ
            self._write("intel-rapl:0", package)
            self._write("intel-rapl:0:0", dram)

    def __enter__(self) -> FakeRapl:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
