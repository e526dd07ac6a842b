"""The ``lakefs://<repository>/<ref>/<path>`` asset URI scheme, registered in the provider info.

``sanitize_uri`` is the handler Airflow calls for every ``Asset("lakefs://...")``
(a bad URI fails the DAG file, with the rule it broke), ``create_asset`` the
factory of hook-level lineage, and ``convert_asset_to_openlineage`` turns an asset
into the OpenLineage dataset the lakeFS operators report for the same data.

The repository, ref and path follow the core's name and path rules
(``lakefs_wap.names``). The path names an object or a folder: an asset
``lakefs://repo/main/curated/orders`` covers ``curated/orders`` and everything
under ``curated/orders/``, never ``curated/orders2``. Characters a URI path cannot
hold (spaces, ``%``, ``?``, ``#``, non-ASCII) are percent-encoded in the URI and
decoded into the lakeFS path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, unquote, urlsplit, urlunsplit

from lakefs_wap.errors import InvalidNameError
from lakefs_wap.names import under_prefix, validate_prefix, validate_ref, validate_repository

if TYPE_CHECKING:
    from airflow.sdk import Asset

SCHEME = "lakefs"
URI_FORM = "lakefs://<repository>/<ref>/<path>, for example lakefs://example-repo/main/curated/orders"
# RFC 3986 lets a path segment hold these as they are; everything else is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=~"


@dataclass(frozen=True)
class LakeFSLocation:
    """Where a lakeFS asset lives: an object or a folder (``path``) at ``ref`` of ``repository``."""

    repository: str
    ref: str
    path: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}://{self.repository}/{quote(self.ref, safe=_PATH_SAFE)}/{quote(self.path, safe=_PATH_SAFE)}"

    def covers(self, changed_path: str) -> bool:
        """Whether a change at ``changed_path`` changes this asset (whole segments, as gates match prefixes)."""
        return under_prefix(changed_path, self.path)


def _refused(uri: str, problem: str) -> InvalidNameError:
    scheme, separator, rest = uri.partition("://")
    netloc, slash, tail = rest.partition("/")
    if separator and "@" in netloc:  # credentials never belong here, and never in a message
        uri = f"{scheme}://***@{netloc.rpartition('@')[2]}{slash}{tail}"
    return InvalidNameError(f"invalid lakeFS asset URI {uri!r}: {problem} Give {URI_FORM}.")


def _location(parts: SplitResult, uri: str) -> LakeFSLocation:
    if parts.scheme.lower() != SCHEME:
        raise _refused(uri, f"its scheme is {parts.scheme or 'missing'!r}, not '{SCHEME}'.")
    if parts.query or parts.fragment:
        raise _refused(uri, "it has a '?query' or '#fragment', which a lakeFS location has no use for.")
    if "@" in parts.netloc or ":" in parts.netloc:
        raise _refused(
            uri,
            "the part after 'lakefs://' is the repository name, not a server or credentials "
            "(the lakeFS server comes from the Airflow connection).",
        )
    encoded_ref, _, encoded_path = parts.path.removeprefix("/").partition("/")
    ref, path = unquote(encoded_ref), unquote(encoded_path)
    if path.endswith("/"):
        # Airflow tells assets apart by name as well as URI, and cannot rename one: a
        # trailing "/" normalized away here would make two assets of one location,
        # with events on one and consumers scheduled on the other.
        raise _refused(uri, "it ends with '/': name the folder without it (it covers everything under it).")
    if "/" in ref:
        raise _refused(uri, f"its ref {ref!r} holds an encoded '/', which no lakeFS branch, tag or commit has.")
    try:
        validate_repository(parts.netloc)
        if not ref:
            raise _refused(uri, "it names no ref (a branch, tag or commit id) after the repository.")
        validate_ref(ref)
        if not path:
            raise _refused(uri, f"it names no path under '{ref}': an asset is an object or a folder.")
        validate_prefix(path, what="path")
    except InvalidNameError as error:
        if str(error).startswith("invalid lakeFS asset URI"):
            raise
        raise _refused(uri, str(error)) from None
    return LakeFSLocation(parts.netloc, ref, path)


def parse_uri(uri: str) -> LakeFSLocation:
    """The repository, ref and path a ``lakefs://`` URI names; ``InvalidNameError`` (a ``ValueError``) if it is bad."""
    if not isinstance(uri, str):
        raise InvalidNameError(f"a lakeFS asset URI must be a string such as {URI_FORM}, not {type(uri).__name__}.")
    return _location(urlsplit(uri), uri)


def sanitize_uri(uri: SplitResult) -> SplitResult:
    """Airflow's URI handler for the ``lakefs`` scheme: refuse a bad location, normalize the path's encoding."""
    location = _location(uri, urlunsplit(uri))
    return urlsplit(location.uri)


def create_asset(*, repository: str, ref: str, path: str, extra: dict[str, Any] | None = None) -> Asset:
    """The asset of ``path`` (an object or a folder) at ``ref`` of ``repository``."""
    from airflow.sdk import Asset

    location = LakeFSLocation(repository, ref, path.rstrip("/") if isinstance(path, str) else path)
    return Asset(uri=parse_uri(location.uri).uri, extra=extra)


def convert_asset_to_openlineage(asset: Asset, lineage_context: Any) -> Any:
    """The OpenLineage dataset of a ``lakefs://`` asset, named as the lakeFS operators name it.

    An asset names no server, so the namespace comes from the endpoint of the
    ``lakefs_default`` connection; the OpenLineage provider skips the asset
    (and logs why at debug level) when that connection is not defined.
    """
    from lakefs_provider.openlineage import dataset, default_endpoint

    location = parse_uri(asset.uri)
    return dataset(default_endpoint(), location.repository, location.ref, location.path)
