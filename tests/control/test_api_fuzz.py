"""Fuzzing the ECS API surface LocalECS implements (issue 14): RegisterTaskDefinition, CreateService, UpdateService
and RunTask (and ListTasks, DescribeServices) through boto3, with inputs drawn from botocore's own shapes for those
operations.

Each example starts from a valid request and replaces some of its members with values hypothesis draws from the
member's shape in the API model (so most are well-typed but arbitrary: unknown enum strings, negative or huge
integers, odd strings, nested structures), and sometimes with a wrongly typed value or a missing required member
(botocore refuses those client-side). The engine must answer every one the way AWS can:
- success, or
- a botocore ClientError with HTTP status < 500 and an error code the API model lists for that operation (not
  ServerException), on the first attempt (a 4xx is not retried), or
- a ParamValidationError raised client-side;
and never an HTTP 500, a traceback in the engine's log, or a hang (the client's read timeout is short).

Runs on the fake runtime (no Docker). Bounded: `EXAMPLES` examples per operation, no deadline.
"""

from __future__ import annotations

import logging
import os
import string
from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ecsdojo.cloud import make_client
from ecsdojo.control.local import LocalECS
from ecsdojo.runtime.fake import FakeRuntime

# CI runs a fixed, bounded set; ECSDOJO_FUZZ_EXAMPLES=500 ECSDOJO_FUZZ_RANDOM=1 searches further by hand.
EXAMPLES = int(os.environ.get("ECSDOJO_FUZZ_EXAMPLES", "50"))
DERANDOMIZE = os.environ.get("ECSDOJO_FUZZ_RANDOM") != "1"
MODEL = botocore.session.get_session().get_service_model("ecs")
CLUSTER = "fuzz"
FAMILY = "fuzz-td"
SERVICE = "fuzz-svc"

# Integers: small ones (most rules sit there), edges, and extremes of a 32-bit BoxedInteger.
INTEGERS = st.one_of(st.integers(-3, 130), st.sampled_from([0, 1, 10, 11, 50, 51, 65535, 65536, -2**31, 2**31 - 1]))
TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_:/.@#!$ ", max_size=24)


def shape_strategy(shape, depth: int = 0) -> st.SearchStrategy[Any]:
    """A well-typed value of a botocore shape (structures: a random subset of members, required ones always)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return st.fixed_dictionaries({})
        required = set(shape.required_members)
        members = {name: shape_strategy(member, depth + 1) for name, member in shape.members.items()
                   if name in required}
        optional = {name: shape_strategy(member, depth + 1) for name, member in shape.members.items()
                    if name not in required}
        return st.fixed_dictionaries(members, optional=optional)
    if kind == "list":
        return st.lists(shape_strategy(shape.member, depth + 1), max_size=3 if depth else 4)
    if kind == "map":
        return st.dictionaries(TEXT.filter(bool), shape_strategy(shape.value, depth + 1), max_size=3)
    if kind == "string":
        if shape.enum:
            return st.one_of(st.sampled_from(list(shape.enum)), TEXT)
        return TEXT
    if kind in ("integer", "long"):
        return INTEGERS
    if kind == "boolean":
        return st.booleans()
    if kind in ("double", "float"):
        return st.floats(-1e6, 1e6, allow_nan=False)
    if kind == "timestamp":
        return st.datetimes()
    if kind == "blob":
        return st.binary(max_size=16)
    raise AssertionError(f"unhandled shape type {kind}")


def wrongly_typed(shape) -> st.SearchStrategy[Any]:
    """A value botocore's parameter validation refuses for `shape` (a ParamValidationError, client-side)."""
    if shape.type_name in ("integer", "long", "double", "float"):
        return st.just("not-a-number")
    if shape.type_name == "boolean":
        return st.just("yes")
    if shape.type_name in ("list", "map", "structure"):
        return st.just(42)
    return st.just(["a", "list"])


