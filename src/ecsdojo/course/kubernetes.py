"""Kubernetes beside ECS: grade a Deployment + Service translated from an ECS task definition, and find the
key points of an "ECS or Kubernetes?" interview answer.

There is no Kubernetes cluster in the course: :func:`grade_manifest` checks a manifest's *structure* only
(the fields a cluster would need to run the same workload), never that a cluster would accept it.

Example::

    demo = Workload.from_task_definition(task_definition, desired_count=2)
    report = grade_manifest(manifest_yaml, target=demo)
    print(report)                          # one ✔/✘ line per item
    report.passed("service")               # True when every Service item passed

    interview_key_points("ECS is AWS-centric; AWS runs the control plane ...").missing
    control_plane_sketch()                 # a matplotlib Figure: who runs what, ECS beside Kubernetes
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from ecsdojo.quiz.model import mentions

__all__ = ["Workload", "Finding", "ManifestReport", "grade_manifest", "parse_quantity", "BadQuantity",
           "BadTaskDefinition", "KEY_POINTS", "KeyPointReport", "interview_key_points", "control_plane_sketch"]

PARTS = ("deployment", "container", "service")
PROBES = ("livenessProbe", "readinessProbe")
MIB = 1024 * 1024

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1), "k": Decimal("1e3"),
            "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"), "P": Decimal("1e15"),
            "E": Decimal("1e18")}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$")
_HEALTH_URL = re.compile(r"https?://[^/\s'\"]+(/[^\s'\"\\)]*)")


class BadQuantity(ValueError):
    """A Kubernetes quantity that does not parse (e.g. "128 MB")."""

    def __init__(self, value: Any) -> None:
        super().__init__(f"{value!r} is not a Kubernetes quantity (write e.g. 128Mi, 0.5Gi or 134217728)")
        self.value = value


class BadTaskDefinition(ValueError):
    """The task definition lacks what the translation needs; names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"task definition field {field!r}: {problem}")
        self.field = field


def parse_quantity(value: str | int | float) -> Decimal:
    """A Kubernetes quantity as a number: ``parse_quantity("128Mi") == 134217728``; ``"250m"`` is 0.25.

    Binary suffixes (Ki, Mi, Gi, ...) are powers of 1024, decimal ones (k, M, G, ...) powers of 1000,
    so ``128M`` is 128,000,000 bytes — less than the 128 MiB an ECS ``memory: 128`` means.
    """
    if isinstance(value, bool):
        raise BadQuantity(value)
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    match = _QUANTITY.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        raise BadQuantity(value)
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix[:1] in ("e", "E") and len(suffix) > 1:
        try:
            return number * Decimal(10) ** int(suffix[1:])
        except (InvalidOperation, ValueError):
            raise BadQuantity(value) from None
    return number * _DECIMAL[suffix]


@dataclass(frozen=True)
class Workload:
    """What the Kubernetes manifest must express: the ECS task definition's container and the service's count."""

    image: str
    container_port: int
    memory_mib: int
    replicas: int
    health_path: str | None = None
    name: str = "web"

    @classmethod
    def from_task_definition(cls, task_definition: Mapping[str, Any], *, desired_count: int) -> Workload:
        """Read the first essential container of a task definition (the dict given to
        ``register_task_definition`` or returned by ``describe_task_definition``)."""
        containers = task_definition.get("containerDefinitions") or []
        if not containers:
            raise BadTaskDefinition("containerDefinitions", "has no container")
        container = next((c for c in containers if c.get("essential", True)), containers[0])
        name = container.get("name") or "web"
        if not container.get("image"):
            raise BadTaskDefinition(f"containerDefinitions[{name}].image", "is missing")
        ports = [m.get("containerPort") for m in container.get("portMappings") or [] if m.get("containerPort")]
        if not ports:
            raise BadTaskDefinition(f"containerDefinitions[{name}].portMappings", "has no containerPort")
        memory = container.get("memory") or task_definition.get("memory")
        if not memory:
            raise BadTaskDefinition(f"containerDefinitions[{name}].memory",
                                    "is missing (and there is no task-level memory)")
        health_path = None
        command = (container.get("healthCheck") or {}).get("command") or []
        if command:
            found = _HEALTH_URL.search(" ".join(str(part) for part in command))
            if not found:
                raise BadTaskDefinition(f"containerDefinitions[{name}].healthCheck.command",
                                        "has no http://host/path URL to turn into an HTTP probe")
            health_path = found.group(1) or "/"
        return cls(image=container["image"], container_port=int(ports[0]), memory_mib=int(memory),
                   replicas=int(desired_count), health_path=health_path, name=name)


