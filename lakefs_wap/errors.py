"""One exception hierarchy for everything lakefs-wap reports.

Callers catch these without knowing either lakeFS SDK. Each message names the
repository, branch or ref involved, what went wrong, and what to try. Where the
SDKs have a class for the same case, ours subclasses it too, so existing
``except lakefs_sdk.exceptions.NotFoundException`` (or the high-level
``lakefs.exceptions.NotFoundException``) code keeps catching our errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import lakefs.exceptions as hl
import lakefs_sdk.exceptions as sdk
import urllib3

from lakefs_wap.retry import TRANSPORT_ERRORS


class LakeFSWapError(Exception):
    """Base of every error raised by lakefs-wap.

    ``status`` is the HTTP status when the server answered, else ``None``.
    """

    def __init__(
        self,
        message: str,
        *,
        repository: str | None = None,
        ref: str | None = None,
        status: int | None = None,
        server_message: str | None = None,
    ) -> None:
        Exception.__init__(self, message)
        self.message = message
        self.repository = repository
        self.ref = ref
        self.status = status
        self.server_message = server_message
        # The SDK classes we also derive from read these in their own __str__
        # and handlers; keep them meaningful rather than absent.
        self.reason = server_message
        self.status_code = status
        self.body: Any = {"message": server_message} if server_message else {}
        self.headers: Any = {}

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class BadInputError(LakeFSWapError, ValueError, sdk.BadRequestException, hl.BadRequestException):
    """The request was wrong: an invalid name, a bad argument, or a 400 from lakeFS."""


class InvalidNameError(BadInputError):
    """A repository, branch, tag or path name breaks lakeFS's rules; nothing was sent."""


class EndpointNotLakeFSError(BadInputError):
    """The endpoint answered HTTP, but not as lakeFS does: it is some other server."""


class NothingToCommitError(BadInputError):
    """A commit was asked for but the branch has no uncommitted changes."""


class AuthenticationError(LakeFSWapError, sdk.UnauthorizedException, hl.NotAuthorizedException):
    """lakeFS did not accept the credentials (401)."""


class PermissionDeniedError(LakeFSWapError, sdk.ForbiddenException, hl.ForbiddenException):
    """The credentials are valid but may not do this (403)."""


class NotFoundError(LakeFSWapError, sdk.NotFoundException, hl.NotFoundException):
    """A repository, branch, ref, commit or object does not exist (404)."""


class ConflictError(LakeFSWapError, sdk.ApiException, hl.ConflictException):
    """The request conflicts with the current state, e.g. a branch already exists (409)."""


class MergeConflictError(ConflictError):
    """A merge found paths changed on both sides; neither branch was changed.

    ``conflicting_paths`` lists at most ``limit`` paths; ``total_conflicts``
    counts all of them (None when they could not be listed).
    """

    def __init__(
        self,
        message: str,
        *,
        repository: str,
        source_ref: str,
        destination_branch: str,
        conflicting_paths: Sequence[str] = (),
        total_conflicts: int | None = None,
        server_message: str | None = None,
    ) -> None:
        super().__init__(
            message, repository=repository, ref=destination_branch, status=409, server_message=server_message
        )
        self.source_ref = source_ref
        self.destination_branch = destination_branch
        self.conflicting_paths = list(conflicting_paths)
        self.total_conflicts = total_conflicts


@dataclass(frozen=True)
class FailedHook:
    """One hook of a lakeFS action run that failed, with what it printed."""

    action: str
    hook_id: str
    output: str


class HookRejectedError(LakeFSWapError, sdk.ApiException):
    """A lakeFS pre-commit/pre-merge action failed and the server refused the operation (412)."""

    def __init__(
        self,
        message: str,
        *,
        repository: str,
        ref: str | None,
        action_run_id: str | None,
        failed_hooks: Sequence[FailedHook] = (),
        server_message: str | None = None,
    ) -> None:
        super().__init__(message, repository=repository, ref=ref, status=412, server_message=server_message)
        self.action_run_id = action_run_id
        self.failed_hooks = list(failed_hooks)


class BranchBusyError(LakeFSWapError, sdk.ApiException):
    """lakeFS gave up updating a branch that others were updating at the same time (429), after retries."""


class ServerUnavailableError(LakeFSWapError, sdk.ServiceException):
    """lakeFS could not be reached or kept failing (transport error, 500, 503), after retries."""


class GateFailedError(LakeFSWapError):
    """One or more quality gates failed; ``results`` holds every gate's result."""

    def __init__(self, message: str, *, repository: str, ref: str, results: Sequence[Any]) -> None:
        super().__init__(message, repository=repository, ref=ref)
        self.results = list(results)


class RunStateError(LakeFSWapError):
    """A run-branch step was asked for in a state where it cannot happen (e.g. publish before commit)."""


