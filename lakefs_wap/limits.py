"""Limits on metadata, checked before anything is sent to lakeFS.

lakeFS stores commit metadata of any size and any characters (a 10 MiB value
commits fine), but every log page, UI view and ``lakectl log`` then carries it,
so lakefs-wap bounds it: ``COMMIT_METADATA_MAX_BYTES`` for the keys and values of
one commit or merge (UTF-8), and no control characters in keys. Values may hold
newlines: failure reasons and reports are multi-line text.

Object user metadata travels as HTTP headers (``X-Lakefs-Meta-<key>``), where
lakeFS does choke: a non-ASCII value is a 500 from the server, a newline is
refused by the HTTP client, an oversized header is a 431. So object metadata
keys are HTTP header-name characters and values printable ASCII, together at
most ``OBJECT_METADATA_MAX_BYTES``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lakefs_wap.errors import BadInputError
from lakefs_wap.names import first_control_character

COMMIT_METADATA_MAX_BYTES = 256 * 1024
OBJECT_METADATA_MAX_BYTES = 8 * 1024

_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]*$")


def _size(metadata: Mapping[str, str]) -> int:
    return sum(len(key.encode()) + len(value.encode()) for key, value in metadata.items())


def check_commit_metadata(metadata: Mapping[str, str], *, what: str = "metadata") -> Mapping[str, str]:
    """Refuse commit or merge metadata lakeFS should not be sent; return it unchanged.

    Expects strings already (``metadata_strings`` converts scalars).

    Args:
        metadata: String keys and values.
        what: How the message names this metadata.

    Raises:
        BadInputError: A key with a control character, or more than
            ``COMMIT_METADATA_MAX_BYTES`` in all.

    Example:
        >>> check_commit_metadata({"source": "s3://in"})
        {'source': 's3://in'}
    """
    for key in metadata:
        if first_control_character(key) is not None:
            raise BadInputError(
                f"{what} key {key!r} contains a control character (newline, tab...): keys are names; "
                "remove it or use '_' instead."
            )
    size = _size(metadata)
    if size > COMMIT_METADATA_MAX_BYTES:
        largest = max(metadata, key=lambda k: len(metadata[k].encode()))
        raise BadInputError(
            f"{what} is {size:,} bytes, over the limit of {COMMIT_METADATA_MAX_BYTES:,} bytes "
            f"(largest value: {largest!r}, {len(metadata[largest].encode()):,} bytes). Store large content as an "
            "object and put its path in the metadata instead."
        )
    return metadata


def metadata_strings(metadata: Mapping[str, Any] | None, *, what: str = "metadata") -> dict[str, str]:
    """Commit or merge metadata as lakeFS stores it, string to string, checked by ``check_commit_metadata``.

    Args:
        metadata: Keys are non-empty strings; values strings or scalars
            (bool, int, float), which are converted with ``str``.
        what: How the message names this metadata ("lakefs_publish metadata").

    Returns:
        A new dict of strings.

    Raises:
        BadInputError: A key that is not a non-empty string, a value that is
            not a string or scalar, or metadata over the limits.

    Example:
        >>> metadata_strings({"rows": 3, "source": "s3://in"})
        {'rows': '3', 'source': 's3://in'}
    """
    result: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not key:
            raise BadInputError(f"{what} keys must be non-empty strings, got {key!r}.")
        if isinstance(value, str):
            result[key] = value
        elif isinstance(value, (bool, int, float)):
            result[key] = str(value)
        else:
            raise BadInputError(
                f"{what} value for {key!r} is a {type(value).__name__}; lakeFS stores strings only. "
                "Convert it first, for example with json.dumps()."
            )
    return dict(check_commit_metadata(result, what=what))


def check_object_metadata(metadata: Mapping[str, str], *, path: str) -> Mapping[str, str]:
    """Refuse object user metadata that cannot travel as HTTP headers; return it unchanged.

    Args:
        metadata: Keys of HTTP header-name characters, values of printable ASCII.
        path: The object's path, named in the message.

    Raises:
        BadInputError: A key or value that cannot be a header, or more than
            ``OBJECT_METADATA_MAX_BYTES`` in all.

    Example:
        >>> check_object_metadata({"owner": "ops"}, path="raw/a.csv")
        {'owner': 'ops'}
    """
    for key, value in metadata.items():
        if not isinstance(key, str) or not _HEADER_NAME.match(key):
            raise BadInputError(
                f"metadata key {key!r} of object '{path}' is not usable: object metadata travels as HTTP "
                "headers, so keys are letters, digits and -_.!#$%&'*+^`|~ (no spaces, ':' or control characters)."
            )
        if not isinstance(value, str):
            raise BadInputError(
                f"metadata value for {key!r} of object '{path}' is a {type(value).__name__}; give a string."
            )
        if not _PRINTABLE_ASCII.match(value):
            raise BadInputError(
                f"metadata value for {key!r} of object '{path}' has control or non-ASCII characters: object "
                "metadata travels as HTTP headers, which carry printable ASCII only. Percent-encode or "
                "base64-encode it first."
            )
    size = _size(metadata)
    if size > OBJECT_METADATA_MAX_BYTES:
        raise BadInputError(
            f"metadata of object '{path}' is {size:,} bytes, over the limit of {OBJECT_METADATA_MAX_BYTES:,} "
            "bytes for HTTP headers. Store large content as an object of its own."
        )
    return metadata
