# JupyterHub configuration for an ECS Dojo classroom on one server (`dojo classroom up` starts the hub with it).
# Everything binds to 127.0.0.1: put a TLS reverse proxy (nginx, Caddy) in front to serve a room; see
# labs/INSTRUCTOR.md. The per-run settings (ports, learners, paths, the instructor's API token) come from the JSON
# file `dojo classroom up` writes; this file says how the hub is built from them.
import json
import os
import shutil

settings = json.load(open(os.environ["DOJO_CLASSROOM_SETTINGS"]))
state = settings["state_dir"]
learner_bin = os.path.dirname(settings["learner_python"])
c = get_config()  # noqa: F821 - provided by JupyterHub when it loads this file

# --- where things listen: all on loopback ------------------------------------------------------------------
c.JupyterHub.bind_url = f"http://127.0.0.1:{settings['port']}"          # the proxy's public side
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings['hub_port']}"  # the hub's own API, for the proxy
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [settings["proxy_command"] or shutil.which("configurable-http-proxy")]
c.Spawner.ip = "127.0.0.1"

# --- state: the hub's database, cookie secret and log live in the classroom's folder ------------------------
c.JupyterHub.db_url = f"sqlite:///{state}/hub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/hub/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/hub/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True     # `dojo classroom down` stops every learner server (homes are kept)

# --- who may log in: the roster's Unix accounts, checked by PAM (JupyterHub's default authenticator) ---------
c.JupyterHub.authenticator_class = "pam"
instructors = list(settings.get("instructors") or [])
c.Authenticator.allowed_users = set(settings["learners"]) | set(instructors)
c.PAMAuthenticator.open_sessions = False   # no systemd-logind session per login (containers have none)

# --- what a learner gets: their own JupyterLab, engine, progress store and copy of the course ---------------
c.JupyterHub.spawner_class = "ecsdojo.classroom.spawner.LearnerSpawner"
c.LearnerSpawner.state_dir = state
c.LearnerSpawner.learner_python = settings["learner_python"]
c.Spawner.cmd = [os.path.join(learner_bin, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab/tree/ecs-dojo/00_start_here.ipynb"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 90
# Memory and CPU limits: LocalProcessSpawner does not enforce Spawner.mem_limit / cpu_limit (JupyterHub's docs:
# they are for spawners that support them, e.g. SystemdSpawner on cgroup v2, or Kubernetes). The rootless engines
# cannot enforce container limits on a cgroup v1 host either; `dojo doctor` says which applies. See INSTRUCTOR.md.

# --- idle learners: jupyterhub-idle-culler stops their servers (the spawner then stops their engine) --------
c.JupyterHub.services = [
    {"name": "idle-culler",
     "command": [os.path.join(learner_bin, "python"), "-m", "jupyterhub_idle_culler",
                 f"--timeout={settings['idle_timeout_s']}",
                 f"--cull-every={max(10, min(60, settings['idle_timeout_s'] // 2))}"]},
    {"name": "dojo-classroom", "api_token": settings["api_token"]},
    # the live class dashboard (ecsdojo/classroom/dashboard.py): HUB/services/dojo-dashboard/, hub login, OAuth
    {"name": "dojo-dashboard", "url": f"http://127.0.0.1:{settings.get('dashboard_port') or 0}",
     "command": [settings["learner_python"], "-m", "ecsdojo.classroom.dashboard", "--state-dir", state],
     "oauth_no_confirm": True, "display": True, "timeout": 60},   # start-up imports take >10 s on a busy host
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "services": ["idle-culler"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
    {"name": "dojo-classroom", "services": ["dojo-classroom"],
     "scopes": ["admin:users", "admin:servers", "admin:server_state", "list:users", "read:users",
                "access:servers", "list:services", "read:services"]},
    # instructors may open the dashboard (learners have only the default `user` role: scope `self`); admins have
    # every scope already
    {"name": "dojo-instructor", "users": instructors,
     "scopes": ["self", "access:services!service=dojo-dashboard", "list:users", "read:users:activity"]},
]