def server_message_of(error: sdk.ApiException) -> str:
    """The ``message`` lakeFS put in an error body, or the HTTP reason.

    Args:
        error: The SDK's error.
    """
    body = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return body.strip()[:500]
        if isinstance(parsed, dict) and parsed.get("message"):
            return str(parsed["message"])
    return str(error.reason or "")


# Statuses a wrong server answers to lakeFS API paths. lakeFS itself answers
# them (like every error) with a JSON body carrying a "message".
_NOT_LAKEFS_STATUSES = frozenset({404, 405, 501})
_DEFAULT_BRANCH_REFUSAL = "cannot delete repository default branch"


def answered_by_lakefs(error: sdk.ApiException) -> bool:
    """Whether an error answer has lakeFS's shape (a JSON object with a message); an empty body cannot tell.

    Args:
        error: The SDK's error.
    """
    body = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not body:
        return True
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return isinstance(parsed, dict) and "message" in parsed


def default_branch_refused(repository: str | None, branch: str | None, *, status: int | None = None) -> BadInputError:
    """The error for deleting a repository's default branch, which lakeFS never allows.

    Args:
        repository: The repository's name.
        branch: Its default branch.
        status: lakeFS's status when the server refused (403); None when refused locally.
    """
    return BadInputError(
        f"cannot delete branch '{branch}': it is the default branch of repository '{repository}', and lakeFS "
        "never deletes a repository's default branch. Delete another branch, or make another branch the "
        "default first.",
        repository=repository,
        ref=branch,
        status=status,
        server_message=_DEFAULT_BRANCH_REFUSAL if status else None,
    )


@dataclass(frozen=True)
class _Wording:
    """The error class for one kind of refusal and the words of its message.

    ``message(context, missing)`` gets the sentence saying what could not be
    done and why, and what a 404 most likely means (``None`` when not given).
    """

    error: type[LakeFSWapError]
    message: Callable[[str, str | None], str]


_BY_STATUS: Mapping[int, _Wording] = {
    400: _Wording(
        BadInputError, lambda context, _: f"lakeFS rejected the request: {context}. Check the arguments named above."
    ),
    401: _Wording(
        AuthenticationError,
        lambda context, _: (
            f"lakeFS did not accept the credentials: {context}. "
            "Check the access key id and secret access key of the connection."
        ),
    ),
    403: _Wording(
        PermissionDeniedError,
        lambda context, _: f"permission denied: {context}. Ask a lakeFS admin to grant this user the needed policy.",
    ),
    404: _Wording(
        NotFoundError,
        lambda context, missing: (
            f"not found: {context}. Check that these exist and are spelled as in lakeFS: "
            f"{missing or 'the repository or ref'}."
        ),
    ),
    409: _Wording(ConflictError, lambda context, _: f"conflict: {context}."),
    429: _Wording(
        BranchBusyError,
        lambda context, _: (
            f"branch busy: {context}. Other commits or merges kept updating the branch; "
            "retry later or serialize writers to this branch."
        ),
    ),
}
# No answer at all, or any 5xx: the server is down or failing, not refusing.
_UNAVAILABLE = _Wording(
    ServerUnavailableError,
    lambda context, _: f"lakeFS is unavailable: {context}. Check that the server is up and reachable.",
)
_OTHER_STATUS = _Wording(LakeFSWapError, lambda context, _: f"lakeFS refused: {context}.")


def translate(
    error: sdk.ApiException,
    *,
    action: str,
    repository: str | None = None,
    ref: str | None = None,
    missing: str | None = None,
) -> LakeFSWapError:
    """Turn an SDK error into ours, in words that say what was being done.

    Args:
        error: The SDK's error, with the HTTP status and body lakeFS answered.
        action: What was being done, read after "could not": "create branch 'x' from 'main'".
        repository: The repository involved, named in the message and kept on the error.
        ref: The branch, tag or commit involved, kept on the error.
        missing: What a 404 most likely means: "repository 'r' or branch 'b'".

    Returns:
        The typed error for the status (``_BY_STATUS``): ``BadInputError`` for
        400, ``NotFoundError`` for 404, ``ServerUnavailableError`` for 5xx...,
        or ``EndpointNotLakeFSError`` when the answer is not lakeFS's.

    Example:
        >>> raw = sdk.ApiException(status=404, reason="Not Found")
        >>> raw.body = '{"message": "branch not found"}'
        >>> found = translate(raw, action="read branch 'b'", repository="lake", missing="branch 'b'")
        >>> type(found).__name__, found.status
        ('NotFoundError', 404)
    """
    status = error.status
    server = server_message_of(error)
    where = f" in repository '{repository}'" if repository else ""
    context = f"could not {action}{where}: {server or 'no message'} (HTTP {status})"
    kwargs: dict[str, Any] = {"repository": repository, "ref": ref, "status": status, "server_message": server}
    if status in _NOT_LAKEFS_STATUSES and not answered_by_lakefs(error):
        return EndpointNotLakeFSError(
            f"the endpoint is not a lakeFS server: asked to {action}, it answered HTTP {status} with a body that "
            "is not a lakeFS error. Check the endpoint: it must be the base URL of the lakeFS server (e.g. "
            "http://lakefs.example.com:8000), not another service or a path on it.",
            **kwargs,
        )
    if status == 403 and server == _DEFAULT_BRANCH_REFUSAL:
        return default_branch_refused(repository, ref, status=status)
    wording = _UNAVAILABLE if status is None or status >= 500 else _BY_STATUS.get(status, _OTHER_STATUS)
    return wording.error(wording.message(context, missing), **kwargs)


