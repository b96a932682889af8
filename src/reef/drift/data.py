"""The arrays ``reef drift`` compares, read from files or a dataset component, and checked:
numeric, at least one row and one feature, every value finite. Every refusal is a
``DriftError`` (exit 2) naming the file and the problem: the column and row of a NaN.

- ``.npz``: its first array (or ``key``), never unpickled;
- ``.npy``: its array, never unpickled;
- ``.csv``: comma-separated numbers, with a header line of names when the first line is not
  numbers;
- otherwise a dataset component's name (``digits``), its ``features`` array.

A 1-D array is one feature; an array of more dimensions is flattened to rows of features.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from reef.drift import DriftError
from reef.errors import ReefError
from reef.files import GiB, read_regular

if TYPE_CHECKING:
    import numpy as np

MAX_BYTES = 2 * GiB
SUFFIXES = (".npz", ".npy", ".csv")


@dataclass
class Loaded:
    data: np.ndarray  # rows x features, float64, finite
    source: str  # the file, or dataset NAME@VERSION
    names: list[str] | None = None  # a CSV header's


def load(spec: str, *, key: str | None = None, dataset: bool = True) -> Loaded:
    """The array ``spec`` names: a file, else (with ``dataset``) a dataset component."""
    path = Path(spec)
    if path.suffix.lower() in SUFFIXES or path.exists() or not dataset:
        return _file(path, key)
    return _dataset(spec, key)


def _file(path: Path, key: str | None) -> Loaded:
    import numpy as np

    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DriftError(f"{path}: not an .npz, .npy or .csv file", hint="numeric arrays only")
    raw = read_regular(path, "array file", MAX_BYTES)
    names = None
    if key is not None and suffix != ".npz":
        raise DriftError(f"{path}: --key applies to .npz files only")
    try:
        if suffix == ".csv":
            array, names = _csv(path, raw)
        else:
            found = np.load(io.BytesIO(raw), allow_pickle=False)
            if suffix == ".npz":
                if not isinstance(found, np.lib.npyio.NpzFile):
                    raise DriftError(f"{path}: not an .npz archive (a single .npy array?)")
                with found:
                    keys = list(found.keys())
                    if not keys:
                        raise DriftError(f"{path}: the archive holds no array")
                    if key is not None and key not in keys:
                        raise DriftError(
                            f"{path}: no array {key!r} in the archive",
                            hint="it holds " + ", ".join(keys),
                        )
                    array = found[key or keys[0]]
            elif not isinstance(found, np.ndarray):
                raise DriftError(f"{path}: not a .npy array")
            else:
                array = found
    except ReefError:
        raise
    except Exception as exc:  # numpy's own words: a bad header, a pickle, a zip that is not
        raise DriftError(f"{path}: not a numeric array file: {_reason(exc)}") from exc
    return Loaded(check(array, str(path)), str(path), names)


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "pickle" in text.lower():
        return "it holds Python objects, which Reef does not unpickle"
    return text


def _csv(path: Path, raw: bytes) -> tuple[np.ndarray, list[str] | None]:
    import numpy as np

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DriftError(f"{path}: not UTF-8 text") from exc
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DriftError(f"{path}: the file is empty")
    names = None
    first = [cell.strip() for cell in lines[0].split(",")]
    if not all(_is_number(c) for c in first):
        names, lines = first, lines[1:]
    rows = []
    for number, line in enumerate(lines, start=2 if names else 1):
        cells = [cell.strip() for cell in line.split(",")]
        width = len(names) if names else len(first)
        if len(cells) != width:
            raise DriftError(f"{path}: line {number} has {len(cells)} fields, not {width}")
        bad = next((c for c in cells if not _is_number(c)), None)
        if bad is not None:
            raise DriftError(f"{path}: line {number}: {bad[:40]!r} is not a number")
        rows.append([float(c) for c in cells])
    if not rows:
        raise DriftError(f"{path}: the file has no rows")
    return np.asarray(rows, dtype=np.float64), names


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _dataset(name: str, key: str | None) -> Loaded:
    from reef.components.checksums import verified_source
    from reef.components.lookup import find
    from reef.meta.load import load_dataset_manifest

    try:
        entry = find(name, kind="dataset")
    except ReefError as exc:
        raise DriftError(
            f"{name}: no such file, and {exc.message}",
            hint="an .npz, .npy or .csv file, or a dataset component (reef search --kind dataset)",
        ) from exc
    manifest = load_dataset_manifest(entry.manifest_path)
    if manifest.format != "npz" or manifest.features is None:
        raise DriftError(f"dataset {manifest.name}: format {manifest.format}, not npz arrays")
    source = verified_source(
        manifest.sources[0], entry.manifest_path.parent, str(entry.manifest_path), "sources[0]"
    )
    loaded = _file(source, key or manifest.features)
    loaded.source = f"dataset {manifest.name}@{manifest.version}"
    return loaded


def check(array: object, where: str) -> np.ndarray:
    """``array`` as rows x features of float64, refused unless numeric, non-empty, finite."""
    import numpy as np

    a = np.asarray(array)
    if a.dtype.kind not in "biuf":
        raise DriftError(f"{where}: the array holds {a.dtype} values, not numbers")
    if a.ndim == 0:
        raise DriftError(f"{where}: a single number, not an array of rows")
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    elif a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise DriftError(f"{where}: the array is empty (shape {tuple(a.shape)})")
    a = a.astype(np.float64, copy=False)
    bad = ~np.isfinite(a)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(a[row, column]) else "infinite"
        count = int(bad.sum())
        more = f" ({count} such values in all)" if count > 1 else ""
        raise DriftError(
            f"{where}: column {column} row {row} is {what}{more}",
            hint="drop or impute the rows with missing values first",
        )
    return a
