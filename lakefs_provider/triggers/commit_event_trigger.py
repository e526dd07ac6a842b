"""Commit-driven scheduling: an event trigger for an ``AssetWatcher`` that fires once per new commit on a branch.

    from airflow.sdk import Asset, AssetWatcher, dag

    trigger = LakeFSCommitEventTrigger(repo="example-repo", branch="main", prefixes=["curated/"])
    curated = Asset("lakefs://example-repo/main/curated", watchers=[AssetWatcher("main_commits", trigger)])

    @dag(schedule=[curated])
    def on_every_commit(): ...

What counts, and when:

- A commit is one step of the branch's first-parent line: a publish is its one
  merge commit, not the run branch's commits it brings along.
- The watcher starts from the head it first sees: no event for the commit that
  was already there. Commits landing together between two polls fire one
  event each, oldest first, one per poll: Airflow makes one run per queued
  asset, and an event that arrives while the asset is still queued waits for
  the run of the event after it, so events fired together would share runs.
- With ``prefixes``, only commits that changed something under one of them
  (against their first parent; merge commits included) fire.
- A branch reset backwards fires nothing; what comes after fires as usual.
  Moved onto another history, it fires for the commits after the common ancestor.
- Airflow makes a new trigger from the serialized arguments when the
  triggerer restarts. On Airflow 3.3 and later, where a watcher can keep state
  in the asset's state store, the last commit handled is kept there, so a
  restarted watcher fires for the commits that landed while it was down and
  never again for one it fired (unless it was stopped between firing and
  recording, a moment, when that commit fires once more). Before 3.3, and when
  one trigger watches several assets, it starts again from the head it sees.

Every watcher of the same branch (same connection and interval) shares one
head read per interval with every other, and with deferred commit sensors that
wait for a missing branch; the log is read only when the head moves, once per
distinct question.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseEventTrigger

from lakefs_provider.hooks.lakefs_hook import LakeFSHook
from lakefs_provider.triggers.commit_events import BranchStep, branch_step, head_or_none
from lakefs_provider.triggers.shared_poll import shared_call, subscribe
from lakefs_provider.version_compat import TriggerEvent
from lakefs_wap import ConnectionSettings, LakeFSConnection, LakeFSWapError
from lakefs_wap.names import validate_branch, validate_prefixes, validate_repository

# Asset state store keys are at most 512 characters; a long prefix list is
# kept as its digest.
_KEY_MAX = 512
_COMMIT_ID = re.compile(r"[0-9a-f]{6,128}")


class LakeFSCommitEventTrigger(BaseEventTrigger):
    """Fires ``{"repository", "branch", "commit_id", "parent_commit_id", "merge", "message",
    "committer", "creation_date"}`` once for each new commit on ``branch`` (touching ``prefixes``, if given).

    A triggerer runs it for as long as the asset's DAGs exist. lakeFS being
    unreachable, the branch or repository missing, or refused credentials are
    logged and looked at again the next interval; they never end the watch.
    """

    def __init__(
        self,
        *,
        repo: str,
        branch: str,
        prefixes: Sequence[str] | None = None,
        lakefs_conn_id: str = "lakefs_default",
        poke_interval: float = 60.0,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.repo = validate_repository(repo)
        self.branch = validate_branch(branch)
        self.prefixes = list(validate_prefixes(prefixes, what="prefixes")) if prefixes else None
        if not isinstance(lakefs_conn_id, str) or not lakefs_conn_id:
            raise ValueError(f"commit event trigger: lakefs_conn_id must be a connection id, got {lakefs_conn_id!r}")
        if isinstance(poke_interval, bool) or not isinstance(poke_interval, (int, float)) or poke_interval <= 0:
            raise ValueError(
                f"commit event trigger on '{branch}' in '{repo}': poke_interval must be a positive number "
                f"of seconds, got {poke_interval!r}"
            )
        self.lakefs_conn_id = lakefs_conn_id
        self.poke_interval = float(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "repo": self.repo,
                "branch": self.branch,
                "prefixes": self.prefixes,
                "lakefs_conn_id": self.lakefs_conn_id,
                "poke_interval": self.poke_interval,
            },
        )

    def describe(self) -> str:
        scope = f" touching {self.prefixes}" if self.prefixes else ""
        return f"commits on '{self.branch}' in '{self.repo}'{scope}"

    def state_key(self) -> str:
        """The asset state store key of this watcher's last handled commit."""
        key = f"lakefs_provider.commit_event_trigger:{self.repo}/{self.branch}"
        if self.prefixes:
            listed = ",".join(self.prefixes)
            scope = listed if len(key) + 1 + len(listed) <= _KEY_MAX else hashlib.sha256(listed.encode()).hexdigest()
            key = f"{key}:{scope}"
        return key

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The connection is looked up once: a watcher that cannot find it is
        # misconfigured, and the error (naming the connection id) ends it.
        settings = await LakeFSHook.asettings(self.lakefs_conn_id)
        watermark = _Watermark(self)
        last = await watermark.load()
        if last is not None:
            self.log.info("%s: resuming after %s, the last commit handled", self.describe(), last[:12])
        waiting_on: str | None = None  # the last problem logged, to log each once
        poll_key = ("head_if_any", self.repo, self.branch)
        # A step's events not fired yet, oldest first. One is fired per poll: Airflow makes
        # one run per queued asset, and an event arriving while the asset is still queued
        # waits for the next event's run, so events fired together would share runs.
        pending: deque[dict[str, Any]] = deque()
        with subscribe(settings, self.poke_interval, poll_key, self._poll) as updates:
            while True:
                try:
                    head = await updates.next()
                    if not pending:
                        if head is None:
                            raise LookupError(f"'{self.branch}' in '{self.repo}' does not exist (yet)")
                        waiting_on = None
                        if last is None:
                            last = head
                            await watermark.save(head)
                            self.log.info("%s: watching from the head %s on", self.describe(), head[:12])
                            continue
                        if head == last:
                            continue
                        step = await self._step(settings, last, head)
                        if step.note:
                            self.log.warning("%s: %s", self.describe(), step.note)
                        pending.extend(step.events)
                        last = step.head
                        if not pending:
                            await watermark.save(last)
                            continue
                except (LakeFSWapError, LookupError) as problem:
                    message = f"{type(problem).__name__}: {problem}"
                    if message != waiting_on:
                        self.log.warning(
                            "%s: %s; looking again every %ss", self.describe(), message, self.poke_interval
                        )
                        waiting_on = message
                    continue
                payload = pending.popleft()
                self.log.info("%s: new commit %s", self.describe(), payload["commit_id"][:12])
                yield TriggerEvent(payload)
                # Until the step's last event is out, the mark is the commit fired; then the step's head.
                await watermark.save(payload["commit_id"] if pending or last is None else last)

    def _poll(self, connection: LakeFSConnection) -> str | None:
        return head_or_none(connection, self.repo, self.branch)

    async def _step(self, settings: ConnectionSettings, last: str, head: str) -> BranchStep:
        repo, branch, prefixes = self.repo, self.branch, tuple(self.prefixes or ())
        # Watchers with the same baseline and prefixes, woken by the same head, ask once.
        question = ("commit_events", repo, branch, last, head, prefixes)
        return await shared_call(
            settings, question, lambda connection: branch_step(connection, repo, branch, last, head, prefixes)
        )


