import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from .factories import finished_execution, make_flow, webhook_step

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/udf/"
CHARTS_URL = "/api/v1/reports/charts/"
DAY_1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
DAY_2 = DAY_1 + timedelta(days=1)
DAY_3 = DAY_1 + timedelta(days=2)


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def flattened_keys(record: dict) -> list[str]:
    """A JSON record's keys as CSV columns: `udf` replaced by its own keys."""
    return [name for key in record for name in (record["udf"] if key == "udf" else [key])]


def flattened_cells(record: dict) -> list[str]:
    """A JSON record's values as CSV cells read back: text, with null as an empty cell."""
    values = [value for key, value in record.items() for value in (record["udf"].values() if key == "udf" else [value])]
    return ["" if value is None else str(value) for value in values]


@pytest.fixture
def orders(acme):
    return make_flow(acme, "Orders")


@pytest.fixture
def billing(acme):
    return make_flow(acme, "Billing")


def test_columns_are_exactly_the_persisted_variables_of_the_filtered_executions(alice_api, orders, billing):
    finished_execution(orders, persisted={"order_status": "shipped", "eta": "2d"})
    finished_execution(orders, persisted={"order_status": "lost"})
    finished_execution(billing, persisted={"balance": "12.50"})

    assert alice_api.get(URL).json()["columns"] == ["balance", "eta", "order_status"]
    assert alice_api.get(URL, {"flow": orders.pk}).json()["columns"] == ["eta", "order_status"]
    assert alice_api.get(URL, {"flow": billing.pk}).json()["columns"] == ["balance"]


def test_a_widget_without_persist_response_adds_no_column(alice_api, orders):
    finished_execution(orders, persisted={"order_status": "shipped"}, unpersisted={"raw_token": "x"})

    body = alice_api.get(URL).json()
    assert body["columns"] == ["order_status"]
    assert body["results"][0]["udf"] == {"order_status": "shipped"}


def test_it_lists_executions_with_their_call_and_udfs(alice_api, orders):
    execution = finished_execution(
        orders, persisted={"order_status": "shipped"}, status="failed", started_at=DAY_1, cli="+1555", did="+1800"
    )
    finished_execution(orders, persisted={"eta": "2d"}, started_at=DAY_2)

    body = alice_api.get(URL).json()
    assert body["count"] == 2
    assert body["results"][1] == {
        "execution": str(execution.pk),
        "flow": orders.pk,
        "flow_name": "Orders",
        "started_at": "2026-11-01T09:00:00Z",
        "status": "failed",
        "cli": "+1555",
        "did": "+1800",
        "udf": {"eta": None, "order_status": "shipped"},
    }
    assert [r["started_at"] for r in body["results"]] == ["2026-11-02T09:00:00Z", "2026-11-01T09:00:00Z"]
    oldest_first = alice_api.get(URL, {"sort": "time"}).json()["results"]
    assert [r["started_at"] for r in oldest_first] == ["2026-11-01T09:00:00Z", "2026-11-02T09:00:00Z"]


def test_filters_combine(alice_api, orders, billing):
    wanted = finished_execution(orders, status="failed", started_at=DAY_2)
    finished_execution(orders, status="completed", started_at=DAY_2)  # other status
    finished_execution(billing, status="failed", started_at=DAY_2)  # other flow
    finished_execution(orders, status="failed", started_at=DAY_1)  # before the range
    finished_execution(orders, status="failed", started_at=DAY_3)  # after the range

    body = alice_api.get(
        URL, {"flow": orders.pk, "status": "failed", "since": "2026-11-02", "until": "2026-11-02"}
    ).json()

    assert [r["execution"] for r in body["results"]] == [str(wanted.pk)]
    assert body["count"] == 1


def test_since_and_until_take_date_times(alice_api, orders):
    finished_execution(orders, started_at=DAY_1)
    later = finished_execution(orders, started_at=DAY_1 + timedelta(hours=2))

    body = alice_api.get(URL, {"since": "2026-11-01T10:00:00Z", "until": "2026-11-01T12:00:00+00:00"}).json()
    assert [r["execution"] for r in body["results"]] == [str(later.pk)]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"flow": "abc"}, "flow"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"status": "queued"}, "status"),
        ({"since": "2026-11-03", "until": "2026-11-01"}, "until"),
        ({"sort": "cli"}, "sort"),
    ],
)
def test_an_invalid_filter_is_a_400_naming_the_parameter(alice_api, params, parameter):
    for fmt in ("json", "csv"):
        response = alice_api.get(URL, {**params, "format": fmt})
        assert response.status_code == 400
        assert list(response.json()) == [parameter]


