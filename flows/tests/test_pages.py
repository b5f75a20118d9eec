"""Site pages: flows list, flow page, Start a call, executions list and detail."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from flows.models import Execution
from flows.tests.factories import end, make_flow, queue_execution, webhook


def test_the_flows_list_says_what_to_do_when_empty(alice_client):
    page = alice_client.get(reverse("flows:list")).content.decode()

    assert "No flows yet" in page
    assert reverse("flows:designer-new") in page


def test_the_flows_list_shows_the_accounts_flows_with_a_start_call_form(alice_client, acme, globex):
    flow = make_flow(acme, name="Order status")
    make_flow(globex, name="Globex secret flow")

    page = alice_client.get(reverse("flows:list")).content.decode()

    assert "Order status" in page
    assert "Globex secret flow" not in page
    assert reverse("flows:start-call", args=[flow.pk]) in page


def test_the_flow_page_lists_the_widgets_read_only(alice_client, acme):
    flow = make_flow(acme)

    page = alice_client.get(reverse("flows:detail", args=[flow.pk])).content.decode()

    assert "hello $call.cli" in page
    assert 'id="widget-a1"' in page and 'id="widget-end"' in page
    assert "Start a call" in page


def test_the_flow_page_renders_only_sanitised_notes(alice_client, acme):
    """Notes are HTML on the page; a stored flow that bypassed validation must not bring script."""
    flow = make_flow(acme)
    flow.widgets[0]["config"]["notes"] = '<p>Call <b>ops</b></p><img src=x onerror="alert(1)"><script>alert(2)</script>'
    flow.save(update_fields=["widgets"])

    page = alice_client.get(reverse("flows:detail", args=[flow.pk])).content.decode()

    assert "<p>Call <b>ops</b></p>" in page
    assert "<img" not in page and "<script>alert(2)" not in page  # the JSON copy escapes its "<"


def test_starting_a_call_queues_an_execution_and_shows_it(alice_client, acme):
    flow = make_flow(acme)

    response = alice_client.post(
        reverse("flows:start-call", args=[flow.pk]), {"cli": "+15550111", "did": "+15550222", "user_keys": "lang=en"}
    )

    execution = Execution.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("flows:execution-detail", args=[execution.pk])
    start = execution.call.pop("start")
    assert execution.call == {"cli": "+15550111", "did": "+15550222", "incoming": True}
    assert abs((parse_datetime(start) - execution.created_at).total_seconds()) < 5
    assert execution.user_keys == {"lang": "en"}
    page = alice_client.get(response["Location"]).content.decode()
    assert "queued" in page and "Waiting for a worker to run this call" in page
    assert "runworker" not in page
    assert '<th><code>$call.incoming</code></th><td class="long">true</td>' in page
    assert "<th><code>$user.key.lang</code></th>" in page


@pytest.mark.parametrize("cli", ["abc", "<script>", "12", "+1 555 01+00", "1234567890123456"])
def test_start_a_call_refuses_what_is_not_a_phone_number(alice_client, acme, cli):
    flow = make_flow(acme)

    response = alice_client.post(
        reverse("flows:start-call", args=[flow.pk]), {"cli": cli, "did": "+15550222"}, follow=True
    )

    assert Execution.objects.count() == 0
    assert "Caller number (CLI):" in response.content.decode()
    assert "phone number" in response.content.decode()


def test_start_a_call_stores_a_number_in_one_spelling(alice_client, acme):
    flow = make_flow(acme)

    alice_client.post(reverse("flows:start-call", args=[flow.pk]), {"cli": "+1 (555) 010-0", "did": "555.0222"})

    assert Execution.objects.get().call["cli"] == "+15550100"
    assert Execution.objects.get().call["did"] == "5550222"


def test_a_bad_user_key_is_refused_with_a_message(alice_client, acme):
    flow = make_flow(acme)

    response = alice_client.post(
        reverse("flows:start-call", args=[flow.pk]),
        {"cli": "+15550100", "did": "+15550199", "user_keys": "first name=x"},
        follow=True,
    )

    assert Execution.objects.count() == 0
    assert "letters, digits and underscores" in response.content.decode()


def test_a_viewer_sees_flows_but_cannot_start_a_call(bob_client, acme):
    flow = make_flow(acme)

    assert bob_client.get(reverse("flows:detail", args=[flow.pk])).status_code == 200
    assert bob_client.post(reverse("flows:start-call", args=[flow.pk]), {"cli": "1", "did": "2"}).status_code == 403
    assert Execution.objects.count() == 0


def test_the_execution_page_shows_steps_lines_and_variables(alice_client, acme):
    execution = queue_execution(make_flow(acme))
    Execution.objects.filter(pk=execution.pk).update(
        status="completed",
        variables={"$flow.key.order_status": "shipped", "$flow.key.response_raw": None},
        persisted_variables=["$flow.key.order_status"],
        steps=[
            {
                "widget": "w1",
                "type": "webhook",
                "mode": "custom",
                "line": "1",
                "duration": 0.123,
                "method": "GET",
                "url": "https://api.example.com/orders/1",
                "status_code": 503,
                "error_reason": "SERVER_ERROR",
                "response_excerpt": "down for <maintenance>",
            },
            {"widget": "end", "type": "end", "line": None, "duration": 0.0},
        ],
    )

    page = alice_client.get(reverse("flows:execution-detail", args=[execution.pk])).content.decode()

    assert "line 1" in page and "0.123 s" in page
    assert "GET https://api.example.com/orders/1" in page
    assert "SERVER_ERROR" in page and "503" in page
    assert "down for &lt;maintenance&gt;" in page  # escaped, never markup
    assert "$flow.key.order_status" in page and "shipped" in page
    assert "Waiting for a worker" not in page


def test_the_execution_page_names_each_step_by_its_widgets_label_in_the_revision_it_ran(alice_client, acme):
    flow = make_flow(acme, {**webhook("w1", "https://api.example.com/orders"), "label": "Look up <the> order"}, end())
    execution = queue_execution(flow)
    flow.widgets[0]["label"] = "A later draft's label"
    flow.save()
    Execution.objects.filter(pk=execution.pk).update(
        steps=[{"widget": "w1", "type": "webhook", "mode": "custom", "line": "0", "duration": 0.1}]
    )

    page = alice_client.get(reverse("flows:execution-detail", args=[execution.pk])).content.decode()

    assert "1. Look up &lt;the&gt; order <code>w1</code>" in page


def test_the_executions_list_filters_by_status(alice_client, acme, globex):
    flow = make_flow(acme, name="Acme flow")
    done, waiting = queue_execution(flow), queue_execution(flow)
    Execution.objects.filter(pk=done.pk).update(status="completed")
    foreign = queue_execution(make_flow(globex, name="Globex flow"))

    page = alice_client.get(reverse("flows:execution-list"), {"status": "completed"}).content.decode()

    assert str(done.pk)[:8] in page
    assert str(waiting.pk)[:8] not in page
    assert str(foreign.pk)[:8] not in page


def test_another_accounts_execution_page_is_not_found(alice_client, globex):
    execution = queue_execution(make_flow(globex))

    assert alice_client.get(reverse("flows:execution-detail", args=[execution.pk])).status_code == 404


def test_deleting_a_flow_says_how_many_executions_go_with_it(alice_client, acme):
    flow = make_flow(acme)
    queue_execution(flow)
    queue_execution(flow)

    page = alice_client.get(reverse("flows:delete", args=[flow.pk])).content.decode()
    assert "Its 2 executions" in page
    response = alice_client.post(reverse("flows:delete", args=[flow.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("flows:list")
    assert not Execution.objects.exists()


def test_viewers_cannot_delete_a_flow(bob_client, acme):
    flow = make_flow(acme)
    assert bob_client.get(reverse("flows:delete", args=[flow.pk])).status_code == 403
    assert bob_client.post(reverse("flows:delete", args=[flow.pk])).status_code == 403
    assert "Delete" not in bob_client.get(reverse("flows:detail", args=[flow.pk])).content.decode()
