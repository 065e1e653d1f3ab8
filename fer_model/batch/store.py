"""Where a batch job keeps its results while it runs: parts written as they finish, then one merged table.

Beside ``RESULTS`` (say ``out.parquet``) lives the folder ``out.parquet.parts/``. Each finished chunk of
sources becomes two files there: ``<id>.rows.parquet`` (its result rows) and ``<id>.done.parquet`` (its
manifest: one row per source with its path, size, mtime, row count and error). Each is written under a
temporary name and renamed, the manifest last, so a part counts only once both are whole: a crash or
Ctrl-C at any moment leaves complete parts and, at worst, leftovers that the next run deletes. The merge
takes, for each source of the job, its rows from the first part that finished it, so a source analysed
twice (a retried Ray task) is counted once, and a file changed since (new size or mtime) is analysed anew.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .sources import Source, SourceError
from .table import ERRORS_SCHEMA

MANIFEST_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("size", pa.int64()),
        ("mtime_ns", pa.int64()),
        ("kind", pa.string()),
        ("rows", pa.int64()),
        ("error", pa.string()),
        ("seconds", pa.float64()),
    ]
)
_ROWS, _DONE, _PARTIAL = ".rows.parquet", ".done.parquet", ".partial"


def errors_path(out: str | os.PathLike) -> Path:
    """``out.parquet`` -> ``out.errors.parquet``: the table of sources that could not be analysed."""
    out = Path(out)
    return out.with_name(f"{out.stem}.errors{out.suffix or '.parquet'}")


class PartStore:
    """The parts folder of the results file ``out``."""

    def __init__(self, out: str | os.PathLike, schema: pa.Schema):
        self.out = Path(out)
        self.folder = self.out.with_name(self.out.name + ".parts")
        self.schema = schema

    def open(self) -> None:
        """Create the folder, deleting what an interrupted run left half-written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for path in self.folder.iterdir():
            if path.name.endswith(_PARTIAL) or (path.name.endswith(_ROWS) and not self._done_of(path).exists()):
                path.unlink()

    def done_keys(self) -> set[tuple[str, int, int]]:
        """(source, size, mtime_ns) of every source a finished part holds."""
        manifest = self._manifests()
        return set(zip(*(manifest.column(name).to_pylist() for name in ("source", "size", "mtime_ns")), strict=True))

    def write(self, rows: list[dict], manifest: list[dict]) -> None:
        """Commit one finished chunk: its rows, then its manifest."""
        part = uuid.uuid4().hex
        _write_atomic(pa.Table.from_pylist(rows, schema=self.schema), self.folder / f"{part}{_ROWS}")
        _write_atomic(pa.Table.from_pylist(manifest, schema=MANIFEST_SCHEMA), self.folder / f"{part}{_DONE}")

    def merge(self, sources: list[Source], listing_errors: list[SourceError]) -> tuple[Path, Path, int, int]:
        """Write the results and errors tables for ``sources``; returns their paths, the row and error counts."""
        wanted = {source.key for source in sources}
        taken: dict[str, str] = {}  # source -> the part whose rows are kept
        errors = [{"source": error.source, "message": error.message} for error in listing_errors]
        for done in sorted(self.folder.glob(f"*{_DONE}"), key=lambda path: path.stat().st_mtime_ns):
            part = done.name.removesuffix(_DONE)
            for entry in pq.read_table(done).to_pylist():
                key = (entry["source"], entry["size"], entry["mtime_ns"])
                if key in wanted and entry["source"] not in taken:
                    taken[entry["source"]] = part
                    if entry["error"] is not None:
                        errors.append({"source": entry["source"], "message": entry["error"]})
        tables = []
        for part in sorted(set(taken.values())):
            table = pq.read_table(self.folder / f"{part}{_ROWS}", schema=self.schema)
            keep = [taken.get(source) == part for source in table.column("source").to_pylist()]
            tables.append(table.filter(pa.array(keep, type=pa.bool_())))
        results = pa.concat_tables(tables) if tables else self.schema.empty_table()
        results = results.sort_by([("source", "ascending"), ("frame", "ascending"), ("face", "ascending")])
        error_table = pa.Table.from_pylist(sorted(errors, key=lambda row: row["source"]), schema=ERRORS_SCHEMA)
        _write_atomic(results, self.out)
        _write_atomic(error_table, errors_path(self.out))
        return self.out, errors_path(self.out), results.num_rows, error_table.num_rows

    def _manifests(self) -> pa.Table:
        paths = sorted(self.folder.glob(f"*{_DONE}"))
        return pa.concat_tables([pq.read_table(p) for p in paths]) if paths else MANIFEST_SCHEMA.empty_table()

    @staticmethod
    def _done_of(rows_path: Path) -> Path:
        return rows_path.with_name(rows_path.name.removesuffix(_ROWS) + _DONE)


def _write_atomic(table: pa.Table, path: Path) -> None:
    partial = path.with_name(path.name + _PARTIAL)
    pq.write_table(table, partial)
    os.replace(partial, path)
