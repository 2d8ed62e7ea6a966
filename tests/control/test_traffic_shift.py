"""BLUE_GREEN, LINEAR and CANARY deployments (control/ecs/traffic.py) one service sync at a time, on fakes: which
tasks start and stop, which listener weights are written, which lifecycle stage the service deployment shows."""

from __future__ import annotations

from ecsdojo.control import events
from ecsdojo.control import records as r
from ecsdojo.control.ecs import deployments
from ecsdojo.control.store import new_deployment_id
from tests.control.fakes import make_engine

RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lb/1/2/3"
TEST_RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/1/test"


def shifting_service(engine, **settings):
    """A service on tg-blue whose first deployment completed, with a traffic-shifting strategy."""
    settings = {"production_listener_rule": RULE, "alternate_target_group": "tg-green", **settings}
    record = engine.service("web", desired=2, target_group="tg-blue", **settings)
    deployments.open_service_deployment(record, record.primary, clock=engine.clock)
    for _ in range(3):
        engine.services.sync("demo", "web")
        engine.run_all_tasks()
    assert record.service_deployments[0].status == "SUCCESSFUL"
    assert engine.desired.forward_weights == [], "a first deployment has no blue: nothing to shift"
    engine.queue.clear()
    return record


def update(engine, record):
    definition = engine.desired.add_definition("web")
    old = record.primary
    old.status = "ACTIVE"
    record.deployments.insert(0, r.Deployment(id=new_deployment_id(), task_definition_arn=definition.arn,
                                              desired_count=2, launch_type="EC2", created_at=engine.clock.now()))
    engine.desired.set_service_task_definition("demo", "web", definition.arn)
    return old, deployments.open_service_deployment(record, record.primary, clock=engine.clock)


def step(engine):
    engine.services.sync("demo", "web")
    engine.run_all_tasks()
    engine.queue.clear()


def tasks_of(engine, deployment):
    return [t for t in engine.service_tasks() if t.deployment_id == deployment.id]


def green_up_and_healthy(engine, record, shift):
    """Sync until green runs; its targets turn healthy (what the balancer would write); returns green's tasks."""
    step(engine)
    assert shift.lifecycle_stage == "SCALE_UP"
    green = tasks_of(engine, record.primary)
    step(engine)
    assert [t.last_status for t in green] == ["RUNNING", "RUNNING"]
    assert shift.lifecycle_stage == "SCALE_UP", "not before green's targets are healthy"
    for task in green:
        engine.store.target_health[task.id] = "healthy"
    return green


