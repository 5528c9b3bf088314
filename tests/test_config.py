"""Settings are declared as data; each is documented in the README and validated at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from iocfeed.config import DEFAULT_PLANS, Settings, load_settings
from iocfeed.errors import ConfigurationError
from iocfeed.indicators.model import Tlp

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented_in_the_readme(name: str) -> None:
    text = README.read_text("utf-8")
    assert f"`{name}`" in text
    if name != "plans":
        assert f"`IOCFEED_{name.upper()}`" in text


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "iocfeed.toml"
    config.write_text('max_page_size = 200\nidentity_name = "Blue Team"\n')
    monkeypatch.setenv("IOCFEED_MAX_PAGE_SIZE", "300")
    settings = load_settings(config)
    assert settings.max_page_size == 300
    assert settings.identity_name == "Blue Team"


def test_plans_are_configuration(tmp_path: Path) -> None:
    config = tmp_path / "iocfeed.toml"
    config.write_text(
        "[plans.partner]\n"
        'title = "Partner"\n'
        'scopes = ["read:iocs", "read:taxii"]\n'
        "lookback_days = 30\n"
        "requests_per_minute = 5\n"
        'max_tlp = "green"\n'
    )
    settings = load_settings(config)
    assert set(settings.plans) == {"partner"}
    assert settings.plans["partner"].max_tlp is Tlp.GREEN


def test_default_plans_follow_the_spec_table() -> None:
    table = {
        name: (plan.lookback_days, plan.requests_per_minute, plan.max_tlp)
        for name, plan in DEFAULT_PLANS.items()
    }
    assert table == {
        "free": (7, 60, Tlp.GREEN),
        "pro": (90, 600, Tlp.AMBER),
        "enterprise": (365, 3000, Tlp.AMBER_STRICT),
        "admin": (None, None, Tlp.RED),
    }


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("max_page_size = 0", "max_page_size"),
        ('identity_id = "identity--not-a-uuid"', "identity_id"),
        (
            '[plans.x]\ntitle = "X"\nscopes = ["read:everything"]\nlookback_days = 1\n'
            'requests_per_minute = 1\nmax_tlp = "green"',
            "unknown scopes",
        ),
        ("unknown_setting = 1", "unknown_setting"),
        ("this is not toml", "cannot read config file"),
    ],
)
def test_bad_settings_fail_at_start_with_a_clear_message(
    tmp_path: Path, content: str, complaint: str
) -> None:
    config = tmp_path / "iocfeed.toml"
    config.write_text(content)
    with pytest.raises(ConfigurationError, match=complaint):
        load_settings(config)


def test_a_config_file_plan_can_be_unlimited(tmp_path: Path) -> None:
    config = tmp_path / "iocfeed.toml"
    config.write_text(
        "[plans.archive]\n"
        'title = "Archive"\n'
        'scopes = ["read:iocs"]\n'
        'lookback_days = "unlimited"\n'
        'requests_per_minute = "Unlimited"\n'
        'max_tlp = "red"\n'
    )
    plan = load_settings(config).plans["archive"]
    assert (plan.lookback_days, plan.requests_per_minute) == (None, None)


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("lookback_days = 0", "lookback_days: Input should be greater than or equal to 1"),
        ('lookback_days = "forever"', "lookback_days: Input should be a valid integer"),
        ("requests_per_minute = -5", "requests_per_minute: Input should be greater than"),
    ],
)
def test_plan_limits_are_positive_or_unlimited(tmp_path: Path, line: str, complaint: str) -> None:
    config = tmp_path / "iocfeed.toml"
    fields = {
        "lookback_days": "lookback_days = 7",
        "requests_per_minute": "requests_per_minute = 60",
    }
    fields[line.split(" ")[0]] = line
    config.write_text(
        '[plans.p]\ntitle = "P"\nscopes = ["read:iocs"]\nmax_tlp = "green"\n'
        + "\n".join(fields.values())
        + "\n"
    )
    with pytest.raises(ConfigurationError, match=complaint):
        load_settings(config)
