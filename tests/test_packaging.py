"""The dependency list is declared once in pyproject.toml; environment.yml must list the same set."""

from __future__ import annotations

import tomllib

import yaml

from ecsdojo.cli import build_parser
from tests.conftest import ROOT


def pyproject_dependencies() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {item.replace(" ", "") for item in data["project"]["dependencies"]}


def environment_pip_dependencies() -> set[str]:
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in data["dependencies"] if isinstance(item, dict) and "pip" in item)
    return {item.replace(" ", "") for item in pip_section if not item.startswith("-e")}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    assert environment_pip_dependencies() == pyproject_dependencies()


def test_environment_yml_installs_the_package_and_python_311():
    data = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python>=3.11" in data["dependencies"]
    pip_section = next(item["pip"] for item in data["dependencies"] if isinstance(item, dict) and "pip" in item)
    assert "-e ." in pip_section


def test_required_lower_bounds_are_declared():
    deps = pyproject_dependencies()
    for requirement in ("jupyterlab>=4.2", "ipywidgets>=8.1", "moto[server]>=5.1.12", "docker>=7"):
        assert requirement in deps


def test_dojo_help_lists_the_foundation_commands():
    help_text = build_parser().format_help()
    for command in ("doctor", "images", "lab", "bench"):
        assert command in help_text


def test_layout_of_the_design_card_exists():
    for name in ("notebooks", "labs", "quizzes", "solutions", "environment.yml", "README.md", "Makefile",
                 ".ci/run", "src/ecsdojo", "tests"):
        assert (ROOT / name).exists(), name