def test_does_blue_green_shift_all_production_traffic_after_green_is_healthy_bake_then_remove_blue():
    engine = make_engine()
    record = shifting_service(engine, strategy="BLUE_GREEN", bake_time_min=1)
    blue, shift = update(engine, record)
    blue_tasks = tasks_of(engine, blue)
    green_up_and_healthy(engine, record, shift)
    assert record.primary.target_group_arn == "tg-green" and blue.target_group_arn == "tg-blue"
    stages = []
    for _ in range(4):
        step(engine)
        stages.append(shift.lifecycle_stage)
    assert stages == ["POST_SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
                      "POST_PRODUCTION_TRAFFIC_SHIFT"]
    assert engine.desired.forward_weights == [(RULE, [("tg-blue", 100), ("tg-green", 0)]),
                                              (RULE, [("tg-blue", 0), ("tg-green", 100)])]
    step(engine)
    step(engine)
    assert shift.lifecycle_stage == "BAKE_TIME"
    assert all(t.desired_status == "RUNNING" for t in blue_tasks), "blue stays up during the bake time"
    engine.clock.advance(60)                            # bakeTimeInMinutes 1 at speed 1
    step(engine)
    assert shift.lifecycle_stage == "CLEAN_UP"
    step(engine)
    assert all(t.desired_status == "STOPPED" for t in blue_tasks)
    for _ in range(3):
        engine.clock.advance(31)
        step(engine)
    assert shift.status == "SUCCESSFUL" and record.primary.rollout_state == "COMPLETED"
    body = deployments.describe(record, shift)
    assert body["targetServiceRevision"]["requestedProductionTrafficWeight"] == 100.0
    assert body["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert body["deploymentConfiguration"]["bakeTimeInMinutes"] == 1

    # the next deployment's green goes to the group blue left: the target groups swap roles
    _, second = update(engine, record)
    step(engine)
    assert record.primary.target_group_arn == "tg-blue"
    assert engine.desired.forward_weights[-1] == (RULE, [("tg-green", 100), ("tg-blue", 0)])


def test_does_a_canary_send_its_percent_wait_its_bake_time_then_the_rest():
    engine = make_engine()
    record = shifting_service(engine, strategy="CANARY", canary_percent=10.0, canary_bake_min=2,
                              test_listener_rule=TEST_RULE)
    _, shift = update(engine, record)
    green_up_and_healthy(engine, record, shift)
    for _ in range(3):
        step(engine)
    assert shift.lifecycle_stage == "PRODUCTION_TRAFFIC_SHIFT" and shift.production_weight == 10.0
    assert engine.desired.forward_weights == [(RULE, [("tg-blue", 100), ("tg-green", 0)]),
                                              (TEST_RULE, [("tg-blue", 0), ("tg-green", 100)]),
                                              (RULE, [("tg-blue", 90), ("tg-green", 10)])]
    engine.clock.advance(119)
    step(engine)
    assert shift.production_weight == 10.0, "still the canary before canaryBakeTimeInMinutes"
    engine.clock.advance(1)
    step(engine)
    assert engine.desired.forward_weights[-1] == (RULE, [("tg-blue", 0), ("tg-green", 100)])
    assert shift.lifecycle_stage == "POST_PRODUCTION_TRAFFIC_SHIFT"


def test_does_linear_shift_step_percent_per_step_bake_time():
    engine = make_engine()
    record = shifting_service(engine, strategy="LINEAR", linear_step_percent=25.0, linear_step_bake_min=1)
    _, shift = update(engine, record)
    green_up_and_healthy(engine, record, shift)
    for _ in range(3):
        step(engine)
    for _ in range(3):
        engine.clock.advance(60)
        step(engine)
    assert [w for rule, w in engine.desired.forward_weights if rule == RULE] == [
        [("tg-blue", 100), ("tg-green", 0)], [("tg-blue", 75), ("tg-green", 25)], [("tg-blue", 50), ("tg-green", 50)],
        [("tg-blue", 25), ("tg-green", 75)], [("tg-blue", 0), ("tg-green", 100)]]
    assert shift.lifecycle_stage == "POST_PRODUCTION_TRAFFIC_SHIFT"


def test_does_a_deployment_alarm_in_the_bake_time_put_traffic_back_on_blue_and_roll_back():
    engine = make_engine()
    record = shifting_service(engine, strategy="BLUE_GREEN", bake_time_min=5, alarm_names=["web-5xx"],
                              alarms_enable=True, alarms_rollback=True)
    blue, shift = update(engine, record)
    green = green_up_and_healthy(engine, record, shift)
    failing = record.primary
    for _ in range(6):
        step(engine)
    assert shift.lifecycle_stage == "BAKE_TIME" and shift.alarms_status == "MONITORING"
    engine.desired.alarm_states["web-5xx"] = "ALARM"
    step(engine)
    assert shift.status == "ROLLBACK_IN_PROGRESS" and shift.alarms_status == "TRIGGERED"
    assert shift.triggered_alarms == ["web-5xx"] and shift.circuit_breaker_status == "DISABLED"
    assert engine.desired.forward_weights[-1] == (RULE, [("tg-blue", 100), ("tg-green", 0)])
    assert record.primary is blue and failing.rollout_state == "FAILED"
    assert engine.desired.services[("demo", "web")].task_definition_arn == blue.task_definition_arn
    assert events.service_rolling_back("web", blue.id) in engine.events()
    step(engine)
    assert all(t.desired_status == "STOPPED" for t in green)
    assert all(t.desired_status == "RUNNING" for t in tasks_of(engine, blue))
    for _ in range(3):
        engine.clock.advance(31)
        step(engine)
    assert shift.status == "ROLLBACK_SUCCESSFUL"
    body = deployments.describe(record, shift)
    assert body["alarms"] == {"status": "TRIGGERED", "alarmNames": ["web-5xx"], "triggeredAlarmNames": ["web-5xx"]}
    assert body["rollback"]["serviceRevisionArn"] == deployments.revision_arn(record.arn, blue.revision_id)


def test_does_an_alarm_without_rollback_hold_the_deployment_where_it_is():
    engine = make_engine()
    record = shifting_service(engine, strategy="BLUE_GREEN", alarm_names=["web-5xx"], alarms_enable=True,
                              alarms_rollback=False)
    _, shift = update(engine, record)
    engine.desired.alarm_states["web-5xx"] = "ALARM"
    step(engine)
    step(engine)
    assert shift.status == "IN_PROGRESS" and shift.alarms_status == "TRIGGERED"


def test_does_a_green_failing_elb_health_checks_trip_the_circuit_breaker_and_roll_back_to_blue():
    engine = make_engine()
    record = shifting_service(engine, strategy="BLUE_GREEN", circuit_breaker_enable=True,
                              circuit_breaker_rollback=True)
    blue, shift = update(engine, record)
    failing = record.primary
    step(engine)
    for _ in range(2):                                 # green replaced twice for failed ELB health checks
        for task in tasks_of(engine, failing):
            if task.last_status == "RUNNING" and task.desired_status == "RUNNING":
                engine.store.request_stop(task, events.stop_failed_elb_health_checks("lb"))
        step(engine)
        step(engine)
        if shift.status != "IN_PROGRESS":
            break
    assert failing.failed_tasks >= 3 and shift.lifecycle_stage == "SCALE_UP"
    assert shift.status in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL")
    assert shift.circuit_breaker_status == "TRIGGERED" and record.primary is blue
    assert engine.desired.forward_weights[-1] == (RULE, [("tg-blue", 100), ("tg-green", 0)])
    assert all(t.desired_status == "RUNNING" for t in tasks_of(engine, blue))


def test_are_traffic_percents_written_as_alb_weights_0_to_999():
    from ecsdojo.control.ecs.traffic import weights_for

    assert [weights_for(p) for p in (0, 10, 100)] == [(100, 0), (90, 10), (0, 100)]
    assert weights_for(2.5) == (39, 1) and weights_for(97.5) == (1, 39) and weights_for(0.1) == (999, 1) and weights_for(5.5) == (189, 11)