@dataclass(frozen=True)
class Finding:
    """One structural item of the manifest: which part, what was checked, whether it holds, and why."""

    part: str          # "deployment" | "container" | "service" | "manifest"
    item: str
    ok: bool
    message: str

    def __str__(self) -> str:
        return f"{'✔' if self.ok else '✘'} {self.item}: {self.message}"


@dataclass(frozen=True)
class ManifestReport:
    """The findings of :func:`grade_manifest`, printable, with per-part verdicts."""

    findings: tuple[Finding, ...]

    def passed(self, part: str | None = None) -> bool:
        """True when every finding (of ``part``: deployment, container or service) holds. A manifest that
        does not parse fails every part."""
        if part is not None and part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, not {part!r}")
        chosen = [f for f in self.findings if part is None or f.part in (part, "manifest")]
        return bool(chosen) and all(f.ok for f in chosen)

    def problems(self, part: str | None = None) -> list[str]:
        """The failed findings as text lines."""
        return [str(f) for f in self.findings if not f.ok and (part is None or f.part in (part, "manifest"))]

    def __str__(self) -> str:
        return "\n".join(str(f) for f in self.findings)


def _documents(text: str) -> tuple[list[dict], Finding | None]:
    if not isinstance(text, str):
        return [], Finding("manifest", "YAML", False, f"the manifest must be a YAML string, not {type(text).__name__}")
    try:
        loaded = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        return [], Finding("manifest", "YAML", False, f"does not parse{where}: {problem}")
    documents: list[dict] = []
    for index, doc in enumerate(loaded, 1):
        if not isinstance(doc, dict):
            return [], Finding("manifest", "YAML", False, f"document {index} is not a mapping of fields")
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            documents += [item for item in doc["items"] if isinstance(item, dict)]
        else:
            documents.append(doc)
    if not documents:
        return [], Finding("manifest", "YAML", False, "is empty: write a Deployment and a Service, separated by ---")
    return documents, None


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _one_of_kind(documents: list[dict], kind: str, api_version: str, part: str) -> tuple[dict | None, Finding]:
    item = f"{kind} apiVersion/kind"
    found = [doc for doc in documents if doc.get("kind") == kind]
    if not found:
        kinds = sorted({str(doc.get("kind")) for doc in documents})
        return None, Finding(part, item, False, f"no document has kind: {kind} (kinds found: {', '.join(kinds)})")
    if len(found) > 1:
        return None, Finding(part, item, False, f"{len(found)} documents have kind: {kind}; write exactly one")
    doc = found[0]
    if doc.get("apiVersion") != api_version:
        return doc, Finding(part, item, False, f"apiVersion is {doc.get('apiVersion')!r}; a {kind} is {api_version}")
    return doc, Finding(part, item, True, f"{api_version} {kind}")


def _labels_match(selector: Any, labels: Any) -> bool:
    return (isinstance(selector, dict) and bool(selector) and isinstance(labels, dict)
            and all(str(labels.get(key)) == str(value) and key in labels for key, value in selector.items()))


def _port_number(port: Any, named_ports: Mapping[str, int]) -> int | None:
    if isinstance(port, bool):
        return None
    if isinstance(port, int):
        return port
    if isinstance(port, str):
        return int(port) if port.isdigit() else named_ports.get(port)
    return None