def request_strategy(operation: str, base: dict[str, Any], *, fuzzable: tuple[str, ...]) -> st.SearchStrategy:
    """`base` with some of `fuzzable` members drawn from their shapes; sometimes one wrongly typed or dropped."""
    members = MODEL.operation_model(operation).input_shape.members

    required = list(MODEL.operation_model(operation).input_shape.required_members)

    @st.composite
    def build(draw):
        request = dict(base)
        chosen = draw(st.lists(st.sampled_from(fuzzable), max_size=3, unique=True))
        for name in chosen:
            request[name] = draw(shape_strategy(members[name]))
        mode = draw(st.sampled_from(["shaped"] * 7 + ["wrong-type", "drop-required", "drop-member"]))
        if mode == "wrong-type":
            name = draw(st.sampled_from(fuzzable))
            request[name] = draw(wrongly_typed(members[name]))
        elif mode == "drop-required" and required:       # botocore refuses it client-side
            request.pop(draw(st.sampled_from(required)), None)
        elif mode == "drop-member":         # optional in the model, yet needed (CreateService's taskDefinition)
            request.pop(draw(st.sampled_from(sorted(base))), None)
        event(f"mode: {mode}")
        return request

    return build()


class TracebackCatcher(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(record)


@pytest.fixture(scope="module")
def engine():
    catcher = TracebackCatcher()
    logging.getLogger("ecsdojo").addHandler(catcher)
    try:
        with LocalECS(speed=100, runtime=FakeRuntime(), load_balancers=False) as local:
            # one attempt (a 500 must show, not be retried away), a short read timeout (a hang must fail)
            ecs = make_client("ecs", local.cli_environment()["AWS_ENDPOINT_URL"],
                              config=Config(retries={"max_attempts": 1, "mode": "standard"}, read_timeout=20,
                                            connect_timeout=5))
            ecs.create_cluster(clusterName=CLUSTER)
            ecs.register_task_definition(family=FAMILY, containerDefinitions=[
                {"name": "web", "image": "ecsdojo/app:latest", "memory": 64,
                 "portMappings": [{"containerPort": 8080, "hostPort": 0}]}])
            ecs.create_service(cluster=CLUSTER, serviceName=SERVICE, taskDefinition=FAMILY, desiredCount=0)
            yield ecs, catcher
    finally:
        logging.getLogger("ecsdojo").removeHandler(catcher)


def answered_like_aws(operation: str, call, catcher: TracebackCatcher) -> Any:
    allowed = {shape.name for shape in MODEL.operation_model(operation).error_shapes} - {"ServerException"}
    before = len(catcher.records)
    try:
        result = call()
        event(f"{operation}: accepted")
    except ParamValidationError:
        event(f"{operation}: ParamValidationError (client-side)")
        result = None
    except ClientError as error:
        response = error.response
        event(f"{operation}: {response['Error']['Code']}")
        status = response["ResponseMetadata"]["HTTPStatusCode"]
        assert status < 500, f"{operation} answered HTTP {status}: {response['Error']}"
        assert response["Error"]["Code"] in allowed, f"{operation}: {response['Error']} is not in the model"
        assert response["Error"].get("Message"), f"{operation}: an error without a message"
        result = None
    new = catcher.records[before:]
    assert not new, f"{operation} logged a traceback: {new[0].getMessage()}"
    return result


FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
                         suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                HealthCheck.data_too_large])

CONTAINER_SHAPE = MODEL.shape_for("ContainerDefinition")


@FUZZ_SETTINGS
@given(params=request_strategy(
    "RegisterTaskDefinition",
    {"family": "fuzz-reg", "containerDefinitions": [{"name": "web", "image": "ecsdojo/app:latest", "memory": 64}]},
    fuzzable=("family", "containerDefinitions", "networkMode", "cpu", "memory", "requiresCompatibilities",
              "tags", "pidMode", "ipcMode", "volumes", "placementConstraints", "runtimePlatform")),
       container=shape_strategy(CONTAINER_SHAPE, depth=1))
