from phonon.lib.flow_diff import changed_fields, flow_changes, widget_diff


def webhook(url="https://a.example/x", mappings=None, **extra):
    return {
        "id": "w1",
        "type": "webhook",
        "config": {"url": url, "mappings": mappings or [], **extra},
        "next": {"0": "end", "1": "end"},
    }


def flow(*widgets, name="Orders", start="w1"):
    return {"name": name, "flow_end_webhook": False, "start": start, "widgets": list(widgets)}


END = {"id": "end", "type": "end"}


def test_the_first_revision_adds_every_widget_and_changes_no_setting():
    changes = flow_changes(None, flow(webhook(), END))
    assert changes == {"added": ["end", "w1"], "removed": [], "changed": {}, "settings": []}


def test_it_lists_widgets_added_removed_and_changed_with_their_fields():
    old = flow(webhook(), {"id": "a1", "type": "assign", "config": {}, "next": {"0": "end"}}, END)
    new = flow(webhook(url="https://b.example/x"), {"id": "end2", "type": "end"}, END, name="Orders v2")
    changes = flow_changes(old, new)
    assert changes["added"] == ["end2"]
    assert changes["removed"] == ["a1"]
    assert changes["changed"] == {"w1": ["config.url"]}
    assert changes["settings"] == ["name"]


def test_moving_widgets_in_the_list_is_no_change():
    no_change = {"added": [], "removed": [], "changed": {}, "settings": []}
    assert flow_changes(flow(webhook(), END), flow(END, webhook())) == no_change


def test_a_changed_mapping_path_reads_as_a_leaf_of_the_widget():
    old = webhook(mappings=[{"save_in": "$flow.key.st", "path": "data.status"}])
    new = webhook(mappings=[{"save_in": "$flow.key.st", "path": "data.state"}])
    assert widget_diff(old, new) == [{"path": "config.mappings.0.path", "old": "data.status", "new": "data.state"}]
    assert changed_fields(old, new) == ["config.mappings"]


def test_an_added_row_lists_each_of_its_leaves():
    old = webhook()
    new = webhook(mappings=[{"save_in": "$flow.key.st", "path": "data.status"}])
    assert widget_diff(old, new) == [
        {"path": "config.mappings.0.path", "old": None, "new": "data.status"},
        {"path": "config.mappings.0.save_in", "old": None, "new": "$flow.key.st"},
    ]


def test_a_changed_line_names_the_line():
    new = webhook()
    new["next"] = {"0": "end", "1": "other"}
    assert changed_fields(webhook(), new) == ["next.1"]


def test_secrets_are_compared_but_never_shown():
    old = webhook(auth={"type": "basic", "username": "u", "password_encrypted": "gAAAA-old"})
    new = webhook(auth={"type": "basic", "username": "u", "password_encrypted": "gAAAA-new"})
    assert widget_diff(old, new) == [{"path": "config.auth.password_encrypted", "old": "***", "new": "***"}]
    added = widget_diff(webhook(), new)
    assert {"path": "config.auth.password_encrypted", "old": None, "new": "***"} in added
    assert "gAAAA" not in repr(added)


def test_a_row_marked_secret_hides_its_earlier_plain_value_too():
    old = webhook(headers=[{"key": "X-Api-Key", "value": "k3y-123"}])
    new = webhook(headers=[{"key": "X-Api-Key", "secret": True, "value_encrypted": "gAAAA-new"}])

    diff = widget_diff(old, new)

    assert {"path": "config.headers.0.value", "old": "***", "new": None} in diff
    assert "k3y-123" not in repr(diff) and "gAAAA" not in repr(diff)
    moved = webhook(headers=[{"key": "Accept", "value": "json"}, {"key": "X-Api-Key", "secret": True}])
    moved_diff = widget_diff(webhook(headers=[{"key": "X-Api-Key", "value": "k3y-123"}, {"key": "Accept"}]), moved)
    assert "k3y-123" not in repr(moved_diff)  # the key moved down a row as it became secret
    plain = widget_diff(old, webhook(headers=[{"key": "X-Api-Key", "value": "k3y-456"}]))
    assert plain == [{"path": "config.headers.0.value", "old": "k3y-123", "new": "k3y-456"}]  # not secret: shown


def test_a_widget_present_on_one_side_only_is_all_leaves():
    diff = widget_diff(None, END)
    assert diff == [{"path": "id", "old": None, "new": "end"}, {"path": "type", "old": None, "new": "end"}]


def test_a_type_change_of_a_value_counts():
    assert widget_diff(webhook(timeout=5), webhook(timeout="5")) == [{"path": "config.timeout", "old": 5, "new": "5"}]


def test_numeric_path_parts_sort_as_numbers():
    rows = [{"save_in": f"$flow.key.v{n}", "path": "data.a"} for n in range(11)]
    diff = widget_diff(webhook(), webhook(mappings=rows))
    paths = [entry["path"] for entry in diff]
    assert paths.index("config.mappings.9.path") < paths.index("config.mappings.10.path")
