"""Is the Zero to JupyterHub values file valid for the chart? Checked against the chart's own JSON schema.

As Helm does, the file is merged over the chart's defaults (dictionaries merged, lists replaced) and the
result validated, the way the chart's tools/validate-against-schema.py validates its own values.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

VALUES = ROOT / "labs" / "classroom" / "z2jh-values.yaml"
REFERENCE = Path("/work/shared/reference/z2jh")
CANDIDATES = [ROOT / "labs" / "classroom" / "z2jh-schema", REFERENCE, ROOT.parent / "shared" / "reference" / "z2jh"]


def reference_dir() -> Path:
    for candidate in CANDIDATES:
        if (candidate / "values.schema.yaml").exists():
            return candidate
    pytest.skip("the chart's values.schema.yaml is not on this machine (see labs/classroom/README)")


def helm_merge(defaults, overrides):
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@pytest.fixture(scope="module")
def chart():
    jsonschema = pytest.importorskip("jsonschema")
    directory = reference_dir()
    schema = yaml.safe_load((directory / "values.schema.yaml").read_text())
    defaults = yaml.safe_load((directory / "values.yaml").read_text())
    return jsonschema, schema, defaults


def test_the_values_file_validates_against_the_chart_schema(chart):
    jsonschema, schema, defaults = chart
    values = yaml.safe_load(VALUES.read_text())
    merged = helm_merge(defaults, values)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(merged), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_misspelt_key(chart):
    """The check can fail: a typo under singleuser is refused (the schema forbids unknown keys)."""
    jsonschema, schema, defaults = chart
    values = yaml.safe_load(VALUES.read_text())
    values["singleuser"]["memmory"] = {"limit": "1G"}
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(helm_merge(defaults, values)))
    assert any("memmory" in error.message for error in errors)


def test_the_values_name_the_learner_image_the_simulated_runtime_and_culling():
    values = yaml.safe_load(VALUES.read_text())
    assert values["singleuser"]["image"]["name"] == "ecsdojo/learner"
    assert values["singleuser"]["image"]["pullPolicy"] == "Never"
    assert values["singleuser"]["extraEnv"]["DOJO_RUNTIME"] == "process"
    assert values["singleuser"]["defaultUrl"].endswith("ecs-dojo/00_start_here.ipynb")
    assert values["cull"]["enabled"] is True
