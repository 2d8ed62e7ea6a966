"""moto's lifecycle and every boto3 client the course uses: the no-real-AWS guard.

Every client is built here, pointed at a moto server bound to 127.0.0.1, with fake credentials and
no proxies, whatever credentials, profiles or endpoint variables the learner's environment holds.

Example::

    with MotoServer() as moto:
        ecs = moto.client("ecs")
        ecs.create_cluster(clusterName="my-cluster")
        moto.cli_environment()   # {"AWS_ENDPOINT_URL": "http://127.0.0.1:PORT", ...} for the AWS CLI
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import boto3
import botocore.session
from botocore.config import Config

ACCOUNT_ID = "123456789012"          # moto's account
REGION = "us-east-1"
FAKE_ACCESS_KEY_ID = "testing"
FAKE_SECRET_ACCESS_KEY = "testing"
LOOPBACK = "127.0.0.1"

# Environment variables that could steer a client away from moto; our sessions ignore all of them, and
# LocalECS / `dojo up` remove them (with every AWS_ENDPOINT_URL_<SERVICE>, see `steering_variables`) for plain
# boto3 and the AWS CLI. https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
STEERING_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                      "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE",
                      "AWS_SHARED_CREDENTIALS_FILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
                      "AWS_CA_BUNDLE")
SERVICE_ENDPOINT_PREFIX = "AWS_ENDPOINT_URL_"
# The services the course uses: `dojo up`'s export lines unset their AWS_ENDPOINT_URL_<SERVICE> variables
# (a shell cannot unset by prefix). Names as in the SDK reference's service-specific endpoint table.
COURSE_SERVICE_ENDPOINT_VARIABLES = tuple(SERVICE_ENDPOINT_PREFIX + name for name in (
    "ECS", "ELASTIC_LOAD_BALANCING_V2", "CLOUDWATCH", "CLOUDWATCH_LOGS", "APPLICATION_AUTO_SCALING", "IAM",
    "STS", "SSM", "SECRETS_MANAGER", "CLOUDFORMATION", "EC2", "S3"))
# Loopback traffic never goes through a proxy (HTTPS_PROXY would otherwise carry moto calls of plain boto3
# and the AWS CLI to it).
NO_PROXY_HOSTS = "127.0.0.1,localhost"


def steering_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """The variables of `environ` (default os.environ) that could send an AWS call anywhere but moto."""
    environ = os.environ if environ is None else environ
    return [name for name in environ if name in STEERING_VARIABLES or name.startswith(SERVICE_ENDPOINT_PREFIX)]


def _no_proxy(environ: Mapping[str, str]) -> str:
    current = [host for host in (environ.get("NO_PROXY") or environ.get("no_proxy") or "").split(",") if host]
    return ",".join(dict.fromkeys([*NO_PROXY_HOSTS.split(","), *current]))


class RealAWSRefusedError(Exception):
    """A request was about to leave this machine; ECS Dojo only ever talks to moto on 127.0.0.1."""

    def __init__(self, url: str) -> None:
        super().__init__(f"refused to send a request to {url}: ECS Dojo only talks to moto on {LOOPBACK}")


def _isolated_botocore_session() -> botocore.session.Session:
    """A botocore session that reads no environment variable and no ~/.aws file."""
    session = botocore.session.Session(session_vars={
        # name: (config-file key, environment variable, default, conversion) — no env, no file
        "profile": (None, None, None, None),
        "config_file": (None, None, os.devnull, None),
        "credentials_file": (None, None, os.devnull, None),
        "region": (None, None, REGION, None),
    })
    session.set_credentials(FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY)
    # Ignore AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> and services sections of config files.
    session.set_config_variable("ignore_configured_endpoint_urls", True)
    return session


def _refuse_non_loopback(request: Any, **_: Any) -> None:
    host = urlparse(request.url).hostname
    if host not in (LOOPBACK, "localhost"):
        raise RealAWSRefusedError(request.url)


def make_client(service: str, endpoint_url: str, *, region: str = REGION, config: Config | None = None) -> Any:
    """A boto3 client for `service` that can only reach `endpoint_url` on the loopback interface.

    `config` is merged over the defaults (e.g. ``Config(parameter_validation=False)`` for fuzzing)."""
    host = urlparse(endpoint_url).hostname
    if host not in (LOOPBACK, "localhost"):
        raise RealAWSRefusedError(endpoint_url)
    session = boto3.session.Session(botocore_session=_isolated_botocore_session(), region_name=region)
    client = session.client(service, endpoint_url=endpoint_url, region_name=region,
                            aws_access_key_id=FAKE_ACCESS_KEY_ID, aws_secret_access_key=FAKE_SECRET_ACCESS_KEY,
                            config=Config(proxies={}, retries={"max_attempts": 2, "mode": "standard"},
                                          connect_timeout=5, read_timeout=60, inject_host_prefix=False)
                            .merge(config or Config()))
    client.meta.events.register_first("before-send", _refuse_non_loopback)
    return client


def cli_environment(endpoint_url: str, *, region: str = REGION,
                    environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables that point the AWS CLI (and plain boto3) at moto, and keep proxies off loopback."""
    environ = os.environ if environ is None else environ
    no_proxy = _no_proxy(environ)
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": region,
        # Some operations prepend a host prefix to the endpoint (StartLiveTail: "stream-"), which would turn
        # 127.0.0.1 into a host that does not resolve; botocore's own switch turns that off.
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "NO_PROXY": no_proxy,
        "no_proxy": no_proxy,
    }


