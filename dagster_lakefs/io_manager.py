"""LakeFSIOManager: asset values stored on the run's own lakeFS branch.

An output is written to ``<prefix>/<asset key path>[/<partition>].<ext>`` on
the run branch (created on first use, also when several step processes race
to create it). An input is read from the run branch, which holds what this
run (or the run it re-executes) wrote, on top of the source branch as it was
when the run's branch was created: every step of a run sees one snapshot.
Nothing reaches the target branch until the publish step merges the run.

Each materialization's data version is the stored object's lakeFS checksum,
and its ``dagster/uri`` names the object on the target branch
(``lakefs://<repository>/<target branch>/<path>``), where it lives once published.
"""

import os
from typing import Any

from dagster import (
    ConfigurableIOManager,
    DagsterInvariantViolationError,
    DataVersion,
    InputContext,
    MetadataValue,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    OutputContext,
    ResourceDependency,
)
from pydantic import Field

from dagster_lakefs.formats import FORMATS, Format, format_for_annotation, format_for_value, read, write
from dagster_lakefs.resource import LakeFSResource
from lakefs_wap import BadInputError, NotFoundError, RunBranch, objects
from lakefs_wap.links import object_url
from lakefs_wap.names import validate_path, validate_prefix

# Run branches this process has opened: (pid, Dagster run id, repository, branch) -> base commit.
_OPENED: dict[tuple[int, str, str, str], str] = {}


class LakeFSIOManager(ConfigurableIOManager):
    """Stores asset outputs in lakeFS, on a branch per run, until the run is published."""

    lakefs: ResourceDependency[LakeFSResource]
    prefix: str = Field(default="dagster", description="path prefix of asset objects in the repository")
    presign: bool = Field(
        default=False,
        description="move bytes straight to and from the object store by presigned URLs "
        "(falls back to lakeFS where that cannot work)",
    )

    def setup_for_execution(self, context: Any) -> None:
        try:
            validate_prefix(self.prefix.strip("/"))
        except BadInputError as error:
            raise BadInputError(
                f"LakeFSIOManager prefix {self.prefix!r} is not a usable object path prefix: "
                f"give something like 'dagster' or 'warehouse/assets'. ({error})"
            ) from None

    # ----- paths -----------------------------------------------------------------

    def _base_path(self, context: OutputContext | InputContext, partition_key: str | None) -> str:
        if context.has_asset_key:
            parts = list(context.asset_key.path)
        else:  # an op output: address it by the step and name of the output
            output = context.upstream_output if isinstance(context, InputContext) else context
            if output is None:
                raise BadInputError("LakeFSIOManager cannot load an op input that has no upstream output")
            parts = [output.step_key or "op", output.name or "result"]
        if partition_key is not None:
            definition = context.asset_partitions_def if context.has_asset_partitions else None
            parts += partition_segments(partition_key, definition)
        return validate_path("/".join([self.prefix.strip("/"), *parts]))

    def _run_branch(self, context: OutputContext | InputContext) -> tuple[RunBranch, str]:
        """The Dagster run's branch, opened once per run and process, and its base commit.

        Every store and load needs the branch to exist, but asking lakeFS on each
        one would cost a request or two per value. Opening also pins the snapshot
        a run reads, even if it writes nothing.
        """
        dagster_run = context.step_context.dagster_run
        run = self.lakefs.run_branch(dagster_run)
        key = (os.getpid(), dagster_run.run_id, run.repository, run.branch)
        base = _OPENED.get(key)
        if base is None:
            base = _OPENED[key] = run.open()
        return run, base

    # ----- writing -----------------------------------------------------------------

    def handle_output(self, context: OutputContext, obj: Any) -> None:
        if obj is None:
            return  # the asset stored its data itself, or had nothing to store
        partition = context.partition_key if context.has_partition_key else None
        fmt = format_for_value(obj)
        base_path = self._base_path(context, partition)  # validated before the branch is created
        path = f"{base_path}.{fmt.extension}"
        run, base_commit = self._run_branch(context)
        connection = run.connection
        written = write(obj, fmt)
        stats = objects.upload(
            connection,
            run.repository,
            run.branch,
            path,
            written.payload,
            content_type=fmt.content_type,
            presign=self.presign,
        )
        self._drop_other_formats(run, base_path, keep=path)
        metadata: dict[str, Any] = {
            # Where the value lives once the run is published: the run branch is
            # deleted after publishing, so links to it would all go dead.
            "dagster/uri": MetadataValue.path(f"lakefs://{run.repository}/{run.target_branch}/{path}"),
            "lakefs/url": MetadataValue.url(
                object_url(connection.settings.ui_base_url, run.repository, run.target_branch, path)
            ),
            "lakefs/run_branch_url": MetadataValue.url(
                object_url(connection.settings.ui_base_url, run.repository, run.branch, path)
            ),
            "lakefs/branch": run.branch,
            "lakefs/source_commit": base_commit,
            "lakefs/format": fmt.name,
            "lakefs/size_bytes": MetadataValue.int(int(stats.size_bytes or 0)),
            "lakefs/checksum": str(stats.checksum),
        }
        if written.rows is not None:
            metadata["dagster/partition_row_count" if partition else "dagster/row_count"] = MetadataValue.int(
                written.rows
            )
        if written.schema is not None:
            metadata["dagster/column_schema"] = written.schema
        context.add_output_metadata(metadata)
        if context.has_asset_key:
            record_data_version(context, DataVersion(str(stats.checksum)))

    def _drop_other_formats(self, run: RunBranch, base_path: str, keep: str) -> None:
        """A value that changed type (say pickle to parquet) must not leave its old object behind."""
        for stale in stored_formats(run, base_path):
            if stale != keep:
                run.connection.sdk.objects_api.delete_object(run.repository, run.branch, stale)

    # ----- reading -----------------------------------------------------------------

    def load_input(self, context: InputContext) -> Any:
        run, _ = self._run_branch(context)
        annotation = context.dagster_type.typing_type
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            return {key: self._load(context, run, key, annotation) for key in sorted(context.asset_partition_keys)}
        partition = context.asset_partition_keys[0] if context.has_asset_partitions else None
        return self._load(context, run, partition, annotation)

    def _load(self, context: InputContext, run: RunBranch, partition: str | None, annotation: Any) -> Any:
        base_path = self._base_path(context, partition)
        expected = format_for_annotation(annotation)
        if expected is not None:
            # The input's type names the format: one request when the value is there.
            try:
                return read(self._fetch(run, f"{base_path}.{expected.extension}"), expected, annotation)
            except NotFoundError:
                pass  # stored in another format (the type changed), or not at all: look
        found = stored_formats(run, base_path)
        if not found:
            raise NotFoundError(
                f"no stored value for {base_path}.* on run branch '{run.branch}' of '{run.repository}' "
                f"(forked from '{run.source_branch}'): materialize it first, or check the IO manager's prefix.",
                repository=run.repository,
                ref=run.branch,
            )
        path = found[0]
        fmt: Format = FORMATS[path.rsplit(".", 1)[1]]
        return read(self._fetch(run, path), fmt, annotation)

    def _fetch(self, run: RunBranch, path: str) -> memoryview:
        # Handed straight to ``read``, which lets go of it once decoded: no
        # other reference may keep the encoded bytes alive while the value is built.
        return objects.read_buffer(run.connection, run.repository, run.branch, path, presign=self.presign)


