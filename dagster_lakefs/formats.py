"""How asset values become objects and back: tables as parquet, text, bytes, pickle.

A value is encoded into one in-memory buffer that is sent as the request body
as it is, and an object is read into one buffer of its size that the decoder
reads in place: no temporary file, and no copy on either side besides the
encoded bytes themselves (for parquet, a fraction of the table's size). The
table libraries (pandas, polars, pyarrow) are optional: they are imported only
when a value or an annotation asks for them.
"""

import pickle
import typing
from dataclasses import dataclass
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
    if isinstance(value, (bytes, bytearray, memoryview)):
        return BYTES
    return PICKLE


@dataclass(frozen=True)
class Written:
    """What encoding a value produced: the bytes to store, and facts for output metadata."""

    payload: memoryview
    rows: int | None = None
    schema: TableSchema | None = None


def write(value: Any, fmt: Format) -> Written:
    if fmt is PARQUET:
        return _parquet(value)
    if fmt is TEXT:
        return Written(memoryview(value.encode("utf-8")))
    if fmt is BYTES:
        return Written(memoryview(value))
    return Written(memoryview(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)))


def _parquet(value: Any) -> Written:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    library = table_library(value)
    if library == "pandas":
        # pandas' default keeps an index that carries data (named, or not a
        # plain 0..n-1 range) and stores a range index as metadata only.
        value.to_parquet(sink)
    elif library == "polars":
        value.write_parquet(sink)
    else:
        pq.write_table(value, sink)
    payload = sink.getvalue()
    footer = pq.ParquetFile(pa.BufferReader(payload))
    schema = TableSchema(columns=[TableColumn(name=f.name, type=str(f.type)) for f in footer.schema_arrow])
    return Written(memoryview(payload), rows=int(footer.metadata.num_rows), schema=schema)


def read(payload: memoryview, fmt: Format, annotation: Any) -> Any:
    """Decode a stored value, as the annotation of the consuming input asks when it names a table type."""
    if fmt is PARQUET:
        import pyarrow as pa
        import pyarrow.parquet as pq

        library = table_library(_unwrap(annotation)) or "pandas"
        source = pa.BufferReader(pa.py_buffer(payload))  # reads the downloaded buffer in place
        table = pq.read_table(source)
        del source, payload  # the encoded bytes are not needed any more: let them go before converting
        if library == "pandas":
            # Frees each Arrow column as it becomes a pandas one, so the peak is
            # about one DataFrame, not a DataFrame and a table (same frame as
            # pandas.read_parquet gives, index and dtypes included).
            return table.to_pandas(self_destruct=True, split_blocks=True)
        if library == "polars":
            import polars

            return polars.from_arrow(table)
        return table
    if fmt is TEXT:
        return str(payload, "utf-8")
    if fmt is BYTES:
        return bytes(payload)
    # Only objects this IO manager pickled itself, on the configured repository.
    return pickle.loads(payload)  # noqa: S301


def format_for_annotation(annotation: Any) -> Format | None:
    """The format a value of the input's annotated type is stored in, when the type tells."""
    inner = _unwrap(annotation)
    if table_library(inner):
        return PARQUET
    if inner is str:
        return TEXT
    if inner is bytes:
        return BYTES
    return None


def _unwrap(annotation: Any) -> Any:
    """``Optional[pd.DataFrame]`` and friends: the table type inside, if any."""
    for inner in typing.get_args(annotation) or ():
        if isinstance(inner, type) and table_library(inner):
            return inner
    return annotation if isinstance(annotation, type) else object
