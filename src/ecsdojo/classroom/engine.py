"""Each learner's own Docker engine: Docker's rootless mode, started as the learner, socket in their runtime folder.

Rootless mode is Docker's own way to run the daemon as an ordinary user (``dockerd-rootless.sh``, shipped by
Debian's ``docker.io`` in ``/usr/share/docker.io/contrib``; it needs ``rootlesskit``, ``uidmap`` for
``newuidmap``/``newgidmap``, ``slirp4netns`` and a ``/dev/net/tun`` that users may open), see
https://docs.docker.com/engine/security/rootless/. The engine and its containers run under the learner's uid and
subordinate ids, its socket is ``/run/user/UID/docker.sock`` inside a mode-0700 folder, so another learner can
neither reach the socket nor signal its processes. Published ports are bound on the host's 127.0.0.1 by
RootlessKit's port driver.

Caveat, not hidden: on a cgroup v1 host a rootless engine runs **without cgroups** ("Running in rootless-mode
without cgroups", ``docker info``), so ``--memory`` and ``--cpus`` are not enforced; ``dojo doctor`` says so.

The demo image is not rebuilt per learner: the root engine saves it once to a shared archive
(:func:`save_image_archive`) and each learner engine loads it (:meth:`LearnerEngine.load_image`).

We drive the ``docker`` CLI as the learner (a subprocess with the learner's uid) instead of the Docker SDK:
every call must run *as that learner*, and the SDK lives in one process with root's rights.

Example::

    engine = LearnerEngine(find_account("learner01"))
    engine.start()                    # about 2-3 s; idempotent
    engine.load_image(archive)        # once per engine; skipped when the same image is there
    engine.stop()                     # removes ECS Dojo's containers, then stops the daemon
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ecsdojo.classroom.accounts import Account

__all__ = ["LearnerEngine", "EngineError", "cgroup_v2", "NO_CGROUP_DATA_LIMIT_BYTES", "ROOTLESS_SCRIPT", "rootless_prerequisites", "save_image_archive",
           "read_image_archive",
           "ImageArchive"]

ROOTLESS_SCRIPT_CANDIDATES = ("/usr/bin/dockerd-rootless.sh", "/usr/share/docker.io/contrib/dockerd-rootless.sh")
ROOTLESS_SCRIPT = next((path for path in ROOTLESS_SCRIPT_CANDIDATES if Path(path).exists()),
                       ROOTLESS_SCRIPT_CANDIDATES[-1])
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PID_FILE = "ecsdojo-engine.pid"
# Without cgroups (rootless on cgroup v1) `--memory` is not enforced, and the demo app's /oom endpoint would grow
# until the *host* runs out of memory. A per-process data-segment limit (RLIMIT_DATA, which covers malloc and
# private mmaps since Linux 4.7; setrlimit(2)) keeps every container of a learner engine below this size: the app
# then gets a MemoryError instead of being OOM-killed. Not an ECS behaviour: a guard for the host.
NO_CGROUP_DATA_LIMIT_BYTES = 128 * 2**20
MANAGED_FILTER = "label=ecsdojo.managed"


class EngineError(RuntimeError):
    """A learner engine did not start, load or stop; the message ends with the tail of its log."""


def cgroup_v2() -> bool:
    """True on a unified (v2) cgroup hierarchy, where rootless engines can enforce limits (with delegation)."""
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


def rootless_prerequisites() -> list[str]:
    """What is missing for rootless engines on this machine (empty when ready), each with its fix."""
    missing = []
    if not Path(ROOTLESS_SCRIPT).exists():
        missing.append("dockerd-rootless.sh (Debian: apt-get install docker.io)")
    for tool, package in (("rootlesskit", "rootlesskit"), ("newuidmap", "uidmap"), ("slirp4netns", "slirp4netns")):
        if shutil.which(tool, path=SYSTEM_PATH) is None:
            missing.append(f"{tool} (Debian: apt-get install {package})")
    tun = Path("/dev/net/tun")
    if not tun.exists():
        missing.append("/dev/net/tun (load the tun module)")
    elif tun.stat().st_mode & 0o006 != 0o006:
        missing.append("/dev/net/tun must be readable and writable by users (chmod 0666 /dev/net/tun)")
    return missing


@dataclass(frozen=True)
class ImageArchive:
    path: Path
    image_id: str
    tags: tuple[str, ...]


def save_image_archive(directory: Path, *, tags: tuple[str, ...]) -> ImageArchive:
    """`docker save` the demo image from the root engine once, readable by every learner (skipped when current)."""
    directory.mkdir(parents=True, exist_ok=True)
    inspect = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", tags[0]],
                             capture_output=True, text=True)
    if inspect.returncode != 0:
        raise EngineError(f"{tags[0]} is not on the root engine ({inspect.stderr.strip()}): run `dojo images build`")
    image_id = inspect.stdout.strip()
    archive = directory / "app-image.tar"
    stamp = directory / "app-image.json"
    try:
        recorded = json.loads(stamp.read_text())
        if recorded.get("id") == image_id and tuple(recorded.get("tags", ())) == tags and archive.exists():
            return ImageArchive(archive, image_id, tags)
    except (OSError, ValueError):
        pass
    partial = archive.with_suffix(".tar.partial")
    done = subprocess.run(["docker", "save", "-o", str(partial), *tags], capture_output=True, text=True)
    if done.returncode != 0:
        raise EngineError(f"docker save {' '.join(tags)} failed: {done.stderr.strip()}")
    os.chmod(partial, 0o644)
    partial.replace(archive)
    stamp.write_text(json.dumps({"id": image_id, "tags": list(tags)}))
    os.chmod(stamp, 0o644)
    return ImageArchive(archive, image_id, tags)


class LearnerEngine:
    """One learner's rootless dockerd, driven as that learner."""

    def __init__(self, account: Account) -> None:
        self.account = account

    # ---- paths and environment ------------------------------------------------------------------------
    @property
    def socket(self) -> Path:
        return self.account.runtime_dir / "docker.sock"

    @property
    def docker_host(self) -> str:
        return self.account.docker_host

    @property
    def log_path(self) -> Path:
        return self.account.home / ".ecsdojo-engine.log"

    def environment(self) -> dict[str, str]:
        """What a process of this learner needs to reach (only) this engine."""
        return {"HOME": str(self.account.home), "USER": self.account.name, "LOGNAME": self.account.name,
                "XDG_RUNTIME_DIR": str(self.account.runtime_dir), "DOCKER_HOST": self.docker_host,
                "PATH": SYSTEM_PATH}

    def _as_learner(self, command: list[str], *, timeout: float = 120, check: bool = True,
                    ) -> subprocess.CompletedProcess:
        done = subprocess.run(command, user=self.account.uid, group=self.account.gid, extra_groups=[],
                              env=self.environment(), cwd=self.account.home, capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise EngineError(f"{self.account.name}: `{' '.join(command[:3])} …` failed: "
                              f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    def docker(self, *words: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        """Run the docker CLI as the learner, against their engine."""
        return self._as_learner(["docker", "--host", self.docker_host, *words], timeout=timeout, check=check)

    # ---- lifecycle ------------------------------------------------------------------------------------
    def answers(self) -> bool:
        if not self.socket.exists():
            return False
        return self.docker("version", "--format", "{{.Server.Version}}", timeout=10, check=False).returncode == 0

    def pid(self) -> int | None:
        try:
            pid = int((self.account.runtime_dir / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self, *, timeout: float = 60.0) -> None:
        """Start the engine as the learner unless it already answers; wait until it does."""
        if self.answers():
            return
        missing = rootless_prerequisites()
        if missing:
            raise EngineError("rootless Docker engines need: " + "; ".join(missing))
        self.stop()     # a half-dead engine (stale socket or pid) from an earlier run
        options = [] if cgroup_v2() else ["--default-ulimit",
                                          f"data={NO_CGROUP_DATA_LIMIT_BYTES}:{NO_CGROUP_DATA_LIMIT_BYTES}"]
        log = open(self.log_path, "ab")
        os.chown(self.log_path, self.account.uid, self.account.gid)
        try:
            # dockerd-rootless.sh execs rootlesskit, so this pid is rootlesskit's: SIGTERM to it stops dockerd.
            process = subprocess.Popen([ROOTLESS_SCRIPT, *options], user=self.account.uid, group=self.account.gid,
                                       extra_groups=[], env=self.environment(), cwd=self.account.home,
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        finally:
            log.close()
        (self.account.runtime_dir / PID_FILE).write_text(str(process.pid))
        deadline = time.monotonic() + timeout
        while not self.answers():
            if process.poll() is not None:
                raise EngineError(f"{self.account.name}'s engine exited with {process.returncode}; "
                                  f"its log:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise EngineError(f"{self.account.name}'s engine did not answer within {timeout:g} s; "
                                  f"its log:\n{self._log_tail()}")
            time.sleep(0.2)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def remove_course_containers(self) -> int:
        """Remove every ECS Dojo container on this engine (labelled ecsdojo.managed); returns how many."""
        if not self.answers():
            return 0
        ids = self.docker("ps", "--all", "--quiet", "--filter", MANAGED_FILTER).stdout.split()
        if ids:
            self.docker("rm", "--force", *ids, timeout=120)
        return len(ids)

    def stop(self, *, timeout: float = 30.0) -> None:
        """Remove the course's containers, then stop the daemon (SIGTERM to rootlesskit). Homes are untouched."""
        try:
            self.remove_course_containers()
        except (EngineError, subprocess.TimeoutExpired):
            pass        # the daemon is going away anyway; it stops its containers on shutdown
        pid = self.pid()
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + timeout
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _running(pid):
                os.killpg(pid, signal.SIGKILL)
        for name in (PID_FILE, "docker.pid", "docker.sock"):
            try:
                (self.account.runtime_dir / name).unlink()
            except FileNotFoundError:
                pass
            except IsADirectoryError:
                pass

    # ---- the demo image -------------------------------------------------------------------------------
    def image_id(self, tag: str) -> str | None:
        done = self.docker("image", "inspect", "--format", "{{.Id}}", tag, check=False, timeout=30)
        return done.stdout.strip() if done.returncode == 0 else None

    def load_image(self, archive: ImageArchive) -> bool:
        """`docker load` the shared archive into this engine unless the same image is there; True when loaded."""
        if all(self.image_id(tag) == archive.image_id for tag in archive.tags):
            return False
        self.docker("load", "--quiet", "--input", str(archive.path), timeout=300)
        return True


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (our own child not yet reaped) counts as gone
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            os.waitpid(pid, os.WNOHANG)
            return False
    except (OSError, IndexError, ChildProcessError):
        pass
    return True


def read_image_archive(directory: Path) -> ImageArchive:
    """The archive :func:`save_image_archive` wrote in ``directory``."""
    try:
        recorded = json.loads((directory / "app-image.json").read_text())
    except (OSError, ValueError) as error:
        raise EngineError(f"{directory / 'app-image.json'}: no saved demo image ({error}); "
                          "run `dojo classroom up`, which saves it") from error
    return ImageArchive(directory / "app-image.tar", recorded["id"], tuple(recorded["tags"]))
