"""What the hook's object methods return: the shapes airflow-provider-lakefs
returned, kept readable in both of its styles.

Its 0.48 release returned a dict from ``stat_object``, bytes from
``get_object`` and the physical address from ``upload``; releases before it
returned the stats model and a readable stream. DAGs written against either
keep working with these.
"""

from __future__ import annotations

import io
from typing import Any

import lakefs_sdk

_STAT_FIELDS = frozenset(lakefs_sdk.ObjectStats.__fields__)


class ObjectStatsDict(dict[str, Any]):
    """An object's stats as a dict (keys absent when lakeFS sent no value),
    whose fields also read as attributes (``None`` when absent)."""

    @classmethod
    def of(cls, stats: lakefs_sdk.ObjectStats) -> ObjectStatsDict:
        return cls(stats.to_dict())

    def __getattr__(self, name: str) -> Any:
        if name in self:
            return self[name]
        if name in _STAT_FIELDS:
            return None
        raise AttributeError(f"object stats have no field {name!r}; fields: {', '.join(sorted(_STAT_FIELDS))}")

    def to_dict(self) -> dict[str, Any]:
        return dict(self)


class ObjectContent(bytes):
    """An object's content as bytes that can also be read like a file."""

    def _stream(self) -> io.BytesIO:
        stream = self.__dict__.get("stream")
        if stream is None:
            stream = self.__dict__["stream"] = io.BytesIO(self)
        return stream

    def read(self, size: int | None = -1) -> bytes:
        return self._stream().read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._stream().readline(size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._stream().seek(offset, whence)

    def tell(self) -> int:
        return self._stream().tell()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Nothing to release: the content is in memory."""

    def __enter__(self) -> ObjectContent:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class UploadedObject(str):
    """The uploaded object's physical address, with its stats as attributes
    (``path``, ``checksum``, ``size_bytes``, ``content_type``...) and as ``stats``."""

    stats: ObjectStatsDict

    def __new__(cls, stats: lakefs_sdk.ObjectStats) -> UploadedObject:
        uploaded = super().__new__(cls, stats.physical_address or "")
        uploaded.stats = ObjectStatsDict.of(stats)
        return uploaded

    def __getattr__(self, name: str) -> Any:
        if name == "stats" or name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.stats, name)
