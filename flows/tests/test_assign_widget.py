"""The assign widget: flow variables set from templates, always along line 0."""

from __future__ import annotations

from flows.widgets.assign import run_assign_widget


def assign(*rows: tuple[str, str]) -> dict:
    return {"assignments": [{"variable": variable, "value": value} for variable, value in rows]}


def test_it_renders_each_value_as_plain_text():
    variables = {"$call.cli": "555", "$user.key.lang": "en"}

    outcome = run_assign_widget(
        assign(("$flow.key.greeting", "Hi ${call.cli}, lang=$user.key.lang"), ("$flow.key.copy", "$call.cli")),
        variables,
    )

    assert outcome.line == "0"
    assert outcome.variables == {"$flow.key.greeting": "Hi 555, lang=en", "$flow.key.copy": "555"}
    assert outcome.step == {"type": "assign", "assigned": ["$flow.key.greeting", "$flow.key.copy"]}
    assert outcome.persisted == []


def test_values_are_kept_verbatim_and_not_expanded_twice():
    tricky = 'a"b<c&d/e?f\n$call.did'

    outcome = run_assign_widget(assign(("$flow.key.x", "$flow.key.tricky")), {"$flow.key.tricky": tricky})

    assert outcome.variables == {"$flow.key.x": tricky}


def test_an_unset_variable_is_the_empty_string():
    outcome = run_assign_widget(assign(("$flow.key.x", "[$flow.key.missing][$call.none]")), {"$call.none": None})

    assert outcome.variables == {"$flow.key.x": "[][]"}


def test_a_later_assignment_sees_an_earlier_one():
    outcome = run_assign_widget(assign(("$flow.key.a", "1"), ("$flow.key.b", "$flow.key.a+1")), {})

    assert outcome.variables == {"$flow.key.a": "1", "$flow.key.b": "1+1"}


def test_it_leaves_the_given_variables_untouched():
    variables = {"$flow.key.a": "old"}

    outcome = run_assign_widget(assign(("$flow.key.a", "new")), variables)

    assert outcome.variables == {"$flow.key.a": "new"}
    assert variables == {"$flow.key.a": "old"}
