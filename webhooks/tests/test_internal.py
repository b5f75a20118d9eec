"""Internal webhooks: the catalogue, the /internal/v1/<name>/ endpoints, and the in-process path."""

from datetime import UTC, datetime

import pytest

from accounts.models import IpWhitelistEntry
from phone_numbers.models import DirectDialNumber
from phone_numbers.tests.factories import make_blocked_caller, make_direct_dial
from webhooks.internal_functions import INTERNAL_FUNCTIONS, call_internal_function


@pytest.fixture
def frozen_now(monkeypatch):
    """Sets the clock business_hours_check reads."""

    def freeze(moment: datetime) -> None:
        monkeypatch.setattr("webhooks.internal_functions.timezone.now", lambda: moment)

    return freeze


def test_the_catalogue_lists_every_function(alice_api):
    catalogue = alice_api.get("/api/v1/internal-webhooks/").json()
    assert {entry["name"] for entry in catalogue} >= {
        "cli_pause_update",
        "business_hours_check",
        "caller_blocklist_check",
    }
    pause = next(entry for entry in catalogue if entry["name"] == "cli_pause_update")
    assert pause["variable"] == "$flow.key.cli_pause_update"
    assert pause["methods"] == ["POST", "PUT"]
    assert pause["description"]


def test_the_catalogue_needs_a_token(client):
    assert client.get("/api/v1/internal-webhooks/").status_code in (401, 403)


# --- cli_pause_update ------------------------------------------------------------------------


def test_it_pauses_the_did_of_the_call_in_process(acme):
    number = make_direct_dial(acme, number="+911234")
    ok, text = call_internal_function(
        acme, "cli_pause_update", "POST", {"$call.did": "911234", "$user.key.action": "pause"}
    )
    assert (ok, text) == (True, "The Direct Dial +911234 was successfully paused")
    number.refresh_from_db()
    assert number.is_paused


def test_it_toggles_by_default_and_reads_variable_groups(acme):
    number = make_direct_dial(acme, number="+911234", is_paused=True)
    ok, text = call_internal_function(acme, "cli_pause_update", "POST", {"call": {"did": "+911234"}, "user_key": {}})
    assert (ok, text) == (True, "The Direct Dial +911234 was successfully unpaused")
    number.refresh_from_db()
    assert not number.is_paused


def test_it_cannot_pause_another_accounts_number(acme, globex):
    theirs = make_direct_dial(globex, number="+915555")
    ok, text = call_internal_function(acme, "cli_pause_update", "POST", {"number": "+915555", "action": "pause"})
    assert not ok
    assert text.startswith("The Direct Dial +915555 could not be paused")
    theirs.refresh_from_db()
    assert not theirs.is_paused


def test_it_refuses_an_unknown_action_and_a_missing_number(acme):
    make_direct_dial(acme, number="+911234")
    assert (
        call_internal_function(acme, "cli_pause_update", "POST", {"number": "+911234", "action": "explode"})[0] is False
    )
    ok, text = call_internal_function(acme, "cli_pause_update", "POST", {})
    assert not ok and "$call.did" in text


def test_an_unknown_function_or_method_fails_with_a_reason(acme):
    assert call_internal_function(acme, "nope", "POST", {}) == (
        False,
        "Unknown internal function 'nope'; "
        "choose one of cli_pause_update, business_hours_check, caller_blocklist_check.",
    )
    ok, text = call_internal_function(acme, "cli_pause_update", "GET", {})
    assert not ok and "use POST or PUT" in text


def test_the_http_endpoint_runs_the_same_handler(alice_api, acme):
    number = make_direct_dial(acme, number="+911234")
    response = alice_api.post("/internal/v1/cli_pause_update/", {"number": "+911234", "action": "pause"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "variable": "$flow.key.cli_pause_update",
        "value": "The Direct Dial +911234 was successfully paused",
        "ok": True,
    }
    assert DirectDialNumber.objects.get(pk=number.pk).is_paused


def test_the_http_endpoint_reports_failure_in_ok(alice_api, acme):
    body = alice_api.post(
        "/internal/v1/cli_pause_update/", {"number": "+90000", "action": "unpause"}, format="json"
    ).json()
    assert body["ok"] is False
    assert body["value"].startswith("The Direct Dial +90000 could not be unpaused")


def test_the_http_endpoint_refuses_other_methods_and_names(alice_api):
    assert alice_api.get("/internal/v1/cli_pause_update/").status_code == 405
    assert alice_api.get("/internal/v1/no_such_function/").status_code == 404


def test_an_unknown_function_name_is_a_404_naming_it_and_the_available_ones(alice_api):
    response = alice_api.get("/internal/v1/nope/")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "There is no internal function named 'nope'; the available ones are "
        "cli_pause_update, business_hours_check, caller_blocklist_check "
        "(GET /api/v1/internal-webhooks/ describes them)."
    }


def test_the_http_endpoint_needs_a_token(client):
    assert client.post("/internal/v1/cli_pause_update/", {"number": "1"}).status_code in (401, 403)


def test_the_http_endpoint_enforces_the_ip_whitelist(alice_api, acme):
    number = make_direct_dial(acme, number="+911234")
    IpWhitelistEntry.objects.create(account=acme, cidr="203.0.113.0/24")
    response = alice_api.post("/internal/v1/cli_pause_update/", {"number": "+911234", "action": "pause"}, format="json")
    assert response.status_code == 403
    assert "127.0.0.1" in response.json()["detail"]
    assert not DirectDialNumber.objects.get(pk=number.pk).is_paused
    allowed = alice_api.post(
        "/internal/v1/cli_pause_update/",
        {"number": "+911234", "action": "pause"},
        format="json",
        REMOTE_ADDR="203.0.113.9",
    )
    assert allowed.status_code == 200


