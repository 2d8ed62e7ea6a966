"""Never real AWS: every client reaches moto on 127.0.0.1, whatever the environment says."""

from __future__ import annotations

import socket

import pytest

from ecsdojo import cloud

REALISTIC = {
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEXAMPLETOKEN",
    "AWS_PROFILE": "production",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ENDPOINT_URL": "https://ecs.eu-west-1.amazonaws.com",
}


@pytest.fixture
def realistic_credentials(monkeypatch, tmp_path):
    for name, value in REALISTIC.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "config"
    config.write_text("[profile production]\nregion = eu-west-1\nendpoint_url = https://real.example.com\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


@pytest.fixture
def outbound_connections(monkeypatch):
    """Record every TCP connection this process opens; refuse any that is not to the loopback interface."""
    seen: list[tuple] = []
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if not isinstance(address, tuple):      # a Unix socket (the Docker engine's, say) never leaves the machine
            return real_connect(self, address)
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(address, tuple) and host not in ("127.0.0.1", "localhost", "::1"):
            raise AssertionError(f"a request tried to leave the machine: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return seen


def test_clients_reach_only_moto_despite_real_looking_credentials(realistic_credentials, outbound_connections):
    with cloud.MotoServer() as moto:
        for service in ("ecs", "application-autoscaling", "cloudwatch", "elbv2"):
            client = moto.client(service)
            assert client.meta.endpoint_url == moto.endpoint_url
            assert client._request_signer._credentials.access_key == cloud.FAKE_ACCESS_KEY_ID
        ecs = moto.client("ecs")
        arn = ecs.create_cluster(clusterName="my-cluster")["cluster"]["clusterArn"]
        assert arn == f"arn:aws:ecs:{cloud.REGION}:{cloud.ACCOUNT_ID}:cluster/my-cluster"
        assert arn in ecs.list_clusters()["clusterArns"]      # (moto is shared in-process: others may exist)
    assert outbound_connections, "the test did not observe the client's connections"
    assert {address[0] for address in outbound_connections} == {"127.0.0.1"}


def test_a_client_for_a_real_endpoint_is_refused():
    with pytest.raises(cloud.RealAWSRefusedError):
        cloud.make_client("ecs", "https://ecs.us-east-1.amazonaws.com")


def test_a_redirected_request_is_refused_before_sending():
    client = cloud.make_client("ecs", "http://127.0.0.1:9")
    client.meta.events.register_first("before-sign", _redirect_to_aws)
    with pytest.raises(cloud.RealAWSRefusedError):
        client.list_clusters()


def _redirect_to_aws(request, **_):
    request.url = "https://ecs.us-east-1.amazonaws.com/"


def test_plain_boto3_inside_pointed_at_moto_reaches_moto(realistic_credentials, outbound_connections):
    import boto3

    with cloud.MotoServer() as moto, cloud.pointed_at_moto(moto.endpoint_url):
        boto3.client("ecs").create_cluster(clusterName="from-plain-boto3")
        names = [arn.rsplit("/", 1)[1] for arn in moto.client("ecs").list_clusters()["clusterArns"]]
    assert "from-plain-boto3" in names
    import os

    assert os.environ["AWS_PROFILE"] == "production"   # restored afterwards


def test_moto_server_binds_loopback_only():
    with cloud.MotoServer() as moto:
        host = moto._server.get_host_and_port()[0]
        assert host == "127.0.0.1"
        assert moto.export_lines()[0] == f"export AWS_ENDPOINT_URL=http://127.0.0.1:{moto.port}"


@pytest.mark.parametrize("variables", [
    {"AWS_ENDPOINT_URL_ECS": "https://ecs.eu-west-1.amazonaws.com"},
    {"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
    {"AWS_ENDPOINT_URL_ECS": "https://ecs.eu-west-1.amazonaws.com", "HTTPS_PROXY": "http://10.9.9.9:3128",
     "HTTP_PROXY": "http://10.9.9.9:3128"},
], ids=["service-endpoint", "ignore-configured-endpoints", "with-a-proxy"])
def test_plain_boto3_cannot_be_steered_to_aws_by_endpoint_variables(variables, realistic_credentials, monkeypatch,
                                                                     outbound_connections):
    """Does a plain boto3.client("ecs") inside pointed_at_moto reach moto whatever endpoint variables say?"""
    import boto3

    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with cloud.MotoServer() as moto, cloud.pointed_at_moto(moto.endpoint_url):
        client = boto3.client("ecs")
        assert client.meta.endpoint_url == moto.endpoint_url
        client.create_cluster(clusterName="steered")
    assert {address[0] for address in outbound_connections} == {"127.0.0.1"}
    import os

    for name, value in variables.items():       # the learner's variables come back afterwards
        assert os.environ[name] == value


def test_plain_boto3_inside_pointed_at_moto_refuses_an_explicit_real_endpoint(realistic_credentials):
    import boto3

    with cloud.MotoServer() as moto, cloud.pointed_at_moto(moto.endpoint_url):
        client = boto3.client("ecs", endpoint_url="https://ecs.us-east-1.amazonaws.com")
        with pytest.raises(cloud.RealAWSRefusedError):
            client.list_clusters()


def test_export_lines_clear_what_could_steer_the_cli_away(monkeypatch):
    """`dojo up`'s lines unset session tokens, profiles and service endpoints, and keep proxies off loopback."""
    import subprocess

    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.example.com")
    lines = cloud.export_lines("http://127.0.0.1:4599")
    # What a shell makes of them, in a shell whose NO_PROXY already names an intranet host:
    shell = subprocess.run(["bash", "-c", "\n".join([*lines, "env"])], capture_output=True, text=True,
                           env={"NO_PROXY": "intranet.example", "AWS_SESSION_TOKEN": "x", "PATH": "/usr/bin:/bin"})
    exports = dict(line.split("=", 1) for line in shell.stdout.splitlines() if "=" in line)
    assert exports["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4599"
    assert exports["NO_PROXY"] == exports["no_proxy"] == "127.0.0.1,localhost,intranet.example"
    assert "AWS_SESSION_TOKEN" not in exports
    unset = next(line for line in lines if line.startswith("unset ")).split()[1:]
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_ECS", "AWS_ENDPOINT_URL_SQS",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        assert name in unset
    assert "AWS_ENDPOINT_URL" not in unset


def test_the_cli_environment_for_a_subprocess_drops_service_endpoints():
    env = cloud.environment_for_subprocess("http://127.0.0.1:4599",
                                           {"AWS_ENDPOINT_URL_ECS": "https://x", "PATH": "/bin", "HTTPS_PROXY": "http://p"})
    assert "AWS_ENDPOINT_URL_ECS" not in env and env["PATH"] == "/bin"
    assert env["NO_PROXY"].startswith("127.0.0.1,localhost")
