"""How asset values become objects and back: tables as parquet, text, bytes, pickle.

Values go through a local temporary file, so uploads and downloads stream and
never hold a second copy of the data in memory. The table libraries (pandas,
polars, pyarrow) are optional: they are imported only when a value or an
annotation asks for them.
"""

import pickle
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import TableColumn, TableSchema


@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    content_type: str


PARQUET = Format("parquet", "parquet", "application/vnd.apache.parquet")
TEXT = Format("text", "txt", "text/plain; charset=utf-8")
BYTES = Format("bytes", "bin", "application/octet-stream")
PICKLE = Format("pickle", "pkl", "application/x-python-pickle")
FORMATS = {f.extension: f for f in (PARQUET, TEXT, BYTES, PICKLE)}

_TABLE_TYPES = {
    ("pandas", "DataFrame"): "pandas",
    ("polars", "DataFrame"): "polars",
    ("pyarrow", "Table"): "pyarrow",
}


def table_library(value_or_type: Any) -> str | None:
    """'pandas', 'polars' or 'pyarrow' for a table value or type, else None (no import needed)."""
    cls = value_or_type if isinstance(value_or_type, type) else type(value_or_type)
    root = cls.__module__.split(".")[0]
    return _TABLE_TYPES.get((root, cls.__name__))


def format_for_value(value: Any) -> Format:
    if table_library(value):
        return PARQUET
    if isinstance(value, str):
        return TEXT
    if isinstance(value, (bytes, bytearray)):
        return BYTES
    return PICKLE


@dataclass(frozen=True)
class Written:
    """What writing a value produced, for output metadata."""

    rows: int | None = None
    schema: TableSchema | None = None


def write(value: Any, fmt: Format, file: Path) -> Written:
    if fmt is PARQUET:
        library = table_library(value)
        if library == "pandas":
            value.to_parquet(file, index=False)
        elif library == "polars":
            value.write_parquet(file)
        else:
            import pyarrow.parquet as pq

            pq.write_table(value, file)
        return _parquet_facts(file)
    if fmt is TEXT:
        file.write_text(value, encoding="utf-8")
    elif fmt is BYTES:
        file.write_bytes(bytes(value))
    else:
        with file.open("wb") as out:
            pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
    return Written()


def _parquet_facts(file: Path) -> Written:
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(file)
    schema = TableSchema(columns=[TableColumn(name=f.name, type=str(f.type)) for f in parquet.schema_arrow])
    return Written(rows=int(parquet.metadata.num_rows), schema=schema)


def read(file: Path, fmt: Format, annotation: Any) -> Any:
    """Read a stored value, as the annotation of the consuming input asks when it names a table type."""
    if fmt is PARQUET:
        library = table_library(_unwrap(annotation)) or "pandas"
        if library == "polars":
            import polars

            return polars.read_parquet(file)
        if library == "pyarrow":
            import pyarrow.parquet as pq

            return pq.read_table(file)
        import pandas

        return pandas.read_parquet(file)
    if fmt is TEXT:
        return file.read_text(encoding="utf-8")
    if fmt is BYTES:
        return file.read_bytes()
    with file.open("rb") as stored:
        # Only objects this IO manager pickled itself, on the configured repository.
        return pickle.load(stored)  # noqa: S301


def _unwrap(annotation: Any) -> Any:
    """``Optional[pd.DataFrame]`` and friends: the table type inside, if any."""
    for inner in typing.get_args(annotation) or ():
        if isinstance(inner, type) and table_library(inner):
            return inner
    return annotation if isinstance(annotation, type) else object