def test_viewers_cannot_pause_over_http(bob_api, acme):
    make_direct_dial(acme, number="+911234")
    assert bob_api.post("/internal/v1/cli_pause_update/", {"number": "+911234"}, format="json").status_code == 403


# --- business_hours_check --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "parameters", "answer"),
    [
        (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), {}, "open"),  # a Friday, 10:00 UTC
        (datetime(2026, 11, 27, 17, 0, tzinfo=UTC), {}, "closed"),  # closing time is exclusive
        (datetime(2026, 11, 28, 10, 0, tzinfo=UTC), {}, "closed"),  # Saturday
        (datetime(2026, 11, 28, 10, 0, tzinfo=UTC), {"days": "mon-sun"}, "open"),
        # 10:00 UTC is 15:30 in Kolkata: after a 09:00-13:00 morning, inside a 14:00-18:00 afternoon.
        (datetime(2026, 11, 27, 10, 0, tzinfo=UTC), {"timezone": "Asia/Kolkata", "hours": "09:00-13:00"}, "closed"),
        (
            datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
            {"timezone": "Asia/Kolkata", "hours": "09:00-13:00,14:00-18:00"},
            "open",
        ),
        # A night shift opened on Friday is still open at 02:00 on Saturday.
        (datetime(2026, 11, 28, 2, 0, tzinfo=UTC), {"hours": "22:00-06:00", "days": "fri"}, "open"),
        (datetime(2026, 11, 29, 2, 0, tzinfo=UTC), {"hours": "22:00-06:00", "days": "fri"}, "closed"),
        (datetime(2026, 11, 27, 23, 59, tzinfo=UTC), {"hours": "00:00-24:00"}, "open"),
    ],
)
def test_business_hours_answers_open_or_closed(acme, frozen_now, moment, parameters, answer):
    frozen_now(moment)
    assert call_internal_function(acme, "business_hours_check", "GET", parameters) == (True, answer)


def test_business_hours_reads_user_keys_and_flow_keys(acme, frozen_now):
    frozen_now(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))  # Saturday
    assert call_internal_function(acme, "business_hours_check", "GET", {"$flow.key.days": "sat"}) == (True, "open")
    assert call_internal_function(acme, "business_hours_check", "GET", {"user_key": {"days": "sun"}}) == (
        True,
        "closed",
    )


@pytest.mark.parametrize(
    ("parameters", "words"),
    [
        ({"timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"hours": "9-5"}, "HH:MM"),
        ({"days": "funday"}, "mon-fri"),
    ],
)
def test_business_hours_explains_bad_parameters(acme, parameters, words):
    ok, text = call_internal_function(acme, "business_hours_check", "GET", parameters)
    assert not ok and words in text


def test_business_hours_over_http_takes_query_parameters(alice_api, frozen_now):
    frozen_now(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    body = alice_api.get("/internal/v1/business_hours_check/", {"days": "sat,sun"}).json()
    assert body == {"variable": "$flow.key.business_hours_check", "value": "open", "ok": True}


def test_viewers_may_run_read_only_functions_with_get(bob_api):
    assert bob_api.get("/internal/v1/business_hours_check/").status_code == 200


# --- caller_blocklist_check ------------------------------------------------------------------


def test_blocklist_answers_blocked_for_a_listed_caller(acme, globex):
    make_blocked_caller(acme, number="+442079460000")
    assert call_internal_function(acme, "caller_blocklist_check", "GET", {"$call.cli": "442079460000"}) == (
        True,
        "blocked",
    )
    assert call_internal_function(acme, "caller_blocklist_check", "GET", {"$call.cli": "+15550100"}) == (
        True,
        "allowed",
    )
    # Another account's list does not apply.
    assert call_internal_function(globex, "caller_blocklist_check", "GET", {"$call.cli": "+442079460000"}) == (
        True,
        "allowed",
    )


def test_blocklist_needs_a_number(acme):
    ok, text = call_internal_function(acme, "caller_blocklist_check", "POST", {})
    assert not ok and "$call.cli" in text


def test_blocklist_over_http(alice_api, acme):
    make_blocked_caller(acme, number="+442079460000")
    body = alice_api.post("/internal/v1/caller_blocklist_check/", {"number": "+44 20 7946 0000"}, format="json").json()
    assert body == {"variable": "$flow.key.caller_blocklist_check", "value": "blocked", "ok": True}


def test_every_function_documents_itself():
    for function in INTERNAL_FUNCTIONS.values():
        assert function.description and function.methods and function.variable == f"$flow.key.{function.name}"


def test_another_method_is_a_405_whose_allow_header_names_the_functions_methods(alice_api):
    response = alice_api.delete("/internal/v1/cli_pause_update/")

    assert response.status_code == 405
    assert response.json() == {"detail": "cli_pause_update does not accept DELETE; use POST or PUT."}
    assert {method.strip() for method in response["Allow"].split(",")} == {"POST", "PUT", "OPTIONS"}


@pytest.mark.parametrize(
    ("data", "field"),
    [([1, 2], "detail"), ("text", "detail"), ({"number": 911234}, "number"), ({"action": ["pause"]}, "action")],
)
def test_the_http_endpoint_refuses_a_body_the_schema_does_not_describe(alice_api, acme, data, field):
    number = make_direct_dial(acme, number="+911234")

    response = alice_api.post("/internal/v1/cli_pause_update/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not DirectDialNumber.objects.get(pk=number.pk).is_paused