def _deployment_findings(deployment: dict, target: Workload) -> list[Finding]:
    found = []
    replicas = _get(deployment, "spec", "replicas")
    found.append(Finding("deployment", "Deployment spec.replicas", replicas == target.replicas and
                         not isinstance(replicas, bool),
                         f"{replicas}" if replicas == target.replicas else
                         f"is {replicas!r}; the ECS service runs {target.replicas} tasks"
                         + (" (the default is 1 when it is left out)" if replicas is None else "")))
    selector = _get(deployment, "spec", "selector", "matchLabels")
    labels = _get(deployment, "spec", "template", "metadata", "labels")
    if not isinstance(labels, dict) or not labels:
        found.append(Finding("deployment", "Deployment spec.selector", False,
                             "the Pod template has no labels (spec.template.metadata.labels)"))
    elif not _labels_match(selector, labels):
        found.append(Finding("deployment", "Deployment spec.selector", False,
                             "spec.selector.matchLabels must be non-empty and match the Pod template's labels"))
    else:
        found.append(Finding("deployment", "Deployment spec.selector",
                             True, "matchLabels match the Pod template labels"))
    return found


def _container_findings(deployment: dict, target: Workload) -> tuple[list[Finding], dict[str, int]]:
    containers = _get(deployment, "spec", "template", "spec", "containers")
    if not isinstance(containers, list) or not containers:
        return [Finding("container", "container image", False,
                        "the Pod template has no containers (spec.template.spec.containers)")], {}
    container = next((c for c in containers if isinstance(c, dict) and c.get("image") == target.image), None)
    if container is None:
        images = ", ".join(repr(c.get("image")) for c in containers if isinstance(c, dict))
        return [Finding("container", "container image", False,
                        f"no container runs {target.image} (images found: {images or 'none'})")], {}
    found = [Finding("container", "container image", True, target.image)]
    ports = [p for p in container.get("ports") or [] if isinstance(p, dict)]
    named = {str(p["name"]): p.get("containerPort") for p in ports if p.get("name")}
    numbers = [p.get("containerPort") for p in ports]
    found.append(Finding("container", "container ports[].containerPort", target.container_port in numbers,
                         f"{target.container_port}" if target.container_port in numbers else
                         f"no containerPort {target.container_port} (found {numbers or 'none'})"))
    memory = _get(container, "resources", "limits", "memory")
    item = "container resources.limits.memory"
    if memory is None:
        found.append(Finding("container", item, False,
                             f"missing; ECS memory {target.memory_mib} is a hard limit in MiB"))
    else:
        try:
            ok = parse_quantity(memory) == target.memory_mib * MIB
            message = f"{memory}" if ok else (f"{memory} is not {target.memory_mib} MiB "
                                              f"(Mi is 1024×1024 bytes, M is 1000×1000)")
        except BadQuantity as error:
            ok, message = False, str(error)
        found.append(Finding("container", item, ok, message))
    if target.health_path is not None:
        for probe in PROBES:
            http = _get(container, probe, "httpGet")
            item = f"container {probe}.httpGet"
            if not isinstance(http, dict):
                found.append(Finding("container", item, False,
                                     f"missing; add an HTTP {probe} on {target.health_path}"))
                continue
            port = _port_number(http.get("port"), named)
            problems = []
            if http.get("path") != target.health_path:
                problems.append(f"path is {http.get('path')!r}, the health check calls {target.health_path}")
            if port != target.container_port:
                problems.append(f"port {http.get('port')!r} is not the container's port {target.container_port}")
            found.append(Finding("container", item, not problems,
                                 "; ".join(problems) or f"GET {target.health_path} on port {target.container_port}"))
    return found, named


def _service_findings(service: dict, deployment: dict | None, target: Workload,
                      named: Mapping[str, int]) -> list[Finding]:
    found = []
    selector = _get(service, "spec", "selector")
    labels = _get(deployment, "spec", "template", "metadata", "labels") if deployment else None
    if _labels_match(selector, labels):
        found.append(Finding("service", "Service spec.selector", True, "selects the Deployment's Pods by label"))
    else:
        found.append(Finding("service", "Service spec.selector", False,
                             f"{selector!r} does not select the Pod template's labels {labels!r}"))
    ports = [p for p in _get(service, "spec", "ports") or [] if isinstance(p, dict)]
    targets = [_port_number(p.get("targetPort", p.get("port")), named) for p in ports]
    ok = target.container_port in targets
    found.append(Finding("service", "Service spec.ports[].targetPort", ok,
                         f"traffic goes to container port {target.container_port}" if ok else
                         f"no port sends traffic to container port {target.container_port} "
                         f"(target ports found: {targets or 'none'})"))
    return found