def test_an_unknown_format_is_a_404_saying_which_formats_exist(alice_api):
    response = alice_api.get(URL, {"format": "xml"})
    assert response.status_code == 404
    assert response.json() == {"detail": "The format 'xml' is not supported here; use csv or json."}


def test_another_accounts_flow_is_refused_like_a_missing_one(alice_api, globex):
    foreign = make_flow(globex)
    foreign_answer = alice_api.get(URL, {"flow": foreign.pk})
    missing_answer = alice_api.get(URL, {"flow": foreign.pk + 1000})

    assert foreign_answer.status_code == missing_answer.status_code == 400
    assert foreign_answer.json() == missing_answer.json()


def test_it_pages_by_fifty_with_next_and_previous(alice_api, orders):
    for minute in range(51):
        finished_execution(orders, started_at=DAY_1 + timedelta(minutes=minute))

    first = alice_api.get(URL, {"status": "completed"}).json()
    assert (first["count"], len(first["results"]), first["previous"]) == (51, 50, None)
    assert "status=completed" in first["next"] and "page=2" in first["next"]
    second = alice_api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None and second["previous"]


def test_the_csv_header_and_rows_match_the_json(alice_api, orders, billing):
    finished_execution(orders, persisted={"order_status": "shipped", "eta": "2d"}, started_at=DAY_1, cli="+1", did="+2")
    finished_execution(orders, persisted={"order_status": 'say "hi", then\nleave'}, status="failed", started_at=DAY_2)
    newest = finished_execution(billing, persisted={"balance": "12.50"}, started_at=DAY_3)

    body = alice_api.get(URL).json()
    rows = read_csv(alice_api.get(URL, {"format": "csv"}))

    assert rows[0] == flattened_keys(body["results"][0])
    assert rows[0] == ["execution", "flow", "flow_name", "started_at", "status", "cli", "did", *body["columns"]]
    assert rows[1:] == [flattened_cells(record) for record in body["results"]]
    assert rows[1][:4] == [str(newest.pk), str(billing.pk), "Billing", "2026-11-03T09:00:00Z"]


@pytest.mark.parametrize("url", [URL, "/api/v1/deliveries/"])
def test_a_csv_is_unpaged_but_a_page_that_is_no_number_is_refused(alice_api, orders, url):
    assert alice_api.get(url, {"format": "csv", "page": "2"}).status_code == 200  # every match, whatever the page
    for page in ("null", "0", "", "²"):
        refused = alice_api.get(url, {"format": "csv", "page": page})
        assert refused.status_code == 404, page
        assert refused.json()["detail"].startswith(f"There is no page {page}; pages are numbered from 1")


def test_the_csv_carries_the_filters(alice_api, orders, billing):
    finished_execution(orders, persisted={"order_status": "shipped"})
    finished_execution(billing, persisted={"balance": "1"})

    rows = read_csv(alice_api.get(URL, {"format": "csv", "flow": billing.pk}))
    assert rows[0] == ["execution", "flow", "flow_name", "started_at", "status", "cli", "did", "balance"]
    assert [row[2] for row in rows[1:]] == ["Billing"]


def test_the_csv_keeps_spreadsheet_formulas_as_text(alice_api, orders):
    finished_execution(orders, persisted={"a": '=HYPERLINK("http://evil")', "b": "-12.5", "c": "@SUM(A1)"})

    row = read_csv(alice_api.get(URL, {"format": "csv"}))[1]
    assert row[7:] == ['\'=HYPERLINK("http://evil")', "-12.5", "'@SUM(A1)"]


def test_a_viewer_can_read_but_not_change_anything(bob_api, alice_api, orders):
    finished_execution(orders, persisted={"order_status": "shipped"})

    assert bob_api.get(URL).json()["count"] == 1
    assert bob_api.get(URL, {"format": "csv"}).status_code == 200
    assert bob_api.get(CHARTS_URL).status_code == 200
    for url in (URL, CHARTS_URL):
        for method in (bob_api.post, bob_api.put, bob_api.patch, bob_api.delete):
            assert method(url, {}).status_code == 403
        for method in (alice_api.post, alice_api.put, alice_api.patch, alice_api.delete):
            assert method(url, {}).status_code == 405


