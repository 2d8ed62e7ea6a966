"""`dojo classroom image`: the learner image for Zero to JupyterHub, built offline from the project's wheelhouse.

Three steps, no registry:

1. a base image ``ecsdojo/learner-base:SUITE``: debootstrap of Debian with python3, python3-venv and git (git for
   nbgitpuller), made by the same code as the demo image's offline base (:func:`ecsdojo.images.make_local_base`);
2. the wheelhouse: ``pip wheel '.[classroom]'`` from this source tree (pip's cache or index, on the build machine);
3. ``docker build`` of ``labs/classroom/learner-image/Dockerfile``, which installs only from that wheelhouse.

A second run with nothing changed compares a content hash and returns at once.

Example::

    build_learner_image(progress=print)     # "ecsdojo/learner:0.1.0"
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from ecsdojo import __version__, images

__all__ = ["build_learner_image", "LEARNER_IMAGE", "LEARNER_BASE_REPOSITORY", "LearnerImageError"]

LEARNER_IMAGE = f"ecsdojo/learner:{__version__}"
LEARNER_BASE_REPOSITORY = "ecsdojo/learner-base"
BASE_PACKAGES = (*images.DEBIAN_PACKAGES, "python3", "python3-venv", "git", "ca-certificates")
SOURCE_TREE = Path(__file__).resolve().parents[3]
DOCKERFILE = SOURCE_TREE / "labs" / "classroom" / "learner-image" / "Dockerfile"
# What the image holds from the source tree (the package, its notebooks, quiz banks and demo app).
SOURCE_PARTS = ("pyproject.toml", "README.md", "src", "notebooks", "quizzes", "labs/app")
HASH_LABEL = "ecsdojo.context-hash"


class LearnerImageError(RuntimeError):
    """The learner image could not be built; the message says which step failed and why."""


def _docker(*words: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *words], capture_output=True, text=True, timeout=timeout)


def _image_label(image: str, label: str) -> str | None:
    done = _docker("image", "inspect", "--format", f"{{{{index .Config.Labels \"{label}\"}}}}", image)
    return done.stdout.strip() if done.returncode == 0 else None


def _content_hash(base_id: str) -> str:
    digest = hashlib.sha256(base_id.encode() + DOCKERFILE.read_bytes())
    for part in SOURCE_PARTS:
        root = SOURCE_TREE / part
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts or ".egg-info" in str(path):
                continue
            digest.update(str(path.relative_to(SOURCE_TREE)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _ensure_base(progress) -> str:
    _, suite = images.debian_mirror_and_suite()
    name = f"{LEARNER_BASE_REPOSITORY}:{suite}"
    if _docker("image", "inspect", name).returncode == 0:
        return name
    import docker

    return images.make_local_base(docker.from_env(timeout=600), progress=progress, packages=BASE_PACKAGES,
                                  repository=LEARNER_BASE_REPOSITORY)


def _wheel_python() -> Path:
    """A pip for the base image's Python: the machine's Debian python3 is the same release as the debootstrapped
    base (same suite), so the wheels it resolves install there (the project's own interpreter may be newer, and
    pip would pick wheels the base's Python refuses). A small venv of it, made once."""
    venv = Path("/var/tmp/ecsdojo-wheelhouse-venv")
    python = venv / "bin" / "python"
    if not python.exists():
        done = subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], capture_output=True, text=True)
        if done.returncode != 0:
            raise LearnerImageError(f"/usr/bin/python3 -m venv {venv} failed: {done.stderr.strip()} "
                                    "(Debian: apt-get install python3-venv)")
    return python


def _requirements() -> list[str]:
    import tomllib

    project = tomllib.loads((SOURCE_TREE / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["classroom"], "setuptools>=68", "wheel"]


def _wheelhouse(progress) -> Path:
    """The dependencies' wheels, kept per requirement set in /var/tmp (a code change does not re-make them)."""
    requirements = _requirements()
    key = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:12]
    wheelhouse = Path("/var/tmp") / f"ecsdojo-wheelhouse-{key}"
    if (wheelhouse / ".complete").exists():
        return wheelhouse
    progress("  making the wheelhouse: pip wheel of the dependencies (from pip's cache where it can)")
    partial = wheelhouse.with_name(wheelhouse.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    done = subprocess.run([str(_wheel_python()), "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(partial),
                           *requirements], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise LearnerImageError(f"pip wheel failed:\n{done.stderr.strip()[-2000:]}")
    (partial / ".complete").write_text("\n".join(requirements))
    shutil.rmtree(wheelhouse, ignore_errors=True)
    partial.rename(wheelhouse)
    return wheelhouse


def build_learner_image(*, force: bool = False, progress=print) -> str:
    """Build ``ecsdojo/learner:VERSION`` unless it is up to date; returns its name."""
    if shutil.which("docker") is None or _docker("version").returncode != 0:
        raise LearnerImageError("no Docker engine answers: the learner image is built on the root engine")
    base = _ensure_base(progress)
    base_id = _docker("image", "inspect", "--format", "{{.Id}}", base).stdout.strip()
    wanted = _content_hash(base_id)
    if not force and _image_label(LEARNER_IMAGE, HASH_LABEL) == wanted:
        progress(f"✓ {LEARNER_IMAGE} is up to date")
        return LEARNER_IMAGE
    with tempfile.TemporaryDirectory(prefix="ecsdojo-learner-image-", dir="/var/tmp") as workdir:
        context = Path(workdir)
        shutil.copyfile(DOCKERFILE, context / "Dockerfile")
        for part in SOURCE_PARTS:
            source, target = SOURCE_TREE / part, context / "src" / part
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            else:
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        shutil.copytree(_wheelhouse(progress), context / "wheels")
        progress(f"  building {LEARNER_IMAGE} on {base} from {len(list((context / 'wheels').glob('*.whl')))} wheels")
        done = _docker("build", "--quiet", "--build-arg", f"BASE_IMAGE={base}", "--label", f"{HASH_LABEL}={wanted}",
                       "--tag", LEARNER_IMAGE, str(context))
        if done.returncode != 0:
            raise LearnerImageError(f"docker build of {LEARNER_IMAGE} failed:\n{done.stderr.strip()[-3000:]}")
    progress(f"✓ built {LEARNER_IMAGE}")
    return LEARNER_IMAGE
