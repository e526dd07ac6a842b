"""Asset events of a publish: one per declared lakeFS asset whose data it changed, sent once.

A publishing task (merge, run-branch publish, revert) is given the lakeFS
assets it may change (``assets=[...]``). Airflow sends an event for every asset
in a task's ``outlets`` whenever the task succeeds, changed or not, so these
assets are not outlets: the task's outlet is one ``AssetAlias`` of its own, and
after the publish the task adds an event through it for each declared asset
whose path the published commit changed (its diff against its first parent).

Each event's ``extra`` says what was published: the repository, branch and
path, the commit id, the run key and the gates' verdict, so a DAG scheduled on
the asset reads the exact commit from ``triggering_asset_events``.

Once: a task announces a commit only when the commit's Airflow metadata says
this very task instance made it in a try of its current series of tries.
A retry after a try that merged but failed before finishing (which sent
nothing, as Airflow sends events only on success) announces it; a task cleared
and run again after it succeeded, finding the same commit, does not; nor does a
run whose data changed nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from lakefs_provider.assets.lakefs import SCHEME, LakeFSLocation, parse_uri
from lakefs_provider.run_metadata import DAG_ID_KEY, PREFIX, RUN_ID_KEY, TASK_ID_KEY
from lakefs_wap.connection import LakeFSConnection
from lakefs_wap.errors import BadInputError
from lakefs_wap.refs import iter_diff

if TYPE_CHECKING:
    from airflow.sdk import Asset, AssetAlias

TRY_NUMBER_KEY = PREFIX + "try_number"
MAP_INDEX_KEY = PREFIX + "map_index"
ALIAS_PREFIX = "lakefs-wap"


def declared_assets(assets: Asset | str | Iterable[Asset | str] | None, *, task_id: str) -> tuple[Asset, ...]:
    """The ``assets=`` argument as Assets, each a valid ``lakefs://`` location; a single one is one item."""
    from airflow.sdk import Asset

    if assets is None:
        return ()
    if isinstance(assets, Mapping):
        raise BadInputError(
            f"task '{task_id}': assets is a {type(assets).__name__}; give a list of Asset objects or lakefs:// URIs."
        )
    items = [assets] if isinstance(assets, (str, Asset)) else list(assets)
    declared: list[Asset] = []
    for position, item in enumerate(items):
        if isinstance(item, str):
            item = Asset(item)
        if not isinstance(item, Asset):
            raise BadInputError(
                f"task '{task_id}': assets item {position} is a {type(item).__name__}; give Asset objects or "
                "URIs such as 'lakefs://example-repo/main/curated/orders'."
            )
        if not item.uri.startswith(f"{SCHEME}://"):
            raise BadInputError(
                f"task '{task_id}': assets item {position} ({item.uri!r}) is not a lakeFS asset: a publish can only "
                "tell whether it changed lakefs://<repository>/<branch>/<path> assets. Give other assets as outlets=."
            )
        parse_uri(item.uri)
        if item.name.startswith(f"{SCHEME}://") and item.name != item.uri:
            # Airflow drops a trailing "/" (and credentials) from the URI but keeps the name as
            # written, and tells assets apart by both: events on this one would never reach DAGs
            # scheduled on Asset("<the URI>").
            raise BadInputError(
                f"task '{task_id}': assets item {position} is named {item.name!r} but Airflow stores its URI as "
                f"{item.uri!r}; write it as {item.uri!r} (no trailing '/'), here and where DAGs are scheduled on it."
            )
        declared.append(item)
    return tuple(declared)


def alias_for(dag_id: str | None, task_id: str) -> AssetAlias:
    """The alias a publishing task sends its asset events through: its own, named after the task."""
    from airflow.sdk import AssetAlias

    return AssetAlias(name=f"{ALIAS_PREFIX}/{dag_id}/{task_id}" if dag_id else f"{ALIAS_PREFIX}/{task_id}")


def locations_on(assets: Sequence[Asset], repository: str, branch: str, *, task_id: str) -> list[LakeFSLocation]:
    """The declared assets' locations, each of which must be on the branch the task publishes into."""
    locations = [parse_uri(asset.uri) for asset in assets]
    elsewhere = [loc.uri for loc in locations if (loc.repository, loc.ref) != (repository, branch)]
    if elsewhere:
        raise BadInputError(
            f"task '{task_id}' publishes into branch '{branch}' of repository '{repository}', so it can never "
            f"change {', '.join(elsewhere)}: declare assets lakefs://{repository}/{branch}/<path>.",
            repository=repository,
            ref=branch,
        )
    return locations


def changed_locations(
    connection: LakeFSConnection, repository: str, parent: str, commit: str, locations: Sequence[LakeFSLocation]
) -> list[LakeFSLocation]:
    """The locations whose data differs between ``parent`` and ``commit``: at most two one-entry
    diff pages per location, however large the publish."""
    changed = []
    for location in locations:
        # The object itself sorts first among the paths that start with its name; then its folder.
        first = next(iter_diff(connection, repository, parent, commit, prefix=location.path, page_size=1), None)
        inside = first is not None and first.path == location.path
        if not inside:
            folder = location.path + "/"
            inside = (
                next(iter_diff(connection, repository, parent, commit, prefix=folder, page_size=1), None) is not None
            )
        if inside:
            changed.append(location)
    return changed


def made_in_this_series(context: Any, commit_metadata: Mapping[str, str] | None) -> bool:
    """Whether this task instance made the commit, in a try of its current series.

    A cleared task starts a new series: Airflow then sets ``max_tries`` to the
    last try plus the task's retries, so the series' first try is
    ``max_tries - retries + 1`` (the rule Airflow's own task runner uses).
    """
    ti = context["ti"]
    found = commit_metadata or {}
    if (found.get(DAG_ID_KEY), found.get(RUN_ID_KEY), found.get(TASK_ID_KEY)) != (ti.dag_id, ti.run_id, ti.task_id):
        return False
    map_index = getattr(ti, "map_index", -1)
    if found.get(MAP_INDEX_KEY) != (str(map_index) if map_index is not None and map_index >= 0 else None):
        return False
    try:
        made_in_try = int(found.get(TRY_NUMBER_KEY, ""))
    except ValueError:
        return False
    first_try = int(ti.max_tries) - int(ti.task.retries or 0) + 1
    return made_in_try >= first_try


def announce(context: Any, alias: AssetAlias, assets: Sequence[Asset], extra: Mapping[str, Any]) -> None:
    """Add one event per asset through ``alias``; Airflow records them when the task succeeds."""
    accessor = context["outlet_events"][alias]
    for asset in assets:
        accessor.add(asset, extra={**extra, "path": parse_uri(asset.uri).path})
