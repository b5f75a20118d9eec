import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from .factories import finished_execution, make_flow, webhook_step

pytestmark = pytest.mark.django_db

DAY_1 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def orders(acme):
    return make_flow(acme, "Orders")


def test_it_shows_executions_with_one_column_per_persisted_variable(alice_client, orders):
    finished_execution(orders, persisted={"order_status": "shipped"}, unpersisted={"not_kept": "zzz"}, cli="+15551234")

    page = alice_client.get(reverse("reports:udf")).content.decode()

    assert '<th class="udf">order_status</th>' in page
    assert "shipped" in page and "+15551234" in page and "Orders" in page
    assert "not_kept" not in page and "zzz" not in page
    assert "vendor/chart.js-4.6.1/chart.umd.min.js" in page


def test_the_empty_state_says_what_to_do(alice_client, acme):
    page = alice_client.get(reverse("reports:udf")).content.decode()

    assert "Nothing to report yet" in page and "Persist response" in page


def test_filters_that_match_nothing_say_so(alice_client, orders):
    finished_execution(orders, status="completed")

    page = alice_client.get(reverse("reports:udf"), {"status": "failed"}).content.decode()

    assert "No executions match these filters" in page


def test_invalid_filters_are_shown_on_the_form(alice_client, orders):
    response = alice_client.get(reverse("reports:udf"), {"since": "soon"})

    assert response.status_code == 200
    assert "Enter a date as YYYY-MM-DD" in response.content.decode()
    assert alice_client.get(reverse("reports:udf-csv"), {"since": "soon"}).status_code == 400
    assert alice_client.get(reverse("reports:udf-charts"), {"since": "soon"}).status_code == 400


def test_the_csv_link_and_the_charts_carry_the_filters(alice_client, orders):
    finished_execution(orders, status="failed")

    params = {"status": "failed", "flow": orders.pk, "page": "1"}
    page = alice_client.get(reverse("reports:udf"), params).content.decode()

    query = f"status=failed&amp;flow={orders.pk}"
    assert f'href="/reports/export.csv?{query}"' in page
    assert f'data-chart-url="/reports/charts.json?{query}"' in page


def test_the_time_column_sorts_both_ways(alice_client, orders):
    finished_execution(orders, cli="early", started_at=DAY_1)
    finished_execution(orders, cli="late", started_at=DAY_1 + timedelta(hours=1))

    newest_first = alice_client.get(reverse("reports:udf")).content.decode()
    oldest_first = alice_client.get(reverse("reports:udf"), {"sort": "time"}).content.decode()

    assert newest_first.index("late") < newest_first.index("early")
    assert oldest_first.index("early") < oldest_first.index("late")
    assert 'href="?sort=time"' in newest_first


def test_it_pages_by_fifty(alice_client, orders):
    for minute in range(51):
        finished_execution(orders, started_at=DAY_1 + timedelta(minutes=minute))

    first = alice_client.get(reverse("reports:udf"), {"status": "completed"})
    second = alice_client.get(reverse("reports:udf"), {"status": "completed", "page": "2"})

    assert len(first.context["table"]) == 50 and len(second.context["table"]) == 1
    assert 'href="?status=completed&amp;page=2"' in first.content.decode()


def test_the_site_csv_matches_the_page(alice_client, orders):
    execution = finished_execution(orders, persisted={"order_status": "shipped"}, started_at=DAY_1, cli="+1", did="+2")

    response = alice_client.get(reverse("reports:udf-csv"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Disposition"].startswith('attachment; filename="udf-report-acme-')
    assert rows == [
        ["execution", "flow", "flow_name", "started_at", "status", "cli", "did", "order_status"],
        [str(execution.pk), str(orders.pk), "Orders", "2026-11-01T09:00:00Z", "completed", "+1", "+2", "shipped"],
    ]


def test_the_site_chart_data_is_the_accounts_own(alice_client, orders, globex):
    finished_execution(orders, steps=[webhook_step("mine", duration=0.4)])
    finished_execution(make_flow(globex), steps=[webhook_step("theirs", duration=9)])

    charts = alice_client.get(reverse("reports:udf-charts")).json()

    assert [w["widget"] for w in charts["webhook_durations"]] == ["mine"]
    assert sum(charts["executions_per_day"]["completed"]) == 1


def test_other_accounts_rows_never_appear_on_the_page(client, charlie, orders):
    finished_execution(orders, persisted={"acme_secret": "s3cret"}, cli="+1-acme")
    client.force_login(charlie)

    for name in ("reports:udf", "reports:udf-csv", "reports:udf-charts"):
        response = client.get(reverse(name))
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"s3cret" not in content and b"acme" not in content.lower()


def test_a_viewer_sees_the_report_but_cannot_post(bob_client, orders):
    finished_execution(orders, persisted={"order_status": "shipped"})

    assert "shipped" in bob_client.get(reverse("reports:udf")).content.decode()
    assert bob_client.get(reverse("reports:udf-csv")).status_code == 200
    for name in ("reports:udf", "reports:udf-csv", "reports:udf-charts"):
        assert bob_client.post(reverse(name)).status_code == 403


def test_it_needs_a_sign_in(client):
    response = client.get(reverse("reports:udf"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_query_count_of_the_page_does_not_grow_with_rows(alice_client, orders, acme):
    billing = make_flow(acme, "Billing")

    def add(how_many: int):
        for number in range(how_many):
            finished_execution(orders if number % 2 else billing, persisted={f"udf_{number % 7}": str(number)})

    def count(params: dict) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert alice_client.get(reverse("reports:udf"), params).status_code == 200
        return len(queries)

    add(5)
    few = count({}), count({"flow": orders.pk, "page": "1"})
    add(45)
    many = count({}), count({"flow": orders.pk, "page": "1"})
    assert few == many
