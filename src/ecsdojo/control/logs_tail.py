"""`dojo logs tail GROUP`: AWS CLI v2's `aws logs tail`, for the AWS CLI v1 this course installs.

The AWS CLI from PyPI is version 1, which has no `aws logs tail` ("Invalid choice"). At work you will type
`aws logs tail /ecs/web --follow --since 10m` (AWS CLI v2); here the same options work as
`dojo logs tail /ecs/web --follow --since 10m`, against `dojo up`'s moto (never AWS). It reads through the real
CloudWatch Logs API (FilterLogEvents), as v2 does.

Options as in v2 (AWS CLI v2 command reference, `aws logs tail`): `--since` (default 10m; `30s`, `5m`, `2h`, `1d`,
`1w` or an ISO 8601 time), `--follow`, `--filter-pattern`, `--log-stream-names`, `--log-stream-name-prefix`,
`--format detailed|short|json` (default detailed).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["register", "parse_since", "format_event", "tail"]

FOLLOW_INTERVAL_S = 1.0
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class TailUsageError(ValueError):
    pass


def parse_since(text: str, *, now: datetime | None = None) -> int:
    """`--since` as epoch milliseconds: a relative age (`10m`, `2h`) or an absolute ISO 8601 time.

    >>> parse_since("10m", now=datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc))
    1796212200000
    >>> parse_since("2026-12-02T12:00:00Z")
    1796212800000
    """
    now = now or datetime.now(timezone.utc)
    match = re.fullmatch(r"(\d+)\s*([smhdw])", text.strip())
    if match:
        return int((now - timedelta(seconds=int(match[1]) * UNITS[match[2]])).timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TailUsageError(f"--since {text!r}: give an age such as 30s, 10m, 2h, 1d, 1w or an ISO 8601 time "
                             "such as 2026-12-02T12:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def format_event(event: dict[str, Any], fmt: str) -> str:
    """One line as v2 prints it.

    >>> event = {"timestamp": 1796212800123, "logStreamName": "ecs/web/abc", "message": "hello"}
    >>> format_event(event, "detailed")
    '2026-12-02T12:00:00.123000+00:00 ecs/web/abc hello'
    >>> format_event(event, "short")
    '2026-12-02T12:00:00 hello'
    """
    moment = datetime.fromtimestamp(event["timestamp"] / 1000, tz=timezone.utc)
    message = event["message"].rstrip("\n")
    if fmt == "short":
        return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')} {message}"
    if fmt == "json":
        return json.dumps({"timestamp": moment.isoformat(), "logStreamName": event["logStreamName"],
                           "message": message})
    return f"{moment.isoformat(timespec='microseconds')} {event['logStreamName']} {message}"


def _events(logs: Any, group: str, *, start_ms: int, pattern: str | None, streams: list[str] | None,
            prefix: str | None) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"logGroupName": group, "startTime": start_ms, "interleaved": True}
    if pattern:
        request["filterPattern"] = pattern
    if streams:
        request["logStreamNames"] = streams
    while True:
        page = logs.filter_log_events(**request)
        for event in page.get("events", []):
            if prefix and not event["logStreamName"].startswith(prefix):
                continue
            yield event
        token = page.get("nextToken")
        if not token or token == request.get("nextToken"):
            return
        request["nextToken"] = token


def tail(logs: Any, group: str, *, since_ms: int, follow: bool = False, pattern: str | None = None,
         streams: list[str] | None = None, prefix: str | None = None, fmt: str = "detailed",
         out: Callable[[str], None] = print, should_stop: Callable[[], bool] = lambda: False) -> int:
    """Print the group's events since `since_ms`; with `follow`, keep printing new ones until interrupted."""
    seen: set[str] = set()
    start = since_ms
    while True:
        newest = start
        for event in sorted(_events(logs, group, start_ms=start, pattern=pattern, streams=streams, prefix=prefix),
                            key=lambda e: (e["timestamp"], e.get("eventId", ""))):
            key = f"{event['logStreamName']}/{event.get('eventId')}/{event['timestamp']}/{event['message']}"
            if key in seen:
                continue
            seen.add(key)
            out(format_event(event, fmt))
            newest = max(newest, event["timestamp"])
        if not follow or should_stop():
            return 0
        start = newest                      # FilterLogEvents' startTime is inclusive: `seen` drops repeats
        time.sleep(FOLLOW_INTERVAL_S)


def _endpoint(explicit: str | None) -> str:
    if explicit:
        return explicit
    if os.environ.get("DOJO_UP_ENDPOINT"):
        return os.environ["DOJO_UP_ENDPOINT"]
    from ecsdojo.control.cli import state_dir
    from ecsdojo.runtime.base import alive

    info_path = state_dir() / "endpoint.json"
    if info_path.exists():
        info = json.loads(info_path.read_text())
        if alive(int(info.get("pid", 0))):
            return info["endpoint"]
    raise TailUsageError("dojo up is not running: start it with `dojo up` (or pass --endpoint-url of a LocalECS)")


def _tail_command(args) -> int:
    from botocore.exceptions import ClientError

    from ecsdojo.cloud import REGION, make_client

    try:
        since_ms = parse_since(args.since)
        logs = make_client("logs", _endpoint(args.endpoint_url),
                           region=args.region or os.environ.get("AWS_DEFAULT_REGION") or REGION)
        return tail(logs, args.group, since_ms=since_ms, follow=args.follow, pattern=args.filter_pattern,
                    streams=args.log_stream_names, prefix=args.log_stream_name_prefix, fmt=args.format,
                    out=lambda line: print(line, flush=True))
    except TailUsageError as error:
        print(f"dojo logs tail: {error}")
        return 2
    except ClientError as error:
        print(f"dojo logs tail: {error.response['Error']['Code']}: {error.response['Error']['Message']} "
              f"(log group {args.group})")
        return 1
    except KeyboardInterrupt:
        return 0


def register(commands) -> None:
    logs = commands.add("logs", help="CloudWatch Logs of `dojo up`: `dojo logs tail GROUP` (AWS CLI v2's `aws logs "
                                     "tail`)")
    logs.set_defaults(handler=lambda args: (logs.print_help(), 2)[1])
    sub = logs.add_subparsers(dest="logs_command", metavar="SUBCOMMAND")
    tail_parser = sub.add_parser("tail", help="print a log group's events; --follow keeps printing new ones")
    tail_parser.set_defaults(handler=_tail_command)
    tail_parser.add_argument("group", help="the log group, e.g. /ecs/web")
    tail_parser.add_argument("--follow", action="store_true", help="keep printing new events (Ctrl-C stops)")
    tail_parser.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d, 1w or an ISO time "
                                                          "(default 10m)")
    tail_parser.add_argument("--filter-pattern", default=None, help="CloudWatch Logs filter pattern")
    tail_parser.add_argument("--log-stream-names", nargs="+", default=None)
    tail_parser.add_argument("--log-stream-name-prefix", default=None)
    tail_parser.add_argument("--format", choices=("detailed", "short", "json"), default="detailed")
    tail_parser.add_argument("--endpoint-url", default=None, help="default: the running `dojo up`")
    tail_parser.add_argument("--region", default=None)
