"""Service deployments (control/ecs/deployments.py) as the service reconciler moves them, one sync at a time.

Fakes only (tests/control/fakes.py): the store, the fake runtime, a fake desired-state reader; no moto, no Docker.
"""

from __future__ import annotations

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.ecs import deployments
from ecsdojo.control.store import new_deployment_id
from ecsdojo.runtime.base import ImageNotFoundError
from tests.control.fakes import make_engine


def settle(engine, name="web", rounds=4):
    """Sync the service and run its tasks until nothing changes (the stability window waited out)."""
    for _ in range(rounds):
        engine.services.sync(engine.cluster, name)
        engine.run_all_tasks()
        engine.queue.clear()
        engine.clock.advance(31)           # past the rollout's 30 ECS seconds of stability (speed 1)
    engine.services.sync(engine.cluster, name)


def created_service(engine, *, desired=2, **settings):
    record = engine.service("web", desired=desired, **settings)
    first = deployments.open_service_deployment(record, record.primary, clock=engine.clock)
    return record, first


def update(engine, record, definition):
    """What UpdateService does with a new task definition: a new PRIMARY deployment and its service deployment."""
    old = record.primary
    old.status = "ACTIVE"
    record.deployments.insert(0, r.Deployment(id=new_deployment_id(), task_definition_arn=definition.arn,
                                              desired_count=old.desired_count, launch_type="EC2",
                                              created_at=engine.clock.now()))
    engine.desired.set_service_task_definition(engine.cluster, record.name, definition.arn)
    return deployments.open_service_deployment(record, record.primary, clock=engine.clock)


def test_does_a_rolling_update_go_from_in_progress_to_successful_with_source_and_target_revisions():
    engine = make_engine()
    record, first = created_service(engine)
    assert first.status == "IN_PROGRESS" and first.source_revision_ids == []
    settle(engine)
    assert first.status == "SUCCESSFUL" and first.finished_at is not None

    old = record.primary
    second = update(engine, record, engine.desired.add_definition("web"))
    assert [d.status for d in record.service_deployments] == ["IN_PROGRESS", "SUCCESSFUL"]
    assert second.source_revision_ids == [old.revision_id] and second.target_revision_id != old.revision_id
    engine.services.sync("demo", "web")                 # the new tasks start, none RUNNING yet
    body = deployments.describe(record, second)
    assert body["status"] == "IN_PROGRESS" and "lifecycleStage" not in body      # ROLLING shows no stages
    assert body["targetServiceRevision"]["requestedTaskCount"] == 2
    assert body["sourceServiceRevisions"][0]["runningTaskCount"] == 2
    assert body["deploymentConfiguration"]["strategy"] == "ROLLING"
    settle(engine)
    assert second.status == "SUCCESSFUL"
    body = deployments.describe(record, second)
    assert body["targetServiceRevision"]["runningTaskCount"] == 2
    assert body["sourceServiceRevisions"][0]["runningTaskCount"] == 0
    arn = deployments.service_deployment_arn(record.arn, second)
    assert arn == f"arn:aws:ecs:us-east-1:123456789012:service-deployment/demo/web/{second.id}"
    assert deployments.brief(record, second)["clusterArn"] == "arn:aws:ecs:us-east-1:123456789012:cluster/demo"


def test_does_a_newer_update_stop_the_service_deployment_it_replaces():
    engine = make_engine()
    record, first = created_service(engine)
    settle(engine)
    second = update(engine, record, engine.desired.add_definition("web"))
    third = update(engine, record, engine.desired.add_definition("web"))
    assert second.status == "STOPPED" and second.status_reason == events.service_deployment_superseded_reason(third.id)
    assert third.status == "IN_PROGRESS" and first.status == "SUCCESSFUL"


def test_does_a_circuit_breaker_rollback_move_the_same_service_deployment_to_rollback_successful():
    engine = make_engine()
    record, _ = created_service(engine, circuit_breaker_enable=True, circuit_breaker_rollback=True)
    settle(engine)
    good = record.primary
    broken = engine.desired.add_definition("web", image="ecsdojo/missing:1")
    engine.runtime.fail_image("ecsdojo/missing:1", ImageNotFoundError("ecsdojo/missing:1"))
    failing = update(engine, record, broken)
    assert failing.circuit_breaker_status == "MONITORING"
    for _ in range(3):                       # start → fail to start → counted, until the breaker trips
        engine.services.sync("demo", "web")
        engine.run_all_tasks()
        engine.queue.clear()
    engine.services.sync("demo", "web")
    assert failing.status == "ROLLBACK_IN_PROGRESS" and failing.circuit_breaker_status == "TRIGGERED"
    assert failing.rollback_revision_id == good.revision_id
    assert record.primary.revision_id == good.revision_id, "a rollback creates no new service revision"
    assert len(record.service_deployments) == 2, "a rollback is a step of the failing service deployment"
    settle(engine)
    assert failing.status == "ROLLBACK_SUCCESSFUL"
    body = deployments.describe(record, failing)
    assert body["rollback"]["reason"] == events.CIRCUIT_BREAKER_FAILED_REASON
    assert body["rollback"]["serviceRevisionArn"] == deployments.revision_arn(record.arn, good.revision_id)
    assert body["deploymentCircuitBreaker"]["status"] == "TRIGGERED"
    assert body["deploymentCircuitBreaker"]["failureCount"] >= 3
    assert body["deploymentCircuitBreaker"]["threshold"] == 3


def test_does_a_circuit_breaker_without_rollback_stop_the_service_deployment():
    engine = make_engine()
    record, _ = created_service(engine, circuit_breaker_enable=True, circuit_breaker_rollback=False)
    settle(engine)
    engine.runtime.fail_image("ecsdojo/missing:1", ImageNotFoundError("ecsdojo/missing:1"))
    failing = update(engine, record, engine.desired.add_definition("web", image="ecsdojo/missing:1"))
    for _ in range(4):
        engine.services.sync("demo", "web")
        engine.run_all_tasks()
        engine.queue.clear()
    assert failing.status == "STOPPED" and failing.status_reason == events.CIRCUIT_BREAKER_FAILED_REASON