def grade_manifest(text: str, *, target: Workload) -> ManifestReport:
    """Check a YAML manifest (a Deployment and a Service, ``---``-separated, or a ``kind: List``) against
    the workload it should express. Never raises for a bad manifest: problems are failed findings.

    Example::

        report = grade_manifest(manifest, target=Workload(image="ecsdojo/app:latest", container_port=8080,
                                                          memory_mib=128, replicas=2, health_path="/health"))
        report.passed("deployment"), report.problems()
    """
    documents, problem = _documents(text)
    if problem is not None:
        return ManifestReport((problem,))
    findings: list[Finding] = []
    deployment, finding = _one_of_kind(documents, "Deployment", "apps/v1", "deployment")
    findings.append(finding)
    named: dict[str, int] = {}
    if deployment is not None:
        findings += _deployment_findings(deployment, target)
        container_findings, named = _container_findings(deployment, target)
        findings += container_findings
    else:
        findings.append(Finding("container", "container image", False, "no Deployment to hold the container"))
    service, finding = _one_of_kind(documents, "Service", "v1", "service")
    findings.append(finding)
    if service is not None:
        findings += _service_findings(service, deployment, target, named)
    return ManifestReport(tuple(findings))


# ---- the "ECS or Kubernetes?" interview answer -------------------------------------------------------

# key point -> (what it means, accepted spellings; whole words, case, punctuation and plural s ignored)
KEY_POINTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws-centric": ("the workload lives on AWS and uses its services", (
        "AWS-centric", "AWS centric", "AWS-native", "AWS native", "only on AWS", "all in on AWS", "all-in on AWS",
        "AWS integration", "integration with AWS", "integrated with AWS", "integrates with AWS", "AWS services",
        "IAM", "CloudWatch", "ALB", "Fargate")),
    "managed-control-plane": ("AWS runs the control plane; there is none to operate", (
        "control plane", "control planes", "master node", "no masters", "managed by AWS", "AWS manages",
        "AWS runs", "AWS operates", "fully managed", "managed service")),
    "team-skills": ("what the team already knows", (
        "team", "skills", "skill set", "expertise", "experience", "learning curve", "know Kubernetes",
        "knows Kubernetes", "Kubernetes knowledge")),
    "portability": ("running across clouds or on premises", (
        "portability", "portable", "multi-cloud", "multicloud", "multiple clouds", "cross-cloud", "hybrid",
        "on-premises", "on premises", "on-prem", "cloud-agnostic", "cloud agnostic", "lock-in", "ECS Anywhere",
        "EKS Anywhere")),
    "ecosystem": ("Kubernetes' ecosystem and extensibility", (
        "ecosystem", "Helm", "operator", "CRD", "custom resource", "CNCF", "extensibility", "extensible")),
    "cost": ("what each costs (EKS's per-cluster-hour fee)", (
        "cost", "price", "pricing", "fee", "cluster-hour", "per cluster", "charge", "cheaper", "bill", "billed")),
}


@dataclass(frozen=True)
class KeyPointReport:
    """Which key points of :data:`KEY_POINTS` a text makes."""

    covered: tuple[str, ...]
    missing: tuple[str, ...]

    def covers(self, *points: str) -> bool:
        """True when every named key point is made."""
        unknown = [p for p in points if p not in KEY_POINTS]
        if unknown:
            raise ValueError(f"unknown key point(s) {unknown}; known: {sorted(KEY_POINTS)}")
        return all(p in self.covered for p in points)

    def __str__(self) -> str:
        lines = [f"✔ {name}: {KEY_POINTS[name][0]}" for name in self.covered]
        lines += [f"✘ {name}: {KEY_POINTS[name][0]}" for name in self.missing]
        return "\n".join(lines)


