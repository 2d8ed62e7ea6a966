"""The structural Kubernetes grader and the interview key points (ecsdojo.course.kubernetes)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from ecsdojo.course.kubernetes import (KEY_POINTS, BadQuantity, BadTaskDefinition, Workload, control_plane_sketch,
                                       grade_manifest, interview_key_points, parse_quantity)

HEALTH = ["CMD-SHELL", "python3 -c \"import urllib.request as u; u.urlopen('http://localhost:8080/health')\""]


def task_definition(**container_overrides) -> dict:
    """The demo task definition, as the course registers it, with overrides on its container."""
    container = {"name": "web", "image": "ecsdojo/app:latest", "essential": True, "memory": 128,
                 "portMappings": [{"containerPort": 8080, "hostPort": 0}],
                 "healthCheck": {"command": HEALTH, "interval": 10, "timeout": 5, "retries": 3}}
    container.update(container_overrides)
    return {"family": "web", "containerDefinitions": [container]}


DEMO = Workload.from_task_definition(task_definition(), desired_count=2)


def manifest_docs() -> list[dict]:
    """A correct Deployment + Service for the demo, as Python data (tests break one field at a time)."""
    probe = {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web", "tier": "demo"}},
                              "spec": {"containers": [{
                                  "name": "web", "image": "ecsdojo/app:latest",
                                  "ports": [{"containerPort": 8080, "name": "http"}],
                                  "resources": {"limits": {"memory": "128Mi"}, "requests": {"memory": "128Mi"}},
                                  "livenessProbe": dict(probe), "readinessProbe": dict(probe)}]}}}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    return [deployment, service]


def as_yaml(docs: list[dict]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False)


def container_of(docs):
    return docs[0]["spec"]["template"]["spec"]["containers"][0]


def test_what_does_the_demo_task_definition_translate_to():
    assert DEMO == Workload(image="ecsdojo/app:latest", container_port=8080, memory_mib=128, replicas=2,
                            health_path="/health", name="web")


def test_a_correct_manifest_passes_every_part():
    report = grade_manifest(as_yaml(manifest_docs()), target=DEMO)
    assert report.passed() and all(report.passed(part) for part in ("deployment", "container", "service"))
    assert report.problems() == []
    assert str(report).count("✔") == len(report.findings) and "✘" not in str(report)


def test_named_ports_and_a_kind_list_are_understood():
    docs = manifest_docs()
    container_of(docs)["livenessProbe"]["httpGet"]["port"] = "http"
    docs[1]["spec"]["ports"] = [{"port": 80, "targetPort": "http"}]
    listed = {"apiVersion": "v1", "kind": "List", "items": docs}
    assert grade_manifest(yaml.safe_dump(listed), target=DEMO).passed()


@pytest.mark.parametrize("breakage, part, words", [
    (lambda d: d[0].update(apiVersion="extensions/v1beta1"), "deployment", "apps/v1"),
    (lambda d: d[0]["spec"].pop("replicas"), "deployment", "default is 1"),
    (lambda d: d[0]["spec"]["selector"].update(matchLabels={"app": "other"}), "deployment", "matchLabels"),
    (lambda d: container_of(d).update(image="nginx"), "container", "no container runs"),
    (lambda d: container_of(d)["ports"].__setitem__(0, {"containerPort": 80}), "container", "8080"),
    (lambda d: container_of(d)["resources"]["limits"].update(memory="128M"), "container", "not 128 MiB"),
    (lambda d: container_of(d)["resources"].pop("limits"), "container", "hard limit"),
    (lambda d: container_of(d).pop("readinessProbe"), "container", "readinessProbe"),
    (lambda d: container_of(d)["livenessProbe"]["httpGet"].update(path="/"), "container", "path"),
    (lambda d: d[1]["spec"].update(selector={"app": "webb"}), "service", "does not select"),
    (lambda d: d[1]["spec"].update(ports=[{"port": 80}]), "service", "targetPort"),
    (lambda d: d[1].update(kind="Ingress"), "service", "kind: Service"),
])
def test_each_broken_field_fails_its_part_only_and_says_why(breakage, part, words):
    docs = manifest_docs()
    breakage(docs)
    report = grade_manifest(as_yaml(docs), target=DEMO)
    assert not report.passed(part)
    assert any(words in line for line in report.problems(part)), report.problems(part)
    others = [p for p in ("deployment", "container", "service") if p != part]
    if part != "deployment":    # a broken Deployment selector also un-selects the Service's Pods
        assert all(report.passed(p) for p in others), report.problems()


def test_a_manifest_that_does_not_parse_fails_everything_with_the_line():
    report = grade_manifest("kind: Deployment\n  bad: [indent", target=DEMO)
    assert not any(report.passed(part) for part in ("deployment", "container", "service"))
    assert "line" in report.problems()[0]


@pytest.mark.parametrize("text", ["", "---\n", "- just\n- a list\n"])
def test_empty_or_non_mapping_manifests_fail_cleanly(text):
    assert not grade_manifest(text, target=DEMO).passed()


def test_a_non_string_manifest_fails_without_raising():
    assert not grade_manifest(None, target=DEMO).passed()   # type: ignore[arg-type]


def test_two_deployments_are_refused():
    docs = manifest_docs()
    report = grade_manifest(as_yaml([docs[0], docs[0], docs[1]]), target=DEMO)
    assert not report.passed("deployment") and "exactly one" in report.problems("deployment")[0]


def test_passed_rejects_an_unknown_part():
    with pytest.raises(ValueError, match="part must be one of"):
        grade_manifest(as_yaml(manifest_docs()), target=DEMO).passed("pods")


@pytest.mark.parametrize("quantity, value", [
    ("128Mi", 128 * 2**20), ("0.125Gi", 128 * 2**20), ("134217728", 134217728), (134217728, 134217728),
    ("128M", 128_000_000), ("250m", Decimal("0.25")), ("1e3", 1000), ("1k", 1000)])
def test_kubernetes_quantities_parse_with_binary_and_decimal_suffixes(quantity, value):
    assert parse_quantity(quantity) == value


@pytest.mark.parametrize("quantity", ["128 MB", "Mi", "", "12x", True])
def test_bad_quantities_are_named(quantity):
    with pytest.raises(BadQuantity, match="not a Kubernetes quantity"):
        parse_quantity(quantity)


def test_workload_without_a_health_check_needs_no_probe():
    target = Workload.from_task_definition(task_definition(healthCheck=None), desired_count=1)
    docs = manifest_docs()
    docs[0]["spec"]["replicas"] = 1
    for probe in ("livenessProbe", "readinessProbe"):
        container_of(docs).pop(probe)
    assert target.health_path is None and grade_manifest(as_yaml(docs), target=target).passed()


@pytest.mark.parametrize("overrides, field", [
    ({"image": ""}, "image"), ({"portMappings": []}, "portMappings"), ({"memory": None}, "memory"),
    ({"healthCheck": {"command": ["CMD-SHELL", "true"]}}, "healthCheck.command")])
def test_a_task_definition_missing_a_field_is_named(overrides, field):
    with pytest.raises(BadTaskDefinition, match=field):
        Workload.from_task_definition(task_definition(**overrides), desired_count=2)


def test_task_level_memory_is_used_when_the_container_has_none():
    definition = task_definition(memory=None)
    definition["memory"] = "512"
    assert Workload.from_task_definition(definition, desired_count=2).memory_mib == 512


def test_which_key_points_does_an_answer_make():
    report = interview_key_points("AWS runs the control plane, and EKS charges a fee per cluster-hour.")
    assert report.covered == ("managed-control-plane", "cost")
    assert set(report.missing) == set(KEY_POINTS) - {"managed-control-plane", "cost"}
    assert report.covers("cost") and not report.covers("cost", "ecosystem")


def test_a_full_answer_covers_all_key_points_and_parts_can_be_joined():
    parts = ["For an AWS-centric workload ECS is simpler: AWS operates the control plane.",
             "Kubernetes wins on portability (multi-cloud, on-premises) and its ecosystem of Helm charts.",
             "It also depends on what the team already knows, and on cost: EKS bills per cluster-hour."]
    assert interview_key_points(parts).missing == ()


def test_key_points_match_whole_words_only():
    assert interview_key_points("Teamwork, costume and a bill of rights? No: billboards.").covered == ("cost",)
    with pytest.raises(ValueError, match="unknown key point"):
        interview_key_points("").covers("speed")


def test_the_sketch_shows_both_control_planes_and_their_agents():
    figure = control_plane_sketch()
    texts = " ".join(text.get_text() for text in figure.axes[0].texts)
    for words in ("ECS control plane", "run by AWS", "per cluster-hour", "ECS container agent", "kubelet", "Pod"):
        assert words in texts
