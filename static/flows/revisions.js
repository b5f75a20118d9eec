/* The designer's revisions bar (SPEC §14): Draft / Published, Publish, Run tests, History with a
 * per-widget diff and "Restore this revision". It talks to the JSON endpoints of
 * flows/revision_views.py (session + CSRF); the server decides everything (the publish gate, what
 * changed), this only shows it. Every value is put in the page as text, never as HTML. Viewers
 * (config.readOnly) see the status and the history: the page has no Publish or Run tests button for
 * them, and no Restore or "Save as test case" (writes, which the server refuses them). */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("designer-config").textContent);
  const urls = config.revisions;
  const readOnly = Boolean(config.readOnly);
  const $ = (selector) => document.querySelector(selector);
  const statusBadge = $("#revision-status");
  const publishButton = $("#publish-flow");
  const testsButton = $("#run-tests");
  const historyButton = $("#show-history");
  const panel = $("#revisions-panel");
  const message = $("#revision-message");
  const results = $("#test-results");
  const history = $("#history");
  const diffBox = $("#revision-diff");
  let flowId = config.flow.id;
  let status = urls.status;

  /* "/flows/0/revisions/0/diff/" with the flow id and the revision number in place of the zeros. */
  function urlFor(template, ...values) {
    let url = template;
    for (const value of values) url = url.replace("/0/", "/" + encodeURIComponent(value) + "/");
    return url;
  }

  function element(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  async function call(url, method, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = document.querySelector("[name=csrfmiddlewaretoken]").value;
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      return { status: 0, data: { detail: "The server could not be reached; try again." } };
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = { detail: "The server answered " + response.status + "." };
    }
    return { status: response.status, data };
  }

  function unsaved() {
    return $("#save-status").classList.contains("dirty");
  }

  function say(text, kind) {
    panel.hidden = false;
    message.hidden = !text;
    message.textContent = text || "";
    message.className = "revision-message message " + (kind || "");
  }

  function showStatus() {
    const ready = Boolean(flowId && status);
    for (const button of [publishButton, testsButton, historyButton]) if (button) button.disabled = !ready;
    if (!ready) {
      statusBadge.textContent = "Not saved yet";
      statusBadge.className = "badge";
      return;
    }
    if (status.draft) {
      statusBadge.textContent = "Draft · revision " + status.revision + " (calls run " + status.published_revision + ")";
      statusBadge.className = "badge draft";
    } else {
      statusBadge.textContent = "Published · revision " + status.published_revision;
      statusBadge.className = "badge ok";
    }
  }

  function showResults(list, title) {
    results.hidden = false;
    const heading = results.querySelector("h2");
    heading.textContent = title || "Test cases";
    const ul = results.querySelector("ul");
    ul.replaceChildren();
    if (!list.length) {
      ul.append(element("li", "This flow has no test cases yet: use “Save as test case” on an execution's page.", "muted"));
      return;
    }
    for (const result of list) {
      const item = element("li", null, "case-result " + (result.passed ? "passed" : "failed"));
      item.dataset.caseId = result.id;
      item.append(element("span", result.passed ? "passed" : "failed", "badge " + (result.passed ? "ok" : "bad")));
      item.append(" ", element("strong", result.name));
      if (result.differences.length) {
        const differences = element("ul", null, "differences");
        for (const difference of result.differences) differences.append(element("li", difference.message));
        item.append(differences);
      }
      ul.append(item);
    }
  }

  async function runTests() {
    if (unsaved()) say("Tests run on the saved draft: save your changes first to test them.", "warning");
    else say("");
    testsButton.disabled = true;
    const answer = await call(urlFor(urls.runTests, flowId), "POST");
    testsButton.disabled = false;
    if (answer.status !== 200) return say(answer.data.detail || "The tests could not be run.", "error");
    const failed = answer.data.results.filter((result) => !result.passed).length;
    showResults(answer.data.results, failed ? failed + " of " + answer.data.results.length + " test cases fail" : "Test cases: all pass");
  }

  async function publish(force) {
    if (unsaved()) return say("Save the flow first: Publish makes the saved draft the revision calls run.", "warning");
    publishButton.disabled = true;
    const answer = await call(urlFor(urls.publish, flowId), "POST", force ? { force: true } : {});
    publishButton.disabled = false;
    if (answer.status === 409) {
      say(answer.data.detail, "error");
      showResults(answer.data.failing, "Failing test cases");
      const forceButton = element("button", "Publish anyway", "danger");
      forceButton.type = "button";
      forceButton.id = "force-publish";
      forceButton.addEventListener("click", () => publish(true));
      message.append(" ", forceButton);
      return;
    }
    if (answer.status !== 200) return say(answer.data.detail || "Not published.", "error");
    status = answer.data;
    showStatus();
    say("Published revision " + status.published_revision + (force ? " (forced past failing test cases)." : "."), "success");
    if (!history.hidden) loadHistory();
  }

  function describeChanges(changes) {
    const parts = [];
    if (changes.added && changes.added.length) parts.push("added " + changes.added.join(", "));
    if (changes.removed && changes.removed.length) parts.push("removed " + changes.removed.join(", "));
    for (const [id, fields] of Object.entries(changes.changed || {})) parts.push("changed " + id + " (" + fields.join(", ") + ")");
    if (changes.settings && changes.settings.length) parts.push("changed the flow's " + changes.settings.join(", "));
    return parts.join("; ") || "no change";
  }

  async function loadHistory() {
    const answer = await call(urlFor(urls.history, flowId), "GET");
    if (answer.status !== 200) return say(answer.data.detail || "The history could not be read.", "error");
    status = answer.data;
    showStatus();
    history.hidden = false;
    const list = history.querySelector("ol");
    list.replaceChildren();
    for (const revision of answer.data.revisions) {
      const item = element("li", null, "history-row");
      item.dataset.revision = revision.number;
      const head = element("div", null, "history-head");
      head.append(element("strong", "Revision " + revision.number));
      if (revision.published) head.append(" ", element("span", "published", "badge ok"));
      if (revision.forced) head.append(" ", element("span", "forced", "badge bad"));
      const when = new Date(revision.created_at).toLocaleString();
      head.append(" ", element("span", "by " + (revision.created_by || "someone") + ", " + when, "muted"));
      if (revision.restored_from) head.append(" ", element("span", "restored from " + revision.restored_from, "muted"));
      item.append(head, element("div", describeChanges(revision.changes), "history-changes"));
      const buttons = element("div", null, "history-buttons");
      const diffButton = element("button", "Show changes");
      diffButton.type = "button";
      diffButton.addEventListener("click", () => showDiff(revision.number));
      buttons.append(diffButton);
      if (!readOnly) {
        const restoreButton = element("button", "Restore this revision");
        restoreButton.type = "button";
        restoreButton.addEventListener("click", () => restore(revision.number));
        buttons.append(" ", restoreButton);
      }
      item.append(buttons);
      list.append(item);
    }
  }

  function shown(value) {
    if (value === null || value === undefined) return "—";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  async function showDiff(number) {
    const answer = await call(urlFor(urls.diff, flowId, number), "GET");
    if (answer.status !== 200) return say(answer.data.detail || "The changes could not be read.", "error");
    diffBox.hidden = false;
    diffBox.replaceChildren(
      element("h3", "Revision " + number + (answer.data.previous ? " against " + answer.data.previous : " (the first)"))
    );
    const widgets = Object.entries(answer.data.widgets);
    if (!widgets.length) diffBox.append(element("p", "No widget changed.", "muted"));
    for (const [widgetId, rows] of widgets) {
      const table = element("table", null, "diff kv");
      table.dataset.widget = widgetId;
      table.append(element("caption", "Widget " + widgetId));
      const head = element("tr");
      const before = answer.data.previous ? "Revision " + answer.data.previous : "Before";
      head.append(element("th", "Field"), element("th", before), element("th", "Revision " + number));
      const thead = element("thead");
      thead.append(head);
      table.append(thead);
      const body = element("tbody");
      for (const row of rows) {
        const tr = element("tr");
        tr.append(element("th", row.path), element("td", shown(row.old), "old"), element("td", shown(row.new), "new"));
        body.append(tr);
      }
      table.append(body);
      diffBox.append(table);
    }
    diffBox.scrollIntoView({ block: "nearest" }); // the panel scrolls: the history may hide it
  }

  async function restore(number) {
    if (unsaved() && !window.confirm("Restoring replaces your unsaved changes. Restore revision " + number + "?")) return;
    const answer = await call(urlFor(urls.restore, flowId, number), "POST");
    if (answer.status !== 201) return say(answer.data.detail || "Not restored.", "error");
    window.location.reload(); // the designer shows the new draft
  }

  /* "Save as test case" under a widget's test result: the call's sample values and the answer pinned,
   * expecting what the saved draft does with it (flows.test_cases.case_from_widget_answer). */
  const NO_ANSWER_REASONS = ["TIMEOUT", "CONNECTION_ERROR", "BLOCKED_DESTINATION", "RESPONSE_TOO_LARGE", "REDIRECTION"];

  function pinnedAnswer(result) {
    if (result.request && result.request.function) {
      return { status_code: result.line === 0 ? 200 : 500, headers: {}, body: String(result.response.result || "") };
    }
    if (result.response && !result.response.truncated) {
      return { status_code: result.response.status_code, headers: result.response.headers || {}, body: result.response.body || "" };
    }
    if (!result.response && NO_ANSWER_REASONS.includes(result.error_reason)) {
      return { status_code: null, headers: {}, body: "", error_reason: result.error_reason };
    }
    return null;
  }

  /* The sample values are text; a call's incoming is true/false and its duration a number (SPEC §7). */
  function callValue(field, value) {
    if (field === "incoming" && (value === "true" || value === "false")) return value === "true";
    if (field === "duration" && /^[0-9]+$/.test(value || "")) return Number(value);
    return value;
  }

  function offerTestCase(event) {
    const { widget, variables, result } = event.detail;
    const box = document.getElementById("test-result");
    const answer = pinnedAnswer(result);
    const form = element("form", null, "save-widget-case");
    form.id = "save-widget-case";
    if (!flowId) {
      form.append(element("p", "Save the flow to keep this answer as a test case.", "muted"));
      return box.append(form);
    }
    if (!answer) {
      form.append(element("p", "This answer cannot be pinned as a test case (it was not sent, or is over 64 KiB).", "muted"));
      return box.append(form);
    }
    const label = element("label", "Test case name ");
    const name = element("input");
    name.name = "name";
    name.maxLength = 200;
    name.placeholder = "e.g. Shipped order";
    label.append(name);
    const button = element("button", "Save as test case");
    button.type = "submit";
    const note = element("span", "", "muted");
    form.append(label, " ", button, " ", note);
    form.addEventListener("submit", async (submitted) => {
      submitted.preventDefault();
      const callFields = {};
      const userKeys = {};
      for (const [variable, value] of Object.entries(variables || {})) {
        if (variable.startsWith("$call.")) callFields[variable.slice(6)] = callValue(variable.slice(6), value);
        else if (variable.startsWith("$user.key.")) userKeys[variable.slice(10)] = value;
      }
      const body = { name: name.value.trim(), widget, answer, call: callFields, user_keys: userKeys };
      const saved = await call(urlFor(urls.fromWidgetTest, flowId), "POST", body);
      if (saved.status === 201) note.textContent = "Saved: Run tests replays it.";
      else note.textContent = saved.data.errors ? Object.values(saved.data.errors).flat().join(" ") : saved.data.detail || "Not saved.";
    });
    box.append(form);
  }

  if (!readOnly) {
    document.addEventListener("phonon:widget-tested", offerTestCase);
    publishButton.addEventListener("click", () => publish(false));
    testsButton.addEventListener("click", runTests);
  }
  historyButton.addEventListener("click", () => {
    const open = history.hidden;
    historyButton.setAttribute("aria-expanded", String(open));
    if (open) {
      panel.hidden = false;
      loadHistory();
    } else {
      history.hidden = true;
      diffBox.hidden = true;
    }
  });
  document.addEventListener("phonon:flow-saved", (event) => {
    flowId = event.detail.id;
    status = event.detail.status;
    showStatus();
    if (!history.hidden) loadHistory();
  });
  showStatus();
})();
