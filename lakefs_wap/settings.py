"""The optional connection settings users give by name, defined once.

The Airflow connection (its extras and form) and the Dagster resource (its
fields) expose the same optional settings under the same names with the same
meanings; both read them through ``optional_settings``, which turns them into
``ConnectionSettings`` keyword arguments and refuses bad values with a message
naming the setting and where it was given.

``max_attempts`` counts every try of a request, the first included: 1 means
never retry. Its old name, ``max_retries`` (which always counted attempts too),
is still accepted; giving both with different values is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from lakefs_wap.errors import BadInputError
from lakefs_wap.retry import RetryPolicy

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Setting:
    """One optional setting: its name, what it means, its default and its JSON-schema type."""

    name: str
    label: str
    meaning: str
    default: Any
    json_type: str
    minimum: float | None = None
    aliases: tuple[str, ...] = field(default=())

    def json_schema(self) -> dict[str, Any]:
        """The setting as a JSON schema (for connection forms); ``null`` means the default."""
        schema: dict[str, Any] = {"type": self.json_type if self.json_type == "boolean" else [self.json_type, "null"]}
        if self.json_type == "boolean":
            schema["default"] = self.default
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return schema


DEFAULT_READ_TIMEOUT = 120.0
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_MAX_ATTEMPTS = RetryPolicy().max_attempts

VERIFY_SSL = Setting(
    "verify_ssl",
    "Verify TLS certificates",
    "Verify the server's TLS certificate. Turn off only for a self-signed certificate that no CA bundle can vouch for.",
    True,
    "boolean",
)
CA_BUNDLE = Setting(
    "ca_bundle",
    "CA bundle path",
    "Path, where the tasks run, to a PEM file of CAs to trust for the lakeFS endpoint.",
    None,
    "string",
)
PROXY = Setting("proxy", "Proxy URL", "HTTP(S) proxy to reach lakeFS through, e.g. http://proxy:3128.", None, "string")
TIMEOUT = Setting(
    "timeout",
    "Read timeout (seconds)",
    f"How long to wait for lakeFS to answer one request, in seconds (default {DEFAULT_READ_TIMEOUT:g}).",
    DEFAULT_READ_TIMEOUT,
    "number",
    minimum=0.001,
)
CONNECT_TIMEOUT = Setting(
    "connect_timeout",
    "Connect timeout (seconds)",
    f"How long to wait for a connection to lakeFS to open, in seconds (default {DEFAULT_CONNECT_TIMEOUT:g}).",
    DEFAULT_CONNECT_TIMEOUT,
    "number",
    minimum=0.001,
)
MAX_ATTEMPTS = Setting(
    "max_attempts",
    "Attempts per request",
    "Tries of one request, the first included (1 = never retry), for 429, 500, 502, 503, 504 and transport "
    f"errors (default {DEFAULT_MAX_ATTEMPTS}). Formerly called max_retries, which is still accepted.",
    DEFAULT_MAX_ATTEMPTS,
    "integer",
    minimum=1,
    aliases=("max_retries",),
)

UI_URL = Setting(
    "ui_url",
    "lakeFS UI URL",
    "The lakeFS address as your browser reaches it, for the links shown in Airflow and Dagster, when it differs "
    "from the endpoint the tasks use (for example http://localhost:8000 when tasks reach http://lakefs:8000 in "
    "Docker). Default: the endpoint.",
    None,
    "string",
)

OPTIONAL_SETTINGS: tuple[Setting, ...] = (
    VERIFY_SSL,
    CA_BUNDLE,
    PROXY,
    TIMEOUT,
    CONNECT_TIMEOUT,
    MAX_ATTEMPTS,
    UI_URL,
)


def http_url(value: str | None, error: str) -> str:
    """``value`` without surrounding blanks or a trailing slash, if it is an http(s) URL with a host."""
    url = (value or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInputError(error)
    return url


def _given(value: Any) -> bool:
    return value is not None and value != ""


def _flag(value: Any, name: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadInputError(f"{where} '{name}' must be true or false, got {value!r}.")


def _seconds(value: Any, name: str, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not number > 0 or number == float("inf"):
        raise BadInputError(f"{where} '{name}' must be a number of seconds greater than 0, got {value!r}.")
    return number


def _attempts(value: Any, name: str, where: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not 1 <= number < float("inf") or number != int(number):
        raise BadInputError(
            f"{where} '{name}' must be a whole number of attempts, at least 1 (1 = never retry), got {value!r}."
        )
    return int(number)


def _max_attempts(options: Mapping[str, Any], where: str) -> int | None:
    given = {name: options[name] for name in (MAX_ATTEMPTS.name, *MAX_ATTEMPTS.aliases) if _given(options.get(name))}
    counts = {name: _attempts(value, name, where) for name, value in given.items()}
    if len(set(counts.values())) > 1:
        listed = " and ".join(f"'{name}' = {count}" for name, count in counts.items())
        raise BadInputError(
            f"{where} {listed} disagree: max_retries is the old name of max_attempts, give only max_attempts."
        )
    return next(iter(counts.values()), None)


def optional_settings(options: Mapping[str, Any], *, where: str) -> dict[str, Any]:
    """``ConnectionSettings`` keyword arguments for the optional settings given in ``options``.

    Settings that are absent, ``None`` or ``""`` keep their defaults. ``where``
    names the source and the kind of setting in errors, and reads on with the
    setting's name: ``"lakeFS connection 'lakefs_default': extra"``.
    """
    values: dict[str, Any] = {}
    if _given(options.get(VERIFY_SSL.name)):
        values["verify_ssl"] = _flag(options[VERIFY_SSL.name], VERIFY_SSL.name, where)
    for setting in (CA_BUNDLE, PROXY):
        if _given(options.get(setting.name)):
            values[setting.name] = str(options[setting.name])
    if _given(options.get(UI_URL.name)):
        values[UI_URL.name] = http_url(
            str(options[UI_URL.name]),
            f"{where} '{UI_URL.name}' must be the address your browser opens lakeFS at, with its scheme "
            f"(for example http://localhost:8000), got {options[UI_URL.name]!r}.",
        )
    if _given(options.get(TIMEOUT.name)):
        values["read_timeout"] = _seconds(options[TIMEOUT.name], TIMEOUT.name, where)
    if _given(options.get(CONNECT_TIMEOUT.name)):
        values["connect_timeout"] = _seconds(options[CONNECT_TIMEOUT.name], CONNECT_TIMEOUT.name, where)
    attempts = _max_attempts(options, where)
    if attempts is not None:
        values["retry"] = RetryPolicy(max_attempts=attempts)
    return values


__all__ = ["OPTIONAL_SETTINGS", "Setting", "http_url", "optional_settings"]