@contextmanager
def translated(
    *,
    action: str,
    repository: str | None = None,
    ref: str | None = None,
    missing: str | None = None,
) -> Iterator[None]:
    """Raise our errors, with ``translate``'s wording, for SDK and transport failures inside the block.

    Args:
        action: What the block does, read after "could not".
        repository: The repository involved.
        ref: The branch, tag or commit involved.
        missing: What a 404 most likely means.

    Raises:
        LakeFSWapError: The typed error for what the block raised; a transport
            failure is a ``ServerUnavailableError``.

    Example:
        >>> with translated(action="read branch 'b'", repository="lake", ref="b"):  # doctest: +SKIP
        ...     connection.sdk.branches_api.get_branch("lake", "b")
    """
    try:
        yield
    except LakeFSWapError:
        raise
    except sdk.ApiException as error:
        raise translate(error, action=action, repository=repository, ref=ref, missing=missing) from error
    except TRANSPORT_ERRORS as error:
        where = f" in repository '{repository}'" if repository else ""
        raise ServerUnavailableError(
            f"could not {action}{where}: lakeFS{_address_of(error)} did not answer ({type(error).__name__}) "
            "after retries. Check that the server is up and that the endpoint, proxy and TLS settings are right.",
            repository=repository,
            ref=ref,
        ) from error


def is_no_changes(error: LakeFSWapError) -> bool:
    """Whether lakeFS refused a commit or merge because it would change nothing.

    The server says so only in its message text (a 400), so this is the one
    place that reads it.

    Args:
        error: One of our errors, as ``translate`` built it.
    """
    return "no changes" in (error.server_message or "")


# Statuses that say nothing about the data: the server, the network or the
# credentials failed. A gate that meets one has no verdict to give.
_INFRASTRUCTURE_STATUSES = frozenset({401, 403, 429})


def is_infrastructure_error(error: BaseException) -> bool:
    """Whether ``error`` is an outage, a timeout or a credentials problem rather than a finding.

    These must propagate as retryable errors: an unreachable lakeFS is not a
    verdict on a run's data, so a gate that hits one neither passes nor fails.

    Args:
        error: Any exception: ours, either SDK's, a transport error, or one
            that wraps them (its cause is looked at).
    """
    if isinstance(error, (ServerUnavailableError, AuthenticationError, PermissionDeniedError, BranchBusyError)):
        return True
    if isinstance(error, LakeFSWapError):
        return False
    status: Any = None
    if isinstance(error, sdk.ApiException):
        status = error.status
    elif isinstance(error, hl.ServerException):
        status = error.status_code
    elif isinstance(error, TRANSPORT_ERRORS):
        return True
    else:
        cause = error.__cause__ or error.__context__
        return cause is not None and cause is not error and is_infrastructure_error(cause)
    return status is None or status in _INFRASTRUCTURE_STATUSES or status >= 500


def as_lakefs_error(error: BaseException, *, action: str) -> LakeFSWapError:
    """Any SDK or transport failure (either SDK's classes) as one of ours.

    Args:
        error: The failure.
        action: What was being done, read after "could not".
    """
    if isinstance(error, LakeFSWapError):
        return error
    if isinstance(error, sdk.ApiException):
        return translate(error, action=action)
    if isinstance(error, hl.ServerException):
        raw = sdk.ApiException(status=error.status_code, reason=error.reason)
        raw.body = json.dumps(error.body) if isinstance(error.body, dict) else error.body
        return translate(raw, action=action)
    return ServerUnavailableError(
        f"could not {action}: lakeFS did not answer ({type(error).__name__}). "
        "Check that the server is up and reachable.",
    )


def _address_of(error: BaseException) -> str:
    """`` at host:port`` of the server a transport error was talking to, when urllib3 tells."""
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        target: Any = error.conn
    else:
        target = getattr(error, "pool", None)
    host, port = getattr(target, "host", None), getattr(target, "port", None)
    if not host:
        return ""
    return f" at {host}:{port}" if port else f" at {host}"
