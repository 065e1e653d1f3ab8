"""Batch jobs: folders and archives of photos and videos -> one Parquet table, resumable, here or on Ray.

:func:`run` is the API the ``batch`` command uses; see :mod:`.table` for the columns, :mod:`.store` for how
parts make a crash or Ctrl-C lose nothing, :mod:`.local` and :mod:`.on_ray` for where the work runs.
"""

from .analysis import BatchOptions
from .job import BatchSummary, run
from .sources import Source, SourceError, find_sources
from .store import errors_path
from .table import ERRORS_SCHEMA, results_schema

__all__ = [
    "ERRORS_SCHEMA",
    "BatchOptions",
    "BatchSummary",
    "Source",
    "SourceError",
    "errors_path",
    "find_sources",
    "results_schema",
    "run",
]