def record_data_version(context: OutputContext, version: DataVersion) -> None:
    """Make the stored object's checksum the data version of this materialization.

    Equal bytes give an equal version, so rewriting unchanged data leaves
    downstream assets fresh, and any change to the data makes them stale. An
    IO manager has no public way to hand Dagster a data version; the step
    context's cache is where Dagster looks for one (after the asset's own
    ``Output(data_version=...)``, which still wins) when it records the
    materialization, just after ``handle_output`` returns.
    """
    try:
        step = context.step_context
    except DagsterInvariantViolationError:
        return  # a context built outside a run (build_output_context in tests): no materialization to version
    step.set_data_version(context.asset_key, version)


def stored_formats(run: RunBranch, base_path: str) -> list[str]:
    """Paths ``<base_path>.<ext>`` present on the run branch, for the known formats."""
    listing = run.connection.sdk.objects_api.list_objects(
        run.repository, run.branch, prefix=f"{base_path}.", amount=100
    )
    candidates = (entry.path for entry in listing.results)
    return [path for path in candidates if path[len(base_path) + 1 :] in FORMATS]


def partition_segments(partition_key: str, definition: Any = None) -> list[str]:
    """Path segments for a partition: ``dimension=value`` per dimension of a multi-partition.

    Output contexts hand over ``MultiPartitionKey`` objects, input contexts may
    hand over their ``a|b`` strings; the partitions definition tells them apart.
    """
    if isinstance(definition, MultiPartitionsDefinition) and not isinstance(partition_key, MultiPartitionKey):
        names = [dimension.name for dimension in definition.partitions_defs]
        partition_key = MultiPartitionKey(dict(zip(names, partition_key.split("|"), strict=True)))
    if isinstance(partition_key, MultiPartitionKey):
        return [f"{dimension}={value}" for dimension, value in sorted(partition_key.keys_by_dimension.items())]
    return [partition_key]


__all__ = ["LakeFSIOManager"]
