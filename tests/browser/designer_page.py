"""What a user does on the flow designer, as small steps the browser tests share."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


class DesignerPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def node(self, widget_id: str) -> Locator:
        """The box of a widget, found by the id it shows."""
        shown_id = self.page.locator(".wbox-id", has_text=re.compile(rf"^{re.escape(widget_id)}$"))
        return self.page.locator(".drawflow-node", has=shown_id)

    def add(self, widget_type: str) -> None:
        self.page.click(f"[data-add={widget_type}]")

    def move(self, widget_id: str, x: float, y: float) -> None:
        """Drag a box by its title so that its top-left corner lands near (x, y) on the screen."""
        head = self.node(widget_id).locator(".wbox-head").bounding_box()
        self.page.mouse.move(head["x"] + 10, head["y"] + 5)
        self.page.mouse.down()
        self.page.mouse.move(x + 10, y + 5, steps=10)
        self.page.mouse.up()

    def connect(self, from_widget: str, line: str, to_widget: str) -> None:
        """Drag a line from an output (0 or 1) to another box's input, and see the line drawn."""
        output = self.node(from_widget).locator(f".output_{int(line) + 1}").bounding_box()
        target = self.node(to_widget).locator(".input_1").bounding_box()
        drawn = self.page.locator("svg.connection")
        before = drawn.count()
        self.page.mouse.move(output["x"] + output["width"] / 2, output["y"] + output["height"] / 2)
        self.page.mouse.down()
        self.page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2, steps=10)
        self.page.mouse.up()
        expect(drawn, f"a line from {from_widget} line {line} to {to_widget}").to_have_count(before + 1)

    def branch_to_two_ends(self, widget_id: str = "w1") -> None:
        """Add two end widgets (w2, w3) and join the open widget's line 0 to w2 and line 1 to w3."""
        self.add("end")
        self.add("end")
        self.page.click("#done-widget")
        # w3 first: it was added below and to the right of w2, where w2 would land on top of its title.
        self.move("w3", 520, 420)
        self.move("w2", 520, 200)
        self.connect(widget_id, "0", "w2")
        self.connect(widget_id, "1", "w3")

    def open(self, widget_id: str) -> None:
        self.node(widget_id).locator(".wbox-summary").dblclick()
        expect(self.page.locator("#panel-title")).to_contain_text(widget_id)

    def add_row(self, rows: str, **values: str | bool) -> None:
        """Add a header/query-param/mapping/assignment row and fill it: add_row("headers", key=…, value=…)."""
        container = self.page.locator(f"[data-rows='config.{rows}']")
        container.locator("[data-add-row]").click()
        row = container.locator("tbody tr").last
        for column, value in values.items():
            field = row.locator(f"[data-col={column}]")
            if isinstance(value, bool):
                field.set_checked(value)
            else:
                field.fill(value)

    def write_notes(self, text: str) -> None:
        panel = self.page.locator("#notes-panel")
        if panel.get_attribute("open") is None:
            panel.locator("summary").click()
        editable = panel.locator(".note-editable")
        editable.click()
        self.page.keyboard.insert_text(text)

    def save(self) -> None:
        self.page.click("#save-flow")

    def expect_saved(self) -> None:
        """Saved, or a failure that quotes the problems the designer listed."""
        status = self.page.locator("#save-status")
        expect(status).not_to_have_text("Saving…")
        problems = self.page.locator("#flow-errors").inner_text()
        expect(status, f"the designer listed: {problems}").to_have_text("Saved")

    def field_errors(self, path: str) -> Locator:
        return self.page.locator(f"#widget-panel [data-field='{path}'] > .errorlist")

    def select_line(self, label: str) -> None:
        """Click the line whose number is `label`, on its number (which lets the click through to the line)."""
        self.lines()
        self.page.locator("svg.connection", has=self.page.locator(".line-label text", has_text=label)).locator(
            ".line-label circle"
        ).click(force=True)

    def lines(self) -> list[tuple[str, str]]:
        """(line label, css classes) of every line drawn on the canvas."""
        # A new line gets its label a frame after it is drawn: wait until every line has one.
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('svg.connection')].every(s => s.querySelector('.line-label text'))"
        )
        return self.page.eval_on_selector_all(
            "svg.connection",
            "svgs => svgs.map(s => [s.querySelector('.line-label text').textContent, s.getAttribute('class')])",
        )
