"""The demo image, built with or without a registry.

`dojo images build` makes ``ecsdojo/app:<version>`` (and ``:latest``) from ``labs/app/Dockerfile``. Its base:

1. ``python:3.12-slim`` when it is already present or a registry answers a pull;
2. otherwise a local base made offline: ``debootstrap --variant=minbase`` of Debian with python3 from the
   machine's configured Debian mirror, trimmed of docs and caches, then ``docker import`` as ``ecsdojo/base:SUITE``.

It says which path it took. A second run with nothing changed only compares a content hash (seconds).

Example::

    result = build_images(progress=print)
    result.app_image   # "ecsdojo/app:0.1.0"
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecsdojo import __version__

APP_REPOSITORY = "ecsdojo/app"
APP_IMAGE = f"{APP_REPOSITORY}:{__version__}"
APP_IMAGE_LATEST = f"{APP_REPOSITORY}:latest"
REGISTRY_BASE = "python:3.12-slim"
LOCAL_BASE_REPOSITORY = "ecsdojo/base"
HASH_LABEL = "ecsdojo.context-hash"
BASE_LABEL = "ecsdojo.base-image"
DEBIAN_PACKAGES = ("python3-minimal", "libpython3-stdlib")
TRIM_PATHS = ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/cache/apt",
              "var/lib/apt/lists", "var/log")

Progress = Callable[[str], None]


def app_context() -> Path:
    """labs/app in the source tree (the package is installed editable from the repository)."""
    override = os.environ.get("DOJO_APP_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "labs" / "app"


class ImageBuildError(Exception):
    """The demo image could not be built; the message says why and what to do."""


class NoEngineError(ImageBuildError):
    def __init__(self, detail: str) -> None:
        super().__init__(f"no Docker engine answers ({detail}). Start Docker Desktop, or on Debian/Ubuntu: "
                         f"sudo apt-get install docker.io && sudo systemctl start docker")


class DebootstrapMissingError(ImageBuildError):
    def __init__(self, detail: str = "") -> None:
        super().__init__("no registry answers and `debootstrap` is not installed, so no base image can be made "
                         "offline. Run: sudo apt-get install -y debootstrap   (or load a python:3.12-slim image: "
                         "docker load -i python-3.12-slim.tar)" + (f" [{detail}]" if detail else ""))


def ensure_debootstrap(*, progress: Progress, run=subprocess.run, which=shutil.which,
                       is_root: bool | None = None) -> None:
    """debootstrap on PATH, installing it from the machine's Debian/Ubuntu mirror when we are root (as `.ci/run`
    did before): the README's `make test` then works on a fresh Debian machine without a manual step."""
    if which("debootstrap"):
        return
    is_root = (os.geteuid() == 0) if is_root is None else is_root
    if not is_root or not which("apt-get"):
        raise DebootstrapMissingError()
    progress("  debootstrap is missing: installing it with apt-get (Debian package `debootstrap`) ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "debootstrap"]
    result = run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:        # an old or empty package list: refresh it once
        run(["apt-get", "update", "-qq"], env=env, capture_output=True, text=True)
        result = run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not which("debootstrap"):
        said = (result.stderr or result.stdout or "").strip().splitlines()
        raise DebootstrapMissingError(f"apt-get said: {said[-1]}" if said else "apt-get failed")


@dataclass(frozen=True)
class BuildResult:
    app_image: str
    base_image: str
    base_path: str          # "present" | "registry" | "local-existing" | "debootstrap"
    rebuilt: bool
    seconds: float


def context_hash(context: Path, base_image_id: str) -> str:
    """A hash of everything the build depends on: the context's files and the base image."""
    digest = hashlib.sha256(base_image_id.encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(context)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def debian_mirror_and_suite() -> tuple[str, str]:
    """The machine's configured Debian mirror and release (defaults: deb.debian.org, bookworm)."""
    suite = "bookworm"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME=") and line.split("=", 1)[1].strip():
                suite = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    mirror = "http://deb.debian.org/debian"
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources")) if Path("/etc/apt/sources.list.d").exists() else []
    for source in sources:
        match = re.search(r"^URIs:\s*(\S+)", source.read_text(), re.MULTILINE)
        if match and "security" not in match.group(1):
            return match.group(1), suite
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and "security" not in parts[1]:
                return parts[1], suite
    return mirror, suite


def _engine():
    import docker

    try:
        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except Exception as error:  # noqa: BLE001 - any failure means no engine
        raise NoEngineError(str(error)) from error


def engine_answers() -> bool:
    try:
        _engine()
        return True
    except NoEngineError:
        return False


def _image_or_none(client, name: str):
    import docker.errors

    try:
        return client.images.get(name)
    except docker.errors.ImageNotFound:
        return None


def _try_pull(client, name: str, progress: Progress) -> bool:
    import docker.errors

    progress(f"  trying the registry for {name} ...")
    try:
        client.images.pull(name)
        return True
    except docker.errors.APIError as error:
        progress(f"  no registry answers ({str(error).splitlines()[0][:120]})")
        return False


def make_local_base(client, *, progress: Progress, packages: tuple[str, ...] = DEBIAN_PACKAGES,
                    repository: str = LOCAL_BASE_REPOSITORY) -> str:
    """debootstrap a minimal Debian with python3 (and `packages`), trim it, `docker import` it; returns its name."""
    ensure_debootstrap(progress=progress)
    mirror, suite = debian_mirror_and_suite()
    name = f"{repository}:{suite}"
    progress(f"  making a local base image offline: debootstrap {suite} from {mirror} (about a minute)")
    with tempfile.TemporaryDirectory(prefix="ecsdojo-rootfs-", dir="/var/tmp") as workdir:
        rootfs = Path(workdir) / "rootfs"
        command = ["debootstrap", "--variant=minbase", f"--include={','.join(packages)}", suite,
                   str(rootfs), mirror]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        steps = 0
        tail: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            tail = (tail + [line.rstrip()])[-15:]
            if line.startswith("I: "):
                steps += 1
                if steps % 20 == 0 or any(word in line for word in ("Retrieving Release", "Installing core",
                                                                     "Configuring the base", "successfully")):
                    progress(f"    [{steps:3d}] {line[3:].strip()}")
        if process.wait() != 0:
            raise ImageBuildError("debootstrap failed:\n" + "\n".join(tail))
        for relative in TRIM_PATHS:
            target = rootfs / relative
            if target.is_dir():
                for child in target.iterdir():
                    shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        archive = Path(workdir) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
        progress(f"  importing {archive.stat().st_size // 2**20} MiB as {name}")
        client.api.import_image(src=str(archive), repository=name.split(":")[0], tag=name.split(":")[1],
                                changes=["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                         f"LABEL {BASE_LABEL}=debootstrap-{suite}"])
    return name


def choose_base(client, *, offline: bool, progress: Progress) -> tuple[str, str]:
    """(base image name, how it was obtained)."""
    if _image_or_none(client, REGISTRY_BASE) is not None:
        return REGISTRY_BASE, "present"
    _, suite = debian_mirror_and_suite()
    local = f"{LOCAL_BASE_REPOSITORY}:{suite}"
    if _image_or_none(client, local) is not None:
        return local, "local-existing"
    if not offline and _try_pull(client, REGISTRY_BASE, progress):
        return REGISTRY_BASE, "registry"
    return make_local_base(client, progress=progress), "debootstrap"


def build_images(*, offline: bool | None = None, force: bool = False, progress: Progress = print) -> BuildResult:
    """Build the demo image when it is missing or its inputs changed."""
    started = time.monotonic()
    if offline is None:
        offline = os.environ.get("DOJO_OFFLINE", "") not in ("", "0")
    client = _engine()
    context = app_context()
    if not (context / "Dockerfile").exists():
        raise ImageBuildError(f"{context / 'Dockerfile'} is missing")
    base, how = choose_base(client, offline=offline, progress=progress)
    base_id = client.images.get(base).id
    wanted = context_hash(context, base_id)
    existing = _image_or_none(client, APP_IMAGE)
    if existing is not None and not force and existing.labels.get(HASH_LABEL) == wanted:
        if APP_IMAGE_LATEST not in existing.tags:
            existing.tag(APP_REPOSITORY, "latest")
        progress(f"✓ {APP_IMAGE} is up to date (base {base}, {how})")
        return BuildResult(APP_IMAGE, base, how, False, time.monotonic() - started)
    progress(f"  building {APP_IMAGE} from {context / 'Dockerfile'} on {base} ({how})")
    try:
        image, _ = client.images.build(path=str(context), tag=APP_IMAGE, buildargs={"BASE_IMAGE": base},
                                       labels={HASH_LABEL: wanted, BASE_LABEL: base}, rm=True, pull=False)
    except Exception as error:  # noqa: BLE001 - docker.errors.BuildError and APIError alike
        raise ImageBuildError(f"building {APP_IMAGE} failed: {error}") from error
    image.tag(APP_REPOSITORY, "latest")
    progress(f"✓ built {APP_IMAGE} (and {APP_IMAGE_LATEST}) on {base} via {how} "
             f"in {time.monotonic() - started:.1f}s")
    return BuildResult(APP_IMAGE, base, how, True, time.monotonic() - started)


def demo_image_problem() -> str | None:
    """Why the labs' Docker runs cannot start now (no engine, or the demo image not built), or None.

    Benchmarks ask this first: they never pull from a registry, and a missing image is a sentence with the
    fix, not a docker.errors.APIError traceback from a pull attempt."""
    try:
        client = _engine()
    except NoEngineError as error:
        return str(error)
    if _image_or_none(client, APP_IMAGE_LATEST) is None:
        return (f"the demo image {APP_IMAGE_LATEST} is not built on this engine: run `dojo images build` first "
                f"(offline; about a minute the first time)")
    return None


def app_image_present() -> bool:
    try:
        return _image_or_none(_engine(), APP_IMAGE) is not None
    except NoEngineError:
        return False


# ---- CLI -------------------------------------------------------------------------------------------
def _build_command(args) -> int:
    if args.if_engine and not engine_answers():
        print("no Docker engine answers: skipping the image build (labs will use simulated containers)")
        return 0
    try:
        build_images(offline=args.offline or None, force=args.force, progress=lambda line: print(line, flush=True))
    except ImageBuildError as error:
        print(f"✗ {error}")
        return 1
    return 0


def _list_command(args) -> int:
    try:
        client = _engine()
    except NoEngineError as error:
        print(f"✗ {error}")
        return 1
    for image in client.images.list(name=APP_REPOSITORY) + client.images.list(name=LOCAL_BASE_REPOSITORY):
        print(f"{', '.join(image.tags):40s} {image.short_id}  base={image.labels.get(BASE_LABEL, '-')}")
    return 0


def register(commands) -> None:
    images = commands.add("images", help="build or list the demo service image (no registry needed)")
    sub = images.add_subparsers(dest="images_command", metavar="ACTION", required=True)
    build = sub.add_parser("build", help="build ecsdojo/app from labs/app/Dockerfile")
    build.add_argument("--if-engine", action="store_true", help="do nothing (exit 0) when no Docker engine answers")
    build.add_argument("--offline", action="store_true", help="do not try a registry; make the base with debootstrap")
    build.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    build.set_defaults(handler=_build_command)
    listing = sub.add_parser("list", help="list the course's images")
    listing.set_defaults(handler=_list_command)