def test_register_task_definition_answers_every_input_like_aws(engine, params, container):
    ecs, catcher = engine
    if isinstance(params.get("containerDefinitions"), list) and params["containerDefinitions"] == []:
        params["containerDefinitions"] = [container]       # a shaped container, not only an empty list
    answered_like_aws("RegisterTaskDefinition", lambda: ecs.register_task_definition(**params), catcher)


@FUZZ_SETTINGS
@given(params=request_strategy(
    "CreateService",
    {"cluster": CLUSTER, "serviceName": "fuzz-new", "taskDefinition": FAMILY, "desiredCount": 0},
    fuzzable=("serviceName", "taskDefinition", "desiredCount", "launchType", "deploymentConfiguration",
              "placementConstraints", "placementStrategy", "networkConfiguration", "healthCheckGracePeriodSeconds",
              "schedulingStrategy", "tags", "capacityProviderStrategy", "loadBalancers", "propagateTags")))
def test_create_service_answers_every_input_like_aws(engine, params):
    ecs, catcher = engine
    created = answered_like_aws("CreateService", lambda: ecs.create_service(**params), catcher)
    if created is not None:         # keep the cluster small: scale the new service away again
        name = created["service"]["serviceName"]
        ecs.update_service(cluster=CLUSTER, service=name, desiredCount=0)
        ecs.delete_service(cluster=CLUSTER, service=name, force=True)


@FUZZ_SETTINGS
@given(params=request_strategy(
    "UpdateService",
    {"cluster": CLUSTER, "service": SERVICE},
    fuzzable=("desiredCount", "taskDefinition", "deploymentConfiguration", "forceNewDeployment",
              "placementConstraints", "placementStrategy", "networkConfiguration", "healthCheckGracePeriodSeconds",
              "capacityProviderStrategy", "service")))
def test_update_service_answers_every_input_like_aws(engine, params):
    ecs, catcher = engine
    answered_like_aws("UpdateService", lambda: ecs.update_service(**params), catcher)
    ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=0)


@FUZZ_SETTINGS
@given(params=request_strategy(
    "RunTask",
    {"cluster": CLUSTER, "taskDefinition": FAMILY},
    fuzzable=("count", "taskDefinition", "launchType", "overrides", "placementConstraints", "placementStrategy",
              "networkConfiguration", "startedBy", "group", "tags", "capacityProviderStrategy", "propagateTags")))
def test_run_task_answers_every_input_like_aws(engine, params):
    ecs, catcher = engine
    started = answered_like_aws("RunTask", lambda: ecs.run_task(**params), catcher)
    for task in (started or {}).get("tasks", []):
        ecs.stop_task(cluster=CLUSTER, task=task["taskArn"])


@FUZZ_SETTINGS
@given(params=request_strategy(
    "ListTasks", {"cluster": CLUSTER},
    fuzzable=("desiredStatus", "family", "serviceName", "startedBy", "launchType", "containerInstance",
              "maxResults")))
def test_list_tasks_answers_every_input_like_aws(engine, params):
    ecs, catcher = engine
    answered_like_aws("ListTasks", lambda: ecs.list_tasks(**params), catcher)


@FUZZ_SETTINGS
@given(params=request_strategy("DescribeServices", {"cluster": CLUSTER, "services": [SERVICE]},
                               fuzzable=("services", "include")),
       more=st.lists(TEXT, max_size=14))
def test_describe_services_answers_every_input_like_aws(engine, params, more):
    ecs, catcher = engine
    if isinstance(params.get("services"), list):
        params["services"] = params["services"] + more     # past the 10-name limit, sometimes
    answered_like_aws("DescribeServices", lambda: ecs.describe_services(**params), catcher)


def test_the_engine_logged_no_traceback_while_fuzzed(engine):
    """Syncs run after the calls returned: their failures would show here (runs after the fuzz tests above)."""
    ecs, catcher = engine
    assert ecs.describe_clusters(clusters=[CLUSTER])["clusters"][0]["status"] == "ACTIVE"
    assert not catcher.records, [record.getMessage() for record in catcher.records]
