"""The docs tell the truth about the code: every setting is documented, every route group is listed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_settings_table_is_the_settings_table() -> None:
    """README's table is generated from settings.SETTINGS (python -m parsecrm.settings), and says it all."""
    from parsecrm.settings import SETTINGS, Settings, markdown_table

    assert markdown_table() in (ROOT / "README.md").read_text()
    assert {s.field for s in SETTINGS} == set(Settings.__dataclass_fields__)


def test_a_bad_setting_stops_start_up_naming_it() -> None:
    import pytest

    from parsecrm.settings import Rate, SettingsError, from_env

    for env, name in [
        ({"PARSE_MASTER_KEY_IPS": "10.0.0.300/8"}, "PARSE_MASTER_KEY_IPS"),
        ({"PORT": "x"}, "PORT"),
        ({"CRM_DEBUG": "maybe"}, "CRM_DEBUG"),
        ({"PARSE_MAX_LIMIT": "0"}, "PARSE_MAX_LIMIT"),
        ({"PARSE_RATE_LIMIT_LOGIN_IP": "30 per minute"}, "PARSE_RATE_LIMIT_LOGIN_IP"),
        ({"CRM_SIGNUP": "closed"}, "CRM_SIGNUP"),
        ({"CRM_SIGNUP": "domains"}, "CRM_SIGNUP_DOMAINS"),  # domains sign-up without domains
    ]:
        with pytest.raises(SettingsError) as info:
            from_env(env)
        assert str(info.value).startswith(name + ":")
    settings = from_env({"PARSE_MASTER_KEY_IPS": "10.0.0.0/8, ::1"})
    assert settings.master_ip_allowed("10.1.2.3") and settings.master_ip_allowed("::1")
    assert not settings.master_ip_allowed("11.0.0.1") and not settings.master_ip_allowed("nonsense")
    assert from_env({}).master_key == ""  # the loader makes no key (and writes no file)
    rates = from_env({"PARSE_RATE_LIMITS": "false", "PARSE_RATE_LIMIT_LOGIN_IP": "5/60"})
    assert rates.rate_login_ip is None and rates.rate_reset_user is None  # the switch turns every limit off
    assert from_env({"PARSE_RATE_LIMIT_LOGIN_IP": "5/60"}).rate_login_ip == Rate(5, 60.0)
    assert from_env({"CRM_DATA_DIR": "/srv/crm"}).mail_dir == Path("/srv/crm/outbox")


def test_every_route_is_in_the_protocol_doc() -> None:
    from parsecrm.protocol.routes import ROUTES

    doc = (ROOT / "docs/protocol.md").read_text()
    heads = {re.match(r"[A-Za-z]+", route.pattern).group(0) for route in ROUTES}  # type: ignore[union-attr]
    assert len(heads) > 15
    table = doc.split("## Implemented", 1)[1].split("##", 1)[0]
    missing = sorted(h for h in heads if not re.search(rf"[ `,]{h}\b", table))
    assert not missing, f"routes missing from docs/protocol.md: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text()[:800]
    assert "make run" in head and "make test" in head


def test_the_cloud_code_guide_matches_the_registry() -> None:
    """docs/cloud-code.md names every decorator of `Cloud` and every typed request, and only real ones."""
    import inspect

    from parsecrm.cloud import requests as request_types
    from parsecrm.cloud.registry import Cloud

    doc = (ROOT / "docs/cloud-code.md").read_text()
    public = {n for n, f in inspect.getmembers(Cloud, inspect.isfunction) if not n.startswith("_")}
    decorators = public - {"merge", "has", "run"}
    assert decorators and all(f"`{name}" in doc for name in decorators), sorted(decorators)
    documented = set(re.findall(r"^\| `([a-z_]+)", doc, re.M))
    assert documented <= public, sorted(documented - public)
    for name in decorators:
        assert inspect.getdoc(getattr(Cloud, name)), f"Cloud.{name} needs a one-line docstring"
    kinds = {n for n, c in inspect.getmembers(request_types, inspect.isclass) if n.endswith("Request")}
    assert kinds and all(f"`{kind}`" in doc for kind in kinds), sorted(kinds)
