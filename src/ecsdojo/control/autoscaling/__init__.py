"""Auto scaling that acts: CloudWatch alarms evaluated, Application Auto Scaling policies run, desiredCount set.

moto stores alarms, scalable targets, scaling policies and scheduled actions but never acts on them. Once
per ECS minute (the control plane's compressed clock), `AutoScaling`:

1. publishes the minute's ECS and load-balancer metrics (`MetricsPublisher`);
2. evaluates every CloudWatch metric alarm in moto (`AlarmEvaluator`, with `alarms.evaluate_alarm`) and
   writes state changes with SetAlarmState (AWS-style reason and reason data, alarm history);
3. invokes alarm actions: an Application Auto Scaling policy ARN runs the policy -- on the transition and
   then once a minute while the alarm stays in that state, as CloudWatch does for scaling actions -- an SNS
   topic ARN gets CloudWatch's notification (on transitions), anything else is recorded as failed;
4. decides with `scaling.decide_scaling` (target tracking, step scaling, several policies combined,
   cooldowns, min/max, scale-in held during a deployment) and sets desiredCount through the ECS API
   (`ecs.update_service`), recording a scaling activity.

Between minutes it runs due scheduled actions, puts registered targets' desired counts inside their new
min/max (as RegisterScalableTarget does), and records desired/running counts on the timeline.

It also completes moto's API: put_scaling_policy re-puts the target-tracking alarms with the right metric
and thresholds (TargetValue for AlarmHigh, 90 % of it for AlarmLow; moto writes 6 and CPUUtilization) and
rejects bad policies, schedules and unregistered targets as AWS does; deregister_scalable_target removes
the target's policies and scheduled actions; describe_scaling_activities and describe_alarm_history
(missing from moto) answer, through boto3 and the AWS CLI (`dojo up`) alike; a learner's own
set_alarm_state triggers the alarm's actions too.

The parts: `alarm_spec` (an alarm's definition, `AlarmSpec`), `alarms` (alarm rules, `evaluate_alarm`), `policies` (targets, target tracking, step scaling),
`decisions` (cooldowns, combining, `decide_scaling`, activities), `schedule` and `cron` (scheduled actions),
`history` (alarm history, the timeline), `evaluator` (AlarmEvaluator), `reconciler` (ScalingReconciler),
`engine` (AutoScaling and its loop). Times: `EcsTime` (control/metrics.py). API timestamps stay real; the timeline's times are ECS seconds, so
a 300 s cooldown is 300 on the plot at any speed.

Example (a notebook)::

    with LocalECS(speed=60) as local:
        ...   # a service behind a load balancer, a scalable target, a CPU target-tracking policy
        local.timeline.mark("load starts")
        ...
        local.timeline.plot()
        local.client("application-autoscaling").describe_scaling_activities(ServiceNamespace="ecs")
"""

from __future__ import annotations

from ecsdojo.control.autoscaling.engine import AutoScaling
from ecsdojo.control.autoscaling.evaluator import AlarmEvaluator
from ecsdojo.control.autoscaling.history import AlarmHistory, AlarmInvocation, AlarmOutcome, ScalingTimeline
from ecsdojo.control.autoscaling.reconciler import ScalingReconciler

__all__ = ["AutoScaling", "AlarmEvaluator", "AlarmHistory", "AlarmInvocation", "AlarmOutcome",
           "ScalingReconciler", "ScalingTimeline"]
