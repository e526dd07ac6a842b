"""Links into the lakeFS UI: one rule, quoted, and built on the address a browser reaches."""

from __future__ import annotations

import pytest

from lakefs_wap import BadInputError, ConnectionSettings
from lakefs_wap.links import branch_url, commit_url, object_url
from lakefs_wap.settings import optional_settings


def settings(**options: object) -> ConnectionSettings:
    return ConnectionSettings("http://lakefs:8000", "AKIA", "secret", **options)  # type: ignore[arg-type]


def test_links_use_the_endpoint_unless_a_ui_url_is_given() -> None:
    assert settings().ui_base_url == "http://lakefs:8000"
    assert settings(ui_url="http://localhost:8000/").ui_base_url == "http://localhost:8000"
    assert commit_url(settings(ui_url="http://localhost:8000").ui_base_url, "repo", "abc") == (
        "http://localhost:8000/repositories/repo/commits/abc"
    )


def test_every_name_in_a_link_is_quoted() -> None:
    assert branch_url("http://ui", "repo", "a&b#c") == "http://ui/repositories/repo/objects?ref=a%26b%23c"
    assert object_url("http://ui/", "repo", "main", "a b/c?.csv") == (
        "http://ui/repositories/repo/object?ref=main&path=a%20b%2Fc%3F.csv"
    )


@pytest.mark.parametrize("bad", ["localhost:8000", "ftp://host", "http://", "lakefs"])
def test_a_ui_url_without_scheme_and_host_is_refused_by_name(bad: str) -> None:
    with pytest.raises(BadInputError, match="ui_url"):
        settings(ui_url=bad)


def test_ui_url_is_one_of_the_named_optional_settings() -> None:
    values = optional_settings({"ui_url": "https://lakefs.example.com"}, where="test")
    assert values == {"ui_url": "https://lakefs.example.com"}
    assert optional_settings({"ui_url": ""}, where="test") == {}
