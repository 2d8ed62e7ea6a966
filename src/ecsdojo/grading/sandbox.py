"""Where a graded notebook's kernel runs: a local process, or a locked-down Docker container.

Both are ordinary Jupyter kernels that nbclient drives over ZeroMQ **IPC sockets** (files in the
submission's work folder), so no TCP port is opened.

- ``none``: ``python -m ipykernel_launcher`` with this interpreter; DOJO_HOME, IPYTHONDIR and the
  working folder point into a temporary folder. Trusts the submission.
- ``docker``: the same kernel inside a container of the course image (python3 only, no Jupyter):
  the grader's site-packages and the ecsdojo sources are mounted read-only at the same paths and put
  on PYTHONPATH, and so are the course's labs/ (LocalECS runs labs/app as processes:
  ``DOJO_RUNTIME=process``) and quizzes/; the work folder (with the IPC sockets) is the only writable mount. A module that needs a
  Docker engine of its own (module 01's plain Docker demos) is refused up front (``sandbox_refusal``). Networking is off
  (``--network none``), CPU, memory and process count are capped, the root file system is read-only,
  capabilities are dropped. ``--init`` forwards the interrupt signal that ends an over-long cell.
  Needs a Linux Docker engine (IPC sockets cannot cross a VM boundary) and an image whose python3 has
  the grader's minor version (3.11 for ecsdojo/app).

Example::

    argv = docker_kernel_argv(image="ecsdojo/app:latest", workdir=Path("/tmp/g/s1"), run_label="abc")
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RUN_LABEL = "ecsdojo.grade-run"
OWNER_LABEL = "ecsdojo.owner"
KERNEL_FLAGS = ("--HistoryManager.enabled=False", "--IPKernelApp.quiet=True")


class SandboxUnavailable(Exception):
    """The docker sandbox cannot run here."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"--sandbox docker is not available: {reason}")


@dataclass(frozen=True)
class DockerLimits:
    memory: str = "1g"
    cpus: float = 1.0
    pids: int = 256


def local_kernel_argv(python: str = sys.executable) -> list[str]:
    """The kernel command for the local sandbox (this interpreter, not whatever `python` is on PATH)."""
    return [python, "-m", "ipykernel_launcher", "-f", "{connection_file}", *KERNEL_FLAGS]


def local_kernel_env(workdir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The kernel's environment: the learner's own DOJO_HOME and IPython profile are never used."""
    env = dict(os.environ if base is None else base)
    env.update(DOJO_HOME=str(workdir / "home"), IPYTHONDIR=str(workdir / "ipython"), DOJO_GRADING="1",
               PYTHONDONTWRITEBYTECODE="1")
    return env


def package_mounts() -> list[str]:
    """Host folders the container needs (read-only): site-packages and the ecsdojo source root."""
    import ecsdojo

    folders = [Path(ecsdojo.__file__).resolve().parent.parent]
    for key in ("purelib", "platlib"):
        folders.append(Path(sysconfig.get_paths()[key]).resolve())
    unique: list[str] = []
    for folder in folders:
        if folder.is_dir() and str(folder) not in unique:
            unique.append(str(folder))
    return unique


def course_mounts() -> list[str]:
    """Course folders a graded module needs inside the container (read-only, at the same paths): labs/
    (the demo app that LocalECS's simulated runtime runs as processes, the terminal lab's files that
    module 02 reads) and the question banks."""
    import ecsdojo

    root = Path(ecsdojo.__file__).resolve().parents[2]
    return [str(folder) for folder in (root / "labs", root / "quizzes") if folder.is_dir()]


# Code that needs a Docker engine of its own: the sandbox has none (and must not: a kernel with the
# engine's socket controls the host). A module whose solutions use it is refused up front.
# (marker -> what the module does with it, for the refusal's wording)
NEEDS_DOCKER_ENGINE = {"ecsdojo.course.docker_demos": "runs plain Docker demos",
                       "ecsdojo.course.inside_task": "works inside Docker containers (ECS Exec, awsvpc localhost)"}


def sandbox_refusal(sources: Sequence[str]) -> str | None:
    """Why a module cannot be graded in the docker sandbox (None when it can), from its code cells.

    Example::

        sandbox_refusal(["from ecsdojo.course.docker_demos import DockerDemo"])   # "this module ..."
    """
    for source in sources:
        for marker, what in NEEDS_DOCKER_ENGINE.items():
            if marker in source:
                return (f"this module {what} ({marker}), which need a Docker engine; the "
                        f"sandbox gives the kernel none, so its grade there would be wrong. Grade it with "
                        f"--sandbox none on a machine you trust with the submission, or by hand")
    return None


def docker_kernel_argv(*, image: str, workdir: Path, run_label: str, mounts: Sequence[str] | None = None,
                       limits: DockerLimits = DockerLimits(), docker: str = "docker") -> list[str]:
    """A pure builder: the `docker run` command that starts one sandboxed kernel."""
    mounts = package_mounts() + course_mounts() if mounts is None else list(mounts)
    argv = [docker, "run", "--rm", "-i", "--init",
            "--network", "none",
            "--memory", limits.memory, "--memory-swap", limits.memory,
            "--cpus", f"{limits.cpus:g}", "--pids-limit", str(limits.pids),
            "--read-only", "--tmpfs", "/tmp:rw,size=256m",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--user", f"{os.getuid()}:{os.getgid()}",
            "--label", f"{OWNER_LABEL}=grading", "--label", f"{RUN_LABEL}={run_label}"]
    for folder in mounts:
        argv += ["-v", f"{folder}:{folder}:ro"]
    argv += ["-v", f"{workdir}:{workdir}:rw", "-w", str(workdir / "work")]
    python_path = [folder for folder in mounts if not folder.endswith((os.sep + "quizzes", os.sep + "labs"))]
    environment = {"PYTHONPATH": os.pathsep.join(python_path), "HOME": "/tmp", "IPYTHONDIR": "/tmp/ipython",
                   "DOJO_HOME": str(workdir / "home"), "DOJO_GRADING": "1", "PYTHONDONTWRITEBYTECODE": "1",
                   "DOJO_RUNTIME": "process"}   # LocalECS on the simulated runtime: no engine in here
    for name, value in environment.items():
        argv += ["-e", f"{name}={value}"]
    argv += ["--entrypoint", "python3", image, "-m", "ipykernel_launcher", "-f", "{connection_file}",
             *KERNEL_FLAGS]
    return argv


def require_docker(image: str) -> None:
    """Fail early, with the reason, when the docker sandbox cannot work."""
    import shutil

    if shutil.which("docker") is None:
        raise SandboxUnavailable("the `docker` command is not installed")
    try:
        import docker

        client = docker.from_env(timeout=20)
        client.images.get(image)
    except Exception as error:  # noqa: BLE001 - any failure: say what it was
        raise SandboxUnavailable(f"{type(error).__name__}: {error}") from None


def remove_containers(run_label: str) -> int:
    """Force-remove the containers of one graded submission (only ours: matched by label)."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        containers = client.containers.list(all=True, filters={"label": f"{RUN_LABEL}={run_label}"})
    except Exception:  # noqa: BLE001 - no engine, nothing to remove
        return 0
    removed = 0
    for container in containers:
        try:
            container.remove(force=True)
            removed += 1
        except Exception:  # noqa: BLE001 - already gone (--rm)
            pass
    return removed
