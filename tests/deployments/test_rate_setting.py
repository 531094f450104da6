"""UNSTRACT_DEPLOYMENT_RATE_LIMIT: `N/second|minute|hour`, default 60/minute, anything else a clear error."""

from __future__ import annotations

import pytest

from unstract.config import ConfigError, read_settings


@pytest.mark.parametrize(("raw", "parsed"), [(None, (60, 60)), ("10/second", (10, 1)), ("5/Hour", (5, 3600)),
                                             (" 120 / minute ", (120, 60))])
def test_forms_that_parse(raw, parsed):
    env = {} if raw is None else {"UNSTRACT_DEPLOYMENT_RATE_LIMIT": raw}
    assert read_settings(env).deployment_rate_limit == parsed


@pytest.mark.parametrize("raw", ["60", "60/min", "0/minute", "-1/second", "ten/minute", "60/day"])
def test_other_forms_name_the_variable(raw):
    with pytest.raises(ConfigError, match="UNSTRACT_DEPLOYMENT_RATE_LIMIT"):
        read_settings({"UNSTRACT_DEPLOYMENT_RATE_LIMIT": raw})