def interview_key_points(text: str | Iterable[str]) -> KeyPointReport:
    """The key points a text (or several texts, joined) makes, by accepted spellings — a check for
    coverage, not for quality: judge the quality against the rubric.

    Example::

        interview_key_points("AWS runs the control plane, and EKS charges a fee per cluster-hour").covered
        # ('managed-control-plane', 'cost')
    """
    joined = text if isinstance(text, str) else " ".join(str(part) for part in text)
    covered = tuple(name for name, (_, spellings) in KEY_POINTS.items()
                    if any(mentions(joined, spelling) for spelling in spellings))
    return KeyPointReport(covered, tuple(name for name in KEY_POINTS if name not in covered))


# ---- the picture ---------------------------------------------------------------------------------------

def control_plane_sketch():
    """ECS beside Kubernetes: who runs the control plane, and what runs on the machines (a matplotlib
    Figure, built without pyplot; Jupyter shows a returned Figure inline)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    figure = Figure(figsize=(11, 4.6))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_xlim(0, 22)
    axes.set_ylim(0, 9.2)
    axes.axis("off")

    def box(x, y, w, h, text, colour, *, size=9, weight="normal", style="-"):
        axes.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.08", facecolor=colour,
                                      edgecolor="#444", linestyle=style, linewidth=1))
        axes.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=size, weight=weight, wrap=True)

    def arrow(x, y0, y1):
        axes.add_patch(FancyArrowPatch((x, y0), (x, y1), arrowstyle="<->", mutation_scale=12, color="#444"))

    aws, yours, task = "#ffe0b2", "#e3f2fd", "#c8e6c9"
    axes.text(5.25, 8.8, "Amazon ECS", ha="center", fontsize=13, weight="bold")
    box(0.4, 6.3, 9.7, 1.9, "ECS control plane: API, cluster state, task scheduler, service scheduler\n"
        "run by AWS in the Region; no extra charge, nothing to patch or upgrade", aws)
    arrow(2.8, 6.2, 5.0)
    arrow(7.8, 6.2, 5.0)
    box(0.4, 0.5, 4.6, 4.4, "", yours)
    axes.text(2.7, 4.45, "container instance (EC2)\nor external (ECS Anywhere)", ha="center", va="center", fontsize=9)
    box(0.8, 3.05, 3.8, 0.7, "ECS container agent", "#fff", size=9)
    box(0.8, 0.9, 1.75, 1.7, "task\n(from a task\ndefinition)", task, size=8)
    box(2.85, 0.9, 1.75, 1.7, "task", task, size=8)
    box(5.5, 0.5, 4.6, 4.4, "", yours, style="--")
    axes.text(7.8, 4.45, "Fargate\n(no instance for you to manage)", ha="center", va="center", fontsize=9)
    box(6.9, 0.9, 1.8, 1.7, "task", task, size=8)

    axes.text(16.5, 8.8, "Kubernetes", ha="center", fontsize=13, weight="bold")
    box(11.6, 6.3, 9.8, 1.9, "control plane: kube-apiserver, etcd, scheduler, controller-manager\n"
        "EKS: run by AWS, fee per cluster-hour; you upgrade versions\n"
        "self-managed, EKS Anywhere, OpenShift or Tanzu on your servers: run by you", "#fff3e0")
    arrow(14.0, 6.2, 5.0)
    arrow(19.0, 6.2, 5.0)
    for x in (11.6, 16.8):
        box(x, 0.5, 4.6, 4.4, "", yours)
        axes.text(x + 2.3, 4.45, "node (EC2, VM or bare metal)", ha="center", va="center", fontsize=9)
        box(x + 0.4, 3.05, 3.8, 0.7, "kubelet", "#fff", size=9)
        box(x + 0.4, 0.9, 1.75, 1.7, "Pod\n(from a Pod\ntemplate)", task, size=8)
        box(x + 2.45, 0.9, 1.75, 1.7, "Pod", task, size=8)
    axes.plot([11.0, 11.0], [0.3, 8.9], color="#999", linewidth=1)
    return figure
