"""Module 10 (inside a task): look at a task from inside its containers, and read what the engine really did.

Everything here runs through ECS Exec (`local.exec`, i.e. `aws ecs execute-command`), so it needs a task started
with `enableExecuteCommand=True` on the Docker runtime; the simulated runtime has no ECS Exec and no shared
localhost between a task's containers, which is why module 10 is in course.DOCKER_ONLY_MODULES.

The demo image (labs/app) is standard library only: it has no boto3 and no AWS CLI. So `read_object_as_task`
does what the SDK would do, split in two honest halves: inside the container it fetches the task role's
credentials from `$AWS_CONTAINER_CREDENTIALS_FULL_URI` and later sends the request to `$AWS_ENDPOINT_URL` (the
task's relay to the AWS APIs, where IAM is enforced); in the notebook's kernel botocore signs that request
(SigV4, `S3SigV4Auth`) with those credentials — we use botocore rather than hand-made signing code. The request
that reaches S3 therefore carries the task role's credentials and comes from inside the task, as on ECS.

Example::

    local = start_on_docker()
    out = run_python(local, task, "import os; print(os.environ['DB_PASSWORD'])")
    read_object_as_task(local, task, "reports", "q1.txt")      # ("AccessDenied", "") or ("ok", "revenue up")
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from ecsdojo.course.docker_demos import NoDockerEngine

__all__ = ["start_on_docker", "run_python", "container_environment", "task_credentials", "read_object_as_task",
           "started_at", "depends_on", "running_task", "task_record", "TRUST_ECS_TASKS"]

# The trust policy of every ECS task role and task execution role: the ecs-tasks service may assume it
# (Amazon ECS Developer Guide, "Amazon ECS task IAM role" / "Amazon ECS task execution IAM role").
TRUST_ECS_TASKS = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def start_on_docker(**options: Any) -> Any:
    """A started LocalECS on the Docker runtime; NoDockerEngine (with the fix) when no engine answers."""
    from ecsdojo.control.local import LocalECS
    from ecsdojo.images import engine_answers

    if not engine_answers():
        raise NoDockerEngine("no Docker engine answered", module="10",
                             why="works inside real containers (ECS Exec, one localhost per awsvpc task)")
    return LocalECS(runtime="docker", **options).start()


def run_python(local: Any, task: Any, code: str, *, container: str | None = None) -> tuple[int, str]:
    """(exit code, output) of `python3 -c CODE` run inside the task's container through ECS Exec."""
    encoded = base64.b64encode(code.encode()).decode()
    command = f"python3 -c \"import base64; exec(base64.b64decode('{encoded}'))\""
    result = local.exec(task, command, container=container)
    return result.exit_code, result.output.strip()


def container_environment(local: Any, task: Any, *, container: str | None = None) -> dict[str, str]:
    """The environment variables the container's processes see (what ECS gave it)."""
    code, out = run_python(local, task, "import json, os; print(json.dumps(dict(os.environ)))", container=container)
    if code != 0:
        raise RuntimeError(f"could not read the container's environment: {out}")
    return json.loads(out.splitlines()[-1])


_CREDENTIALS = """
import os, urllib.request
uri = os.environ.get('AWS_CONTAINER_CREDENTIALS_FULL_URI')
print(urllib.request.urlopen(uri, timeout=5).read().decode() if uri else '{}')
"""


def task_credentials(local: Any, task: Any, *, container: str | None = None) -> dict[str, str]:
    """What the container gets from its credentials endpoint ({} for a task without a task role)."""
    code, out = run_python(local, task, _CREDENTIALS, container=container)
    if code != 0:
        raise RuntimeError(f"the credentials endpoint did not answer: {out}")
    return json.loads(out.splitlines()[-1])


_SEND = """
import json, sys, urllib.error, urllib.request
request = json.loads(sys.argv[1] if len(sys.argv) > 1 else {payload!r})
try:
    with urllib.request.urlopen(urllib.request.Request(request['url'], headers=request['headers']), timeout=10) as r:
        print(json.dumps([r.status, r.read().decode(errors='replace')]))
except urllib.error.HTTPError as error:
    print(json.dumps([error.code, error.read().decode(errors='replace')]))
"""


def read_object_as_task(local: Any, task: Any, bucket: str, key: str, *, container: str | None = None
                        ) -> tuple[str, str]:
    """("ok", the object's text), or (S3's error code, "") — a GetObject made from inside the task with the task
    role's credentials, as boto3 in the container would make it. ("NoCredentials", "") without a task role."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    environment = container_environment(local, task, container=container)
    credentials = task_credentials(local, task, container=container)
    if not credentials.get("AccessKeyId"):
        return "NoCredentials", ""
    url = f"{environment['AWS_ENDPOINT_URL']}/{bucket}/{key}"
    request = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials.get("Token")),
                "s3", environment.get("AWS_REGION", "us-east-1")).add_auth(request)
    headers = {name: value for name, value in request.headers.items()}
    code, out = run_python(local, task, _SEND.format(payload=json.dumps({"url": url, "headers": headers})),
                           container=container)
    if code != 0:
        raise RuntimeError(f"the request from inside the task failed: {out}")
    status, body = json.loads(out.splitlines()[-1])
    if status == 200:
        return "ok", body
    found = re.search(r"<Code>([^<]+)</Code>", body)
    return (found.group(1) if found else f"HTTP {status}"), ""


def running_task(local: Any, cluster: str, family: str) -> Any:
    """The RUNNING task (record) of a task definition family started last (newest revision first), or None."""
    tasks = [t for t in local.tasks(cluster) if t.last_status == "RUNNING"
             and t.task_definition_arn.split("/")[-1].rsplit(":", 1)[0] == family]
    if not tasks:
        return None
    return max(tasks, key=lambda t: (int(t.task_definition_arn.rsplit(":", 1)[1]), t.created_at.timestamp() if t.created_at else 0.0, t.arn))


def task_record(local: Any, cluster: str, task_arn: str) -> Any:
    """The engine's record of one task (what run_python and the other helpers take), or None."""
    return next((t for t in local.tasks(cluster) if t.arn == task_arn), None)


def started_at(local: Any, task: Any, container: str) -> Any:
    """When the runtime started that container of the task (the engine's own timestamp), or None."""
    for record in task.containers:
        if record.name == container and record.runtime_id:
            state = local.runtime.inspect(record.runtime_id)
            return state.started_at if state else None
    return None


def depends_on(local: Any, task_definition: str, container: str) -> list[dict[str, str]]:
    """The dependsOn list of one container of a registered task definition (from the API)."""
    body = local.client("ecs").describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    for definition in body["containerDefinitions"]:
        if definition["name"] == container:
            return list(definition.get("dependsOn") or [])
    return []
