"""`dojo bench classroom --learners K`: what one learner costs on this server, as one JSON line.

It makes K bench learners (``dojobench01``…), starts a real classroom hub on 127.0.0.1, spawns each learner's
server through the REST API one after another (spawn time = POST until the hub reports the server ready: engine
start, image load, nbgitpuller, JupyterLab start), then measures every process of each learner — their server,
kernels, rootless engine (rootlesskit, slirp4netns, dockerd, containerd) and containers, i.e. every process whose
uid is the learner's or in their subordinate range:

- idle: servers up, nothing running, after a short settle;
- active: each learner in turn runs module 04 (the solved notebook, headless, in their server's own environment)
  while the others stay idle; memory is that learner's sampled peak, CPU the CPU time they used / wall time
  (100 = one core); both averaged over the K learners.

RSS double-counts pages shared between processes (the interpreter, libraries), so ``pss_*`` (proportional set
size, from /proc/PID/smaps_rollup) is given beside it. Processes that exit between samples are missed by the CPU
figure (it is a lower bound). The bench learners and their homes are removed afterwards unless ``--keep``.

Example::

    sudo dojo bench classroom --learners 5
    {"bench": "classroom", "learners": 5, "spawn_p50_s": 5.4, ...}
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

__all__ = ["bench_command", "learner_usage", "LearnerUsage"]

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
MODULE = "04_auto_healing.ipynb"


class LearnerUsage:
    """Resident memory and CPU time of every process belonging to one learner (uid or subordinate range)."""

    def __init__(self, rss_bytes: int = 0, pss_bytes: int = 0, cpu_s: float = 0.0, processes: int = 0) -> None:
        self.rss_bytes, self.pss_bytes, self.cpu_s, self.processes = rss_bytes, pss_bytes, cpu_s, processes


def _subordinate_range(name: str) -> tuple[int, int]:
    for line in Path("/etc/subuid").read_text().splitlines():
        parts = line.split(":")
        if len(parts) == 3 and parts[0] == name:
            return int(parts[1]), int(parts[1]) + int(parts[2])
    return (0, 0)


def learner_usage(owners: dict[str, tuple[int, tuple[int, int]]]) -> dict[str, LearnerUsage]:
    """{learner: usage} from one pass over /proc; ``owners`` maps a learner to (uid, subordinate range)."""
    usage = {name: LearnerUsage() for name in owners}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            status = Path(entry.path, "status").read_text()
            uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
            owner = next((name for name, (own, (low, high)) in owners.items() if uid == own or low <= uid < high),
                         None)
            if owner is None:
                continue
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            rss = int(fields[21]) * PAGE
            cpu = (int(fields[11]) + int(fields[12])) / TICKS
            pss = 0
            try:
                for line in Path(entry.path, "smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss = int(line.split()[1]) * 1024
                        break
            except OSError:
                pass
        except (OSError, ValueError, StopIteration, IndexError):
            continue            # the process ended while we looked
        item = usage[owner]
        item.rss_bytes += rss
        item.pss_bytes += pss
        item.cpu_s += cpu
        item.processes += 1
    return usage


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _run_module(hub, account, source: Path) -> dict:
    """Run the solved module headless as the learner, in their server's environment; returns its outcome."""
    pid = hub.client.server_pid(account.name)
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
    target = account.home / f"bench-{MODULE}"
    shutil.copyfile(source, target)
    os.chown(target, account.uid, account.gid)
    started = time.monotonic()
    done = subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace", "--allow-errors",
                           "--ExecutePreprocessor.timeout=300", str(target)],
                          user=account.uid, group=account.gid, extra_groups=[], env=env, cwd=account.home,
                          capture_output=True, text=True, timeout=1800)
    errors = []
    try:
        for cell in json.loads(target.read_text())["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    errors.append(f"{output.get('ename')}: {str(output.get('evalue'))[:120]}")
    except (OSError, ValueError):
        errors.append("the executed notebook could not be read")
    return {"seconds": time.monotonic() - started, "returncode": done.returncode, "errors": errors}


def run_bench(*, learners: int, state_dir: Path, venv: Path | None, keep: bool, progress=print) -> dict:
    from ecsdojo.classroom.accounts import AccountError, find_account, remove_account
    from ecsdojo.classroom.engine import LearnerEngine
    from ecsdojo.classroom.hub import HubSettings, free_port, start_hub, stop_hub
    from ecsdojo.classroom.room import SOURCE_TREE, prepare_classroom
    from ecsdojo.classroom.roster import numbered_learners

    roster = numbered_learners(learners, prefix="dojobench")
    room = prepare_classroom(roster, state_dir=state_dir, venv=venv, progress=progress)
    owners = {a.name: (a.uid, _subordinate_range(a.name)) for a in room.accounts}
    hub = start_hub(HubSettings(state_dir=str(state_dir), learner_python=str(room.learner_python),
                                learners=tuple(owners), port=free_port()))
    result: dict = {"bench": "classroom", "learners": learners}
    try:
        spawns = []
        for account in room.accounts:
            spawns.append(hub.client.spawn(account.name))
            progress(f"  {account.name}: ready in {spawns[-1]:.1f} s")
        time.sleep(5)       # let JupyterLab finish its start-up work before the idle sample
        idle = learner_usage(owners)
        source = SOURCE_TREE / "solutions" / MODULE
        # One learner active at a time (the machine's rule: one notebook run at a time), the others idle:
        # each active figure is that learner's own peak memory and CPU share while module 04 runs.
        active_rss, active_pss, active_cpu, outcomes, walls = [], [], [], {}, []
        for account in room.accounts:
            mine = {account.name: owners[account.name]}
            before = learner_usage(mine)[account.name]
            holder: dict = {}
            thread = threading.Thread(target=lambda: holder.update(_run_module(hub, account, source)))
            started = time.monotonic()
            thread.start()
            peak_rss = peak_pss = 0
            cpu_seen = before.cpu_s
            while thread.is_alive():
                sample = learner_usage(mine)[account.name]
                peak_rss, peak_pss = max(peak_rss, sample.rss_bytes), max(peak_pss, sample.pss_bytes)
                cpu_seen = max(cpu_seen, sample.cpu_s)
                time.sleep(0.5)
            wall = time.monotonic() - started
            walls.append(wall)
            active_rss.append(peak_rss)
            active_pss.append(peak_pss)
            active_cpu.append((cpu_seen - before.cpu_s) / wall)
            outcomes[account.name] = holder
            progress(f"  {account.name}: module 04 in {wall:.0f} s, peak RSS {peak_rss / 2**20:.0f} MiB, "
                     f"{len(holder.get('errors', []))} cell error(s)")
        mib = 2**20
        result.update({
            "spawn_p50_s": round(statistics.median(spawns), 2),
            "spawn_p95_s": round(_percentile(spawns, 0.95), 2),
            "spawn_max_s": round(max(spawns), 2),
            "rss_idle_mib_per_learner": round(sum(u.rss_bytes for u in idle.values()) / learners / mib, 1),
            "pss_idle_mib_per_learner": round(sum(u.pss_bytes for u in idle.values()) / learners / mib, 1),
            "rss_active_mib_per_learner": round(statistics.mean(active_rss) / mib, 1),
            "pss_active_mib_per_learner": round(statistics.mean(active_pss) / mib, 1),
            "cpu_active_pct_per_learner": round(100 * statistics.mean(active_cpu), 1),
            "active_module": MODULE,
            "active_wall_s_mean": round(statistics.mean(walls), 1),
            "module_cells_failed": {name: len(o["errors"]) for name, o in outcomes.items()},
            "module_errors_sample": next((o["errors"][:3] for o in outcomes.values() if o["errors"]), []),
            "host_cores": os.cpu_count(),
        })
        per_learner_mib = max(result["rss_active_mib_per_learner"], 1)
        per_learner_cores = max(result["cpu_active_pct_per_learner"] / 100, 0.01)
        result["learners_per_16_cores_64_gib"] = int(min(64 * 1024 * 0.9 / per_learner_mib,
                                                         16 / per_learner_cores))
    finally:
        stop_hub(state_dir)
        for name in owners:
            try:
                account = find_account(name)
            except AccountError:
                continue
            LearnerEngine(account).stop()
            if not keep:
                remove_account(name)
    return result


def bench_command(args) -> int:
    from ecsdojo.classroom.accounts import AccountError
    from ecsdojo.classroom.engine import EngineError
    from ecsdojo.classroom.hub import HubError

    try:
        result = run_bench(learners=args.learners, state_dir=Path(args.state_dir),
                           venv=Path(args.venv) if getattr(args, "venv", None) else None, keep=args.keep,
                           progress=lambda line: print(line, file=__import__("sys").stderr, flush=True))
    except (AccountError, EngineError, HubError) as error:
        print(f"✗ {error}", file=__import__("sys").stderr)
        return 1
    print(json.dumps(result))
    return 0
