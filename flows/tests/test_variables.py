"""The variables an execution starts with."""

from __future__ import annotations

from flows.variables import OUTPUT_VARIABLES, initial_variables, invalid_names


def test_call_fields_and_user_keys_become_text_variables():
    call = {"cli": "555", "did": "1800", "incoming": True, "duration": 42, "hangup_cause": None, "start": 1.5}

    variables = initial_variables(call, {"lang": "en", "vip": False})

    assert variables == {
        "$call.cli": "555",
        "$call.did": "1800",
        "$call.incoming": "true",
        "$call.duration": "42",
        "$call.hangup_cause": None,
        "$call.start": "1.5",
        "$user.key.lang": "en",
        "$user.key.vip": "false",
    }


def test_nested_values_become_compact_json():
    assert initial_variables({}, {"tags": ["a", "b"], "meta": {"k": 1}}) == {
        "$user.key.tags": '["a","b"]',
        "$user.key.meta": '{"k":1}',
    }


def test_names_a_template_cannot_address_are_skipped_and_reported():
    user_keys = {"first name": "Ann", "lang-code": "en", "ok_1": "y"}

    assert initial_variables({}, user_keys) == {"$user.key.ok_1": "y"}
    assert invalid_names(user_keys) == ["first name", "lang-code"]


def test_the_output_variables_are_the_seven_of_the_spec():
    assert OUTPUT_VARIABLES == (
        "$flow.key.response_status",
        "$flow.key.response_status_code",
        "$flow.key.response_status_type",
        "$flow.key.response_duration",
        "$flow.key.response_raw",
        "$flow.key.response_error",
        "$flow.key.error_reason",
    )
