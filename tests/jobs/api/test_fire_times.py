"""``GET /api/job-fire-times`` (§5): a schedule's next fire times from the scheduler's own engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
import time_machine

from jobs import schedule, timing
from jobs.models import Job
from tests.conftest import bearer_client, client_for
from tests.factories import make_token

URL = "/api/job-fire-times"
ERROR_KEYS = {"statusCode", "error", "message", "details"}
NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
NEW_YORK = "America/New_York"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def caller(owner: Any) -> Any:
    return client_for(owner)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fetch(caller: Any, **params: Any) -> Any:
    return caller.get(URL, params)


# (id, query parameters, expected fireTimes) with the clock at NOW (2026-03-01T12:00:30Z).
ANSWERS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "defaults: cron, UTC, ten after now",
        {"interval": "0 */6 * * *"},
        [
            "2026-03-01T18:00:00Z",
            "2026-03-02T00:00:00Z",
            "2026-03-02T06:00:00Z",
            "2026-03-02T12:00:00Z",
            "2026-03-02T18:00:00Z",
            "2026-03-03T00:00:00Z",
            "2026-03-03T06:00:00Z",
            "2026-03-03T12:00:00Z",
            "2026-03-03T18:00:00Z",
            "2026-03-04T00:00:00Z",
        ],
    ),
    ("count", {"interval": "0 8 * * *", "count": 2}, ["2026-03-02T08:00:00Z", "2026-03-03T08:00:00Z"]),
    (
        "after is exclusive",
        {"interval": "0 8 * * *", "count": 2, "after": "2026-06-01T08:00:00Z"},
        ["2026-06-02T08:00:00Z", "2026-06-03T08:00:00Z"],
    ),
    (
        "after with an offset",
        {"interval": "0 8 * * *", "count": 2, "after": "2026-06-01T10:00:00+02:00"},
        ["2026-06-02T08:00:00Z", "2026-06-03T08:00:00Z"],
    ),
    (
        "after without an offset is UTC",
        {"interval": "0 8 * * *", "count": 2, "after": "2026-06-01T08:00:00"},
        ["2026-06-02T08:00:00Z", "2026-06-03T08:00:00Z"],
    ),
    (
        "explicit intervalType cron",
        {"interval": "0 9 * * mon-fri", "intervalType": "cron", "count": 3, "after": "2026-03-06T10:00:00Z"},
        ["2026-03-09T09:00:00Z", "2026-03-10T09:00:00Z", "2026-03-11T09:00:00Z"],
    ),
    (
        "timezone across spring forward",
        {"interval": "0 8 * * *", "timezone": "Europe/Berlin", "count": 3, "after": "2026-03-27T00:00:00Z"},
        ["2026-03-27T07:00:00Z", "2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z"],
    ),
    (
        "simple without startOn: from now",
        {"interval": "90 minutes", "intervalType": "simple", "count": 3},
        ["2026-03-01T13:30:30Z", "2026-03-01T15:00:30Z", "2026-03-01T16:30:30Z"],
    ),
    (
        "simple with startOn",
        {
            "interval": "90 minutes",
            "intervalType": "simple",
            "startOn": "2026-03-01T00:00:00Z",
            "after": "2026-03-01T02:00:00Z",
            "count": 3,
        },
        ["2026-03-01T03:00:00Z", "2026-03-01T04:30:00Z", "2026-03-01T06:00:00Z"],
    ),
    (
        "simple days keep the local time; naive startOn read in the zone",
        {"interval": "1 day", "intervalType": "simple", "timezone": NEW_YORK, "startOn": "2026-03-07T08:00:00"},
        [
            "2026-03-07T13:00:00Z",
            "2026-03-08T12:00:00Z",
            "2026-03-09T12:00:00Z",
            "2026-03-10T12:00:00Z",
            "2026-03-11T12:00:00Z",
            "2026-03-12T12:00:00Z",
            "2026-03-13T12:00:00Z",
            "2026-03-14T12:00:00Z",
            "2026-03-15T12:00:00Z",
            "2026-03-16T12:00:00Z",
        ],
    ),
    (
        "simple months from the 31st",
        {
            "interval": "1 month",
            "intervalType": "simple",
            "startOn": "2026-01-31T08:00:00Z",
            "after": "2026-01-01T00:00:00Z",
            "count": 3,
        },
        ["2026-01-31T08:00:00Z", "2026-02-28T08:00:00Z", "2026-03-31T08:00:00Z"],
    ),
    ("once", {"intervalType": "once", "startOn": "2026-03-05T10:00:00Z"}, ["2026-03-05T10:00:00Z"]),
    ("once spent", {"intervalType": "once", "startOn": "2026-02-01T00:00:00Z"}, []),
    (
        "startOn a date in the zone",
        {"interval": "0 8 * * *", "timezone": "Europe/Berlin", "startOn": "2026-04-01", "count": 2},
        ["2026-04-01T06:00:00Z", "2026-04-02T06:00:00Z"],
    ),
    (
        "endOn a date is inclusive",
        {"interval": "0 8 * * *", "endOn": "2026-03-03"},
        ["2026-03-02T08:00:00Z", "2026-03-03T08:00:00Z"],
    ),
    ("endOn passed", {"interval": "0 8 * * *", "endOn": "2026-02-28"}, []),
    (
        "DST gap: shifted by default",
        {"interval": "30 2 * * *", "timezone": NEW_YORK, "count": 3, "after": "2026-03-07T00:00:00Z"},
        ["2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"],
    ),
    (
        "DST gap: dstPolicy skip",
        {
            "interval": "30 2 * * *",
            "timezone": NEW_YORK,
            "dstPolicy": '{"gap": "skip"}',
            "count": 3,
            "after": "2026-03-07T00:00:00Z",
        },
        ["2026-03-07T07:30:00Z", "2026-03-09T06:30:00Z", "2026-03-10T06:30:00Z"],
    ),
    (
        "repeated hour: first by default",
        {"interval": "30 1 * * *", "timezone": NEW_YORK, "count": 3, "after": "2026-10-31T00:00:00Z"},
        ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
    ),
    (
        "repeated hour: empty dstPolicy is the default",
        {"interval": "30 1 * * *", "timezone": NEW_YORK, "dstPolicy": "{}", "count": 3, "after": "2026-10-31T00:00Z"},
        ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"],
    ),
    (
        "repeated hour: dstPolicy repeat both",
        {
            "interval": "30 1 * * *",
            "timezone": NEW_YORK,
            "dstPolicy": '{"repeat": "both"}',
            "count": 3,
            "after": "2026-10-31T00:00:00Z",
        },
        ["2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z"],
    ),
    (
        "repeated hour: a wildcard job runs in both",
        {"interval": "0 * * * *", "timezone": NEW_YORK, "count": 4, "after": "2026-11-01T04:30:00Z"},
        ["2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"],
    ),
    ("format is ignored", {"interval": "0 8 * * *", "count": 1, "format": "json"}, ["2026-03-02T08:00:00Z"]),
]


@pytest.mark.parametrize(("params", "expected"), [case[1:] for case in ANSWERS], ids=[case[0] for case in ANSWERS])
def test_fire_times(caller, params, expected):
    response = fetch(caller, **params)

    assert response.status_code == 200, response.content
    assert response.json() == {"fireTimes": expected}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"interval": "30 2 * * *", "after": "2026-03-07T00:00:00Z"},
            [
                {"fireTime": "2026-03-07T07:30:00Z", "local": "2026-03-07T02:30:00-05:00", "shifted": False},
                {"fireTime": "2026-03-08T07:00:00Z", "local": "2026-03-08T03:00:00-04:00", "shifted": True},
                {"fireTime": "2026-03-09T06:30:00Z", "local": "2026-03-09T02:30:00-04:00", "shifted": False},
            ],
        ),
        (
            {"interval": "30 1 * * *", "after": "2026-10-31T00:00:00Z"},
            [
                {"fireTime": "2026-10-31T05:30:00Z", "local": "2026-10-31T01:30:00-04:00", "merged": False},
                {"fireTime": "2026-11-01T05:30:00Z", "local": "2026-11-01T01:30:00-04:00", "merged": True},
                {"fireTime": "2026-11-02T06:30:00Z", "local": "2026-11-02T01:30:00-05:00", "merged": False},
            ],
        ),
        (
            {"interval": "30 1 * * *", "after": "2026-10-31T00:00:00Z", "dstPolicy": '{"repeat": "both"}'},
            [
                {"fireTime": "2026-10-31T05:30:00Z", "local": "2026-10-31T01:30:00-04:00", "merged": False},
                {"fireTime": "2026-11-01T05:30:00Z", "local": "2026-11-01T01:30:00-04:00", "merged": False},
                {"fireTime": "2026-11-01T06:30:00Z", "local": "2026-11-01T01:30:00-05:00", "merged": False},
            ],
        ),
    ],
    ids=["gap shifted", "repeat merged", "repeat both"],
)
def test_detail_adds_local_time_and_dst_flags(caller, params, expected):
    response = fetch(caller, timezone=NEW_YORK, count=3, detail="true", **params)

    assert response.status_code == 200, response.content
    body = response.json()
    detail = [{"shifted": False, "merged": False, **row} for row in expected]
    assert body == {"fireTimes": [row["fireTime"] for row in expected], "detail": detail}


@pytest.mark.parametrize("detail", [None, "false"])
def test_detail_is_left_out_unless_asked_for(caller, detail):
    params = {"interval": "0 8 * * *", "count": 1} | ({"detail": detail} if detail else {})

    assert fetch(caller, **params).json() == {"fireTimes": ["2026-03-02T08:00:00Z"]}


def test_count_1000_answers_exactly_1000_increasing_instants_after_after(caller):
    after = "2026-03-08T05:00:00Z"

    response = fetch(caller, interval="*/5 * * * *", timezone=NEW_YORK, count=1000, after=after)

    assert response.status_code == 200, response.content
    fires = [datetime.fromisoformat(text) for text in response.json()["fireTimes"]]
    assert len(fires) == 1000
    assert fires[0] > datetime.fromisoformat(after)
    assert all(earlier < later for earlier, later in pairwise(fires))
    # Every five minutes of real time, straight through the skipped hour.
    assert fires[0] == datetime(2026, 3, 8, 5, 5, tzinfo=UTC)
    assert fires[-1] == datetime(2026, 3, 11, 16, 20, tzinfo=UTC)


# (id, query parameters, the field named, its exact message)
BAD_QUERIES: list[tuple[str, dict[str, Any], str, str]] = [
    ("count 0", {"count": 0}, "count", "Ensure this value is greater than or equal to 1."),
    ("count -1", {"count": -1}, "count", "Ensure this value is greater than or equal to 1."),
    ("count 1001", {"count": 1001}, "count", "Ensure this value is less than or equal to 1000."),
    ("count text", {"count": "ten"}, "count", "'ten' is not a whole number."),
    (
        "after not a datetime",
        {"after": "soon"},
        "after",
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    ),
    (
        "after month 13",
        {"after": "2026-13-01T00:00:00Z"},
        "after",
        "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
    ),
    (
        "startOn not a date",
        {"startOn": "yesterday"},
        "startOn",
        "'yesterday' is not an ISO 8601 date (2026-03-01) or datetime (2026-03-01T08:00:00Z).",
    ),
    ("dstPolicy not JSON", {"dstPolicy": "{gap: skip}"}, "dstPolicy", "'{gap: skip}' is not valid JSON."),
    (
        "dstPolicy nested 1000 deep",
        {"dstPolicy": "[" * 1000 + "]" * 1000},
        "dstPolicy",
        "The JSON is nested more than 64 levels deep.",
    ),
    (
        "timezone of 10000 characters",
        {"timezone": "A" * 10_000},
        "timezone",
        "Ensure this field has no more than 64 characters.",
    ),
    (
        "timezone with a path",
        {"timezone": "Europe/../UTC"},
        "timezone",
        "Unknown time zone 'Europe/../UTC'.",
    ),
    ("detail maybe", {"detail": "maybe"}, "detail", "Must be a valid boolean."),
    ("unknown parameter", {"bogus": "1"}, "bogus", "Unknown field 'bogus'."),
    ("snake_case parameter", {"interval_type": "cron"}, "interval_type", "Unknown field 'interval_type'."),
]


@pytest.mark.parametrize(
    ("params", "field", "message"), [case[1:] for case in BAD_QUERIES], ids=[case[0] for case in BAD_QUERIES]
)
def test_bad_query_is_a_400_naming_the_parameter(caller, params, field, message):
    response = fetch(caller, **{"interval": "0 8 * * *", **params})

    assert response.status_code == 400, response.content
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": f"{field}: {message}",
        "details": {field: [message]},
    }


# (id, schedule as POST /api/jobs takes it); the query sends dstPolicy as a JSON string.
SAME_ERRORS: list[tuple[str, dict[str, Any]]] = [
    ("malformed cron", {"interval": "* * *"}),
    ("cron minute 61", {"interval": "61 * * * *"}),
    ("cron weekday 8", {"interval": "0 0 * * 8"}),
    ("cron superscript step", {"interval": "*/\u00b2 * * * *"}),
    ("cron superscript step of a range", {"interval": "1-10/\u00b9 * * * *"}),
    ("cron Arabic-Indic step", {"interval": "*/\u0661\u0665 * * * *"}),
    ("cron fullwidth step", {"interval": "*/\uff11\uff15 * * * *"}),
    ("cron no-break space", {"interval": "0\u00a08 * * *"}),
    ("cron ideographic space", {"interval": "0 8\u3000* * *"}),
    ("cron step of 20 digits", {"interval": "*/99999999999999999999 * * * *"}),
    ("cron step past the range", {"interval": "0 0 */32 * *"}),
    ("simple fullwidth count", {"interval": "\uff11\uff15 minutes", "intervalType": "simple"}),
    ("never fires", {"interval": "0 0 30 2 *"}),
    ("empty cron", {"interval": "", "intervalType": "cron"}),  # without intervalType: manual-only
    ("unknown intervalType", {"interval": "0 8 * * *", "intervalType": "weekly"}),
    ("unknown time zone", {"interval": "0 8 * * *", "timezone": "Mars/Olympus"}),
    ("dstPolicy gap maybe", {"interval": "0 8 * * *", "dstPolicy": {"gap": "maybe"}}),
    ("dstPolicy unknown key", {"interval": "0 8 * * *", "dstPolicy": {"foo": 1}}),
    ("dstPolicy not an object", {"interval": "0 8 * * *", "dstPolicy": 5}),
    ("simple 0 minutes", {"interval": "0 minutes", "intervalType": "simple"}),
    ("simple 30 seconds", {"interval": "30 seconds", "intervalType": "simple"}),
    ("simple 5 fortnights", {"interval": "5 fortnights", "intervalType": "simple"}),
    ("simple every day", {"interval": "every day", "intervalType": "simple"}),
    ("once without startOn", {"intervalType": "once"}),
    ("endOn before startOn", {"interval": "0 8 * * *", "startOn": "2026-03-05", "endOn": "2026-03-04"}),
]


@pytest.mark.parametrize("fields", [case[1] for case in SAME_ERRORS], ids=[case[0] for case in SAME_ERRORS])
def test_rejects_a_schedule_exactly_as_the_jobs_api_does(owner, caller, fields):
    # given
    params = {key: json.dumps(value) if key == "dstPolicy" else value for key, value in fields.items()}
    created = caller.post("/api/jobs", {"type": "email", "name": "Report", **fields}, format="json")

    # when
    response = fetch(caller, **params)

    # then
    assert created.status_code == 400, created.content
    assert Job.objects.count() == 0
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["details"] == created.json()["details"]
    assert body["message"] == created.json()["message"]
    (field,) = body["details"]
    assert body["message"].startswith(field)


def test_anonymous_is_a_401(api):
    response = api.get(URL, {"interval": "0 8 * * *"})

    assert response.status_code == 401
    assert set(response.json()) == ERROR_KEYS
    assert response.json()["statusCode"] == 401


def test_a_bearer_token_is_enough(owner):
    _, secret = make_token(owner)

    response = bearer_client(secret).get(URL, {"interval": "0 8 * * *", "count": 1})

    assert response.status_code == 200, response.content
    assert response.json() == {"fireTimes": ["2026-03-02T08:00:00Z"]}


@pytest.mark.parametrize(
    ("interval", "after"),
    [
        ("30 2 * * *", "2026-03-07T00:00:00Z"),
        ("30 2 * * *", "2026-10-30T00:00:00Z"),
        ("30 1 * * *", "2026-10-30T00:00:00Z"),
        ("*/20 * * * *", "2026-03-08T05:00:00Z"),
        ("*/20 * * * *", "2026-11-01T04:00:00Z"),
    ],
)
def test_answers_what_the_scheduler_engine_answers(owner, caller, monkeypatch, interval, after):
    # given the engine's own answer, and a spy on the function the view must call
    parsed = schedule.parse_schedule(interval=interval, interval_type="cron", timezone=NEW_YORK)
    start = datetime.fromisoformat(after)
    engine = schedule.fire_times(parsed, start, 40)
    calls: list[tuple[Any, ...]] = []
    real_fire_times = schedule.fire_times

    def spy(*args: Any) -> list[schedule.FireTime]:
        calls.append(args)
        return real_fire_times(*args)

    monkeypatch.setattr(schedule, "fire_times", spy)

    # when
    response = fetch(caller, interval=interval, timezone=NEW_YORK, count=40, after=after, detail="true")

    # then the endpoint answers exactly what schedule.fire_times answers, through schedule.fire_times
    assert response.status_code == 200, response.content
    assert response.json() == {
        "fireTimes": [iso(fire.at) for fire in engine],
        "detail": [
            {"fireTime": iso(fire.at), "local": fire.local.isoformat(), "shifted": fire.shifted, "merged": fire.merged}
            for fire in engine
        ],
    }
    assert len(calls) == 1
    assert calls[0][1:] == (start, 40)
    # and the scheduler, advancing a stored job from each occurrence, walks the same series
    job = Job(interval=interval, interval_type="cron", timezone=NEW_YORK, enabled=True)
    walked = [timing.job_next_run_at(job, after=start)]
    while len(walked) < len(engine):
        walked.append(schedule.next_fire_time(timing.job_schedule(job), walked[-1]))
    assert walked == [fire.at for fire in engine]