class _Watermark:
    """The watcher's last handled commit, kept in the watched asset's state store where Airflow offers one.

    Airflow 3.3 gives event triggers ``asset_state_store``; with exactly one
    watched asset its ``aget``/``aset`` reach that asset's store. Otherwise the
    commit lives only in this trigger object.
    """

    def __init__(self, trigger: LakeFSCommitEventTrigger) -> None:
        self._trigger = trigger
        self._store: Any = getattr(trigger, "asset_state_store", None)
        self._key = trigger.state_key()
        self._saved: str | None = None

    async def load(self) -> str | None:
        if self._store is None:
            return None
        try:
            value = await self._store.aget(self._key)
        except ValueError:  # Airflow's accessor refuses a key without naming one of several assets
            self._give_up("this trigger watches more than one asset (give each asset its own, or share one asset)")
            return None
        except Exception as error:  # a store that cannot answer: the watch goes on from the head it sees
            self._give_up(f"{type(error).__name__}: {error}")
            return None
        if not isinstance(value, str) or not _COMMIT_ID.fullmatch(value):
            return None  # nothing stored, or not by this trigger: start from the head
        self._saved = value
        return value

    async def save(self, commit_id: str) -> None:
        if self._store is None or commit_id == self._saved:
            return
        try:
            await self._store.aset(self._key, commit_id)
        except Exception as error:  # the watch goes on; only a restart would miss the mark
            self._give_up(f"{type(error).__name__}: {error}")
            return
        self._saved = commit_id

    def _give_up(self, why: str) -> None:
        self._store = None
        self._trigger.log.warning(
            "%s: the asset state store cannot keep the last commit handled (%s); "
            "after a restart this watcher starts from the head it sees then",
            self._trigger.describe(),
            why,
        )


__all__ = ["LakeFSCommitEventTrigger"]