def export_lines(endpoint_url: str, *, region: str = REGION) -> list[str]:
    """Shell lines for another terminal: the moto variables, loopback kept off any proxy (the shell's own
    NO_PROXY kept), and `unset` of everything that could steer the AWS CLI away from moto."""
    variables = cli_environment(endpoint_url, region=region, environ={})
    unset = sorted({*STEERING_VARIABLES, *COURSE_SERVICE_ENDPOINT_VARIABLES, *steering_variables()} - set(variables))
    lines = [f"export {name}={value}" for name, value in variables.items() if name.lower() != "no_proxy"]
    lines += [f'export NO_PROXY="{NO_PROXY_HOSTS}${{NO_PROXY:+,$NO_PROXY}}"', 'export no_proxy="$NO_PROXY"',
              f"unset {' '.join(unset)}"]
    return lines


@contextmanager
def pointed_at_moto(endpoint_url: str, *, region: str = REGION) -> Iterator[None]:
    """Within the block, plain `boto3.client("ecs")` in this process also reaches moto (and only moto)."""
    pointed = cli_environment(endpoint_url, region=region)
    saved = {name: os.environ.get(name) for name in (*STEERING_VARIABLES, *steering_variables(), *pointed)}
    try:
        for name in steering_variables():
            os.environ.pop(name, None)
        os.environ.update(pointed)
        # Plain boto3.client(...) uses boto3's default session: it gets the same loopback-only guard.
        boto3.setup_default_session(region_name=region)
        boto3.DEFAULT_SESSION.events.register_first("before-send", _refuse_non_loopback)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        boto3.DEFAULT_SESSION = None


class MotoServer:
    """moto's server on 127.0.0.1, in a thread of this process (so the control plane shares its state)."""

    def __init__(self, *, port: int = 0, region: str = REGION) -> None:
        self.region = region
        self._requested_port = port
        self._server: Any = None
        self._lock = threading.Lock()
        self._hidden_profiles: dict[str, str] = {}

    def start(self) -> MotoServer:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        with self._lock:
            if self._server is None:
                # moto itself builds boto3 sessions in this process: a learner's AWS_PROFILE would break it.
                self._hidden_profiles = {name: os.environ.pop(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
                                         if name in os.environ}
                logging.getLogger("werkzeug").setLevel(logging.ERROR)
                server = ThreadedMotoServer(ip_address=LOOPBACK, port=self._requested_port, verbose=False)
                server.start()
                self._server = server
        return self

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
                os.environ.update(self._hidden_profiles)
                self._hidden_profiles = {}

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the moto server is not started")
        return self._server.get_host_and_port()[1]

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def client(self, service: str) -> Any:
        return make_client(service, self.endpoint_url, region=self.region)

    def cli_environment(self) -> dict[str, str]:
        return cli_environment(self.endpoint_url, region=self.region)

    def export_lines(self) -> list[str]:
        return export_lines(self.endpoint_url, region=self.region)


def environment_for_subprocess(endpoint_url: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of `base` (default: os.environ) without steering variables, pointed at moto."""
    base = os.environ if base is None else base
    steering = set(steering_variables(base))
    env = {k: v for k, v in base.items() if k not in steering}
    env.update(cli_environment(endpoint_url, environ=base))
    return env
