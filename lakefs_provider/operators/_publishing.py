"""What the operators that publish into a branch (merge, run-branch publish, revert) share:
the lakeFS assets they may change, their asset events, and their OpenLineage datasets.

See ``lakefs_provider.assets.events`` for when an asset event is sent, and
``lakefs_provider.openlineage`` for how datasets are named.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lakefs_sdk

from lakefs_provider.assets.events import (
    alias_for,
    announce,
    changed_locations,
    declared_assets,
    locations_on,
    made_in_this_series,
)
from lakefs_provider.operators.with_metadata_operator import WithLakeFSMetadataOperator
from lakefs_wap import BadInputError, operations
from lakefs_wap.keys import KEY_GATED_COMMIT, KEY_RUN_KEY
from lakefs_wap.links import commit_url
from lakefs_wap.verdict import Verdict

if TYPE_CHECKING:
    from airflow.sdk import Asset


@dataclass
class Publication:
    """What one execution published, kept for the OpenLineage listener that asks after it."""

    repository: str
    branch: str
    commit_id: str
    source_ref: str | None = None
    changed_data: bool = True
    changed_paths: list[str] | None = None  # the declared assets' paths it changed, when they were looked at


class PublishingOperator(WithLakeFSMetadataOperator):
    """Base of the operators that change a branch by one commit and may announce lakeFS assets.

    ``assets``: the ``lakefs://<repository>/<branch>/<path>`` assets (``Asset``
    objects or URIs) this task may change. After the publish, the task sends an
    asset event for each one whose data the publish changed (see
    ``lakefs_provider.assets.events``), through an ``AssetAlias`` that is its outlet.
    """

    def __init__(self, *, assets: Asset | str | Iterable[Asset | str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.assets = declared_assets(assets, task_id=self.task_id)
        self.publication: Publication | None = None
        if self.assets:
            if not self.add_airflow_metadata:
                raise BadInputError(
                    f"task '{self.task_id}': assets= needs add_airflow_metadata=True: the Airflow metadata on the "
                    "commit is how a retry knows whether its asset events were sent already."
                )
            self.asset_alias = alias_for(dag.dag_id if (dag := self.get_dag()) is not None else None, self.task_id)
            self.outlets = [*self.outlets, self.asset_alias]

    def check_assets(self, repository: str, branch: str) -> None:
        """Refuse assets that this task's publish could never change (checked before anything is written)."""
        templated = any(isinstance(value, str) and "{{" in value for value in (repository, branch))
        if self.assets and not templated:
            locations_on(self.assets, repository, branch, task_id=self.task_id)

    def record_publication(
        self,
        context: Any,
        repository: str,
        branch: str,
        commit_id: str,
        *,
        source_ref: str | None = None,
        changed_data: bool = True,
    ) -> None:
        """After the publish: remember it for lineage, and announce the declared assets it changed.

        ``changed_data`` False: the publish found nothing to change (no commit of its own).
        """
        self.publication = Publication(repository, branch, commit_id, source_ref=source_ref, changed_data=changed_data)
        if not self.assets or not changed_data:
            return
        commit = operations.get_commit(self.connection, repository, commit_id)
        if not commit.parents or not made_in_this_series(context, commit.metadata):
            self.log.info(
                "%s was not made by this run of the task (an earlier run made it, or nothing changed): no asset events",
                commit_id,
            )
            return
        locations = locations_on(self.assets, repository, branch, task_id=self.task_id)
        changed = changed_locations(self.connection, repository, str(commit.parents[0]), commit_id, locations)
        self.publication.changed_paths = [location.path for location in changed]
        touched = [asset for asset, location in zip(self.assets, locations, strict=True) if location in changed]
        if not touched:
            self.log.info("%s changed none of the declared assets: no asset events", commit_id)
            return
        announce(context, self.asset_alias, touched, self.event_extra(repository, branch, commit))
        self.log.info("Asset events for %s: %s", commit_id, ", ".join(asset.uri for asset in touched))

    def event_extra(self, repository: str, branch: str, commit: lakefs_sdk.Commit) -> dict[str, Any]:
        """Flat values only (text, booleans, None): Airflow 3.0 cannot store an alias's event whose extra
        holds a list or a mapping. ``gates`` is the gate report as lakefs-wap records it on the commit (JSON);
        ``source_commit`` the gated commit of a run, or else the merged commit."""
        metadata = commit.metadata or {}
        verdict = Verdict.from_metadata(metadata)
        commit_id = str(commit.id)
        merged = str(commit.parents[1]) if len(commit.parents) > 1 else None
        return {
            "repository": repository,
            "branch": branch,
            "commit_id": commit_id,
            "run_key": metadata.get(KEY_RUN_KEY),
            "source_commit": metadata.get(KEY_GATED_COMMIT) or merged,
            "gates_passed": verdict.passed if verdict is not None else None,
            "gates": verdict.gates_text() if verdict is not None else None,
            "url": commit_url(self.connection.settings.ui_base_url, repository, commit_id),
            "task": type(self).__name__,
        }

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Called by the OpenLineage provider only: inputs (the published source, at its commit, with the
        gates' verdict) and outputs (the changed assets or the branch, at the new commit)."""
        from lakefs_provider import openlineage as ol

        published = self.publication
        if published is None:
            return ol.operator_lineage()
        endpoint = self.connection.settings.endpoint
        commit = operations.get_commit(self.connection, published.repository, published.commit_id)
        metadata = commit.metadata or {}
        inputs = []
        if published.source_ref:
            source_version = str(commit.parents[1]) if len(commit.parents) > 1 else metadata.get(KEY_GATED_COMMIT)
            inputs.append(
                ol.input_dataset(
                    endpoint,
                    published.repository,
                    published.source_ref,
                    version=source_version,
                    gates=verdict.gates if (verdict := Verdict.from_metadata(metadata)) is not None else None,
                )
            )
        if not published.changed_data:
            return ol.operator_lineage(inputs=inputs)
        paths: list[str | None] = [*published.changed_paths] if published.changed_paths else [None]
        outputs = [
            ol.output_dataset(endpoint, published.repository, published.branch, path, version=published.commit_id)
            for path in paths
        ]
        return ol.operator_lineage(inputs=inputs, outputs=outputs)