def test_it_needs_a_token(client):
    assert client.get(URL).status_code == 401


def test_other_accounts_rows_never_appear(alice_api, charlie_api, orders, globex):
    finished_execution(orders, persisted={"order_status": "shipped"}, cli="+1-acme", steps=[webhook_step("acme_w")])
    secret_flow = make_flow(globex, "Globex secret")
    finished_execution(secret_flow, persisted={"globex_udf": "x"}, cli="+1-globex", steps=[webhook_step("globex_w")])

    for api, mine, theirs in ((alice_api, "acme", "globex"), (charlie_api, "globex", "acme")):
        body = api.get(URL).json()
        assert body["count"] == 1
        assert all(mine in r["cli"] for r in body["results"])
        csv_text = b"".join(api.get(URL, {"format": "csv"}).streaming_content).decode()
        charts = api.get(CHARTS_URL).json()
        for text in (str(body), csv_text, str(charts)):
            assert theirs not in text.lower()
        assert sum(charts["executions_per_day"]["completed"]) == 1
        assert [w["widget"] for w in charts["webhook_durations"]] == [f"{mine}_w"]


def test_the_chart_data_follows_the_filters(alice_api, orders, billing):
    finished_execution(orders, started_at=DAY_1, steps=[webhook_step("w1", duration=0.5)])
    finished_execution(orders, status="failed", started_at=DAY_3, steps=[webhook_step("w1", duration=1.5)])
    finished_execution(billing, started_at=DAY_1, steps=[webhook_step("b1", duration=9.0)])

    charts = alice_api.get(CHARTS_URL, {"flow": orders.pk}).json()

    assert charts["executions_per_day"] == {
        "labels": ["2026-11-01", "2026-11-02", "2026-11-03"],
        "completed": [1, 0, 0],
        "failed": [0, 0, 1],
        "completed_with_webhook_failures": [0, 0, 0],
    }
    assert charts["webhook_durations"] == [
        {
            "flow": orders.pk,
            "flow_name": "Orders",
            "widget": "w1",
            "calls": 2,
            "failures": 0,
            "average_seconds": 1.0,
            "p95_seconds": 1.5,
        },
    ]
    assert alice_api.get(CHARTS_URL, {"status": "bogus"}).json() == {
        "status": ["Select a valid choice. bogus is not one of the available choices."]
    }


def count_queries(api, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(URL, params).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_rows(alice_api, acme, orders, billing):
    def add(how_many: int):
        for number in range(how_many):
            flow = orders if number % 2 else billing
            finished_execution(flow, persisted={f"udf_{number % 7}": str(number), "order_status": "x"})

    add(5)
    count_queries(alice_api, {})  # the token's first use of the day writes last_used_at; not a report query
    few = count_queries(alice_api, {}), count_queries(alice_api, {"flow": orders.pk, "status": "completed"})
    add(45)
    many = count_queries(alice_api, {}), count_queries(alice_api, {"flow": orders.pk, "status": "completed"})
    assert few == many


def test_a_csv_with_no_matching_rows_is_its_header(alice_api, orders):
    finished_execution(orders, persisted={"order_status": "shipped"}, status="completed")

    assert read_csv(alice_api.get(URL, {"format": "csv", "status": "failed"})) == [
        ["execution", "flow", "flow_name", "started_at", "status", "cli", "did"]
    ]


def test_executions_that_completed_through_a_failed_webhook_are_counted_apart(alice_api, orders):
    failing = webhook_step("w1", error_reason="SERVER_ERROR", code=503)
    for _ in range(3):
        finished_execution(orders, started_at=DAY_1, steps=[failing])  # completed along line 1
    finished_execution(orders, started_at=DAY_1, steps=[webhook_step("w1")])
    finished_execution(orders, status="failed", started_at=DAY_1, steps=[failing])

    charts = alice_api.get(CHARTS_URL).json()

    assert charts["executions_per_day"] == {
        "labels": ["2026-11-01"],
        "completed": [4],
        "failed": [1],
        "completed_with_webhook_failures": [3],
    }
    [widget] = charts["webhook_durations"]
    assert (widget["calls"], widget["failures"]) == (5, 4)
