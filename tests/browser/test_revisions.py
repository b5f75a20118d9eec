"""Save a draft, run the test cases, publish past the gate: SPEC §14 in the designer."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from flows.models import Flow, FlowTestCase
from flows.revisions import save_revision
from flows.tests.factories import assign, end, make_flow, webhook
from phonon.lib.testing.http_server import Reply
from tests.browser.conftest import sign_in
from tests.browser.designer_page import DesignerPage

pytestmark = pytest.mark.django_db(transaction=True)


def greeting_flow(account) -> Flow:
    flow = make_flow(account, assign("a1", "e1", greeting="hello $call.cli"), end("e1"))
    Flow.objects.filter(pk=flow.pk).update(layout={"a1": {"x": 60, "y": 60}, "e1": {"x": 400, "y": 60}})
    FlowTestCase.objects.create(
        account=account,
        flow=flow,
        name="Greets the caller",
        call={"cli": "+1555"},
        expect={"path": ["a1", "e1"], "variables": {"$flow.key.greeting": "hello +1555"}},
    )
    return flow


def test_save_draft_run_tests_then_publish(signed_in, live_server, acme, screenshot):
    flow = greeting_flow(acme)
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    expect(page.locator("#revision-status")).to_have_text("Published · revision 1")

    designer.open("a1")
    page.locator("[data-rows='config.assignments'] tbody tr [data-col=value]").fill("bye $call.cli")
    designer.save()
    designer.expect_saved()
    expect(page.locator("#revision-status")).to_have_text("Draft · revision 2 (calls run 1)")

    page.click("#run-tests")
    failed = page.locator(".case-result.failed")
    expect(failed).to_contain_text("Greets the caller")
    expect(failed).to_contain_text("Expected $flow.key.greeting = 'hello +1555', got 'bye +1555'.")
    screenshot("tests-fail")

    page.click("#publish-flow")
    expect(page.locator("#revision-message")).to_contain_text("1 test case(s) fail (“Greets the caller”)")
    flow.refresh_from_db()
    assert flow.published_revision.number == 1
    page.click("#force-publish")
    expect(page.locator("#revision-status")).to_have_text("Published · revision 2")
    flow.refresh_from_db()
    assert (flow.published_revision.number, flow.published_revision.forced) == (2, True)

    page.click("#show-history")
    latest = page.locator(".history-row[data-revision='2']")
    expect(latest).to_contain_text("published")
    expect(latest).to_contain_text("forced")
    expect(latest).to_contain_text("changed a1 (config.assignments)")
    latest.get_by_role("button", name="Show changes").click()
    expect(page.locator("#revision-diff table[data-widget='a1']")).to_contain_text("bye $call.cli")
    screenshot("history")

    page.locator(".history-row[data-revision='1']").get_by_role("button", name="Restore this revision").click()
    expect(page.locator("#revision-status")).to_have_text("Draft · revision 3 (calls run 2)")
    page.click("#run-tests")
    expect(page.locator(".case-result.passed")).to_contain_text("Greets the caller")
    page.click("#publish-flow")
    expect(page.locator("#revision-status")).to_have_text("Published · revision 3")
    flow.refresh_from_db()
    assert (flow.published_revision.number, flow.published_revision.forced) == (3, False)


def test_a_widget_test_result_is_saved_as_a_test_case_that_passes(signed_in, live_server, loopback_allowed, server):
    server.reply("*", Reply(body='{"order": {"status": "shipped"}}', headers={"Content-Type": "application/json"}))
    mappings = [{"save_in": "$flow.key.order_status", "path": "data.order.status"}]
    url = server.url("/orders/$call.cli?incoming=$call.incoming&seconds=$call.duration")
    flow = make_flow(loopback_allowed, webhook("w1", url, mappings=mappings), end())
    Flow.objects.filter(pk=flow.pk).update(layout={"w1": {"x": 60, "y": 60}, "end": {"x": 400, "y": 60}})
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    designer.open("w1")
    page.get_by_role("button", name="Test", exact=True).click()
    page.get_by_label("$call.cli").fill("+15550100")
    page.get_by_label("$call.incoming").fill("true")
    page.get_by_label("$call.duration").fill("42")
    page.click("#test-send")
    expect(page.locator(".test-status-line")).to_contain_text("200")

    form = page.locator("#save-widget-case")
    form.get_by_label("Test case name").fill("Shipped from the Test button")
    form.get_by_role("button", name="Save as test case").click()
    expect(form).to_contain_text("Saved: Run tests replays it.")
    case = FlowTestCase.objects.get(flow=flow)
    assert case.call == {"cli": "+15550100", "incoming": True, "duration": 42}  # a call's types, from sample text
    assert case.expect["variables"]["$flow.key.order_status"] == "shipped"

    page.click("#run-tests")
    expect(page.locator(".case-result.passed")).to_contain_text("Shipped from the Test button")
    assert len(server.requests) == 1  # the run used the pinned answer


def test_a_viewer_reads_the_status_and_history_but_cannot_publish_or_restore(page, live_server, bob, acme):
    flow = greeting_flow(acme)
    content = {**flow.revisions.get().wire_format(), "widgets": [assign("a1", "e1", greeting="bye"), end("e1")]}
    save_revision(flow, content, account=acme, user=None)
    sign_in(page, live_server, bob)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))

    expect(page.locator("#revision-status")).to_have_text("Draft · revision 2 (calls run 1)")
    expect(page.locator("#publish-flow, #run-tests")).to_have_count(0)
    page.click("#show-history")
    latest = page.locator(".history-row[data-revision='2']")
    latest.get_by_role("button", name="Show changes").click()
    expect(page.locator("#revision-diff table[data-widget='a1']")).to_contain_text("bye")
    expect(page.get_by_role("button", name="Restore this revision")).to_have_count(0)
