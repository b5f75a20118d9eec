/* The flow designer.
 *
 * Widgets are Drawflow nodes on the canvas; the page keeps each widget's id, type and config
 * in `state.widgets`, and reads the lines (the widget's `next`) and box positions back from
 * Drawflow when saving. Drawflow numbers outputs output_1, output_2: they are lines "0"
 * (success) and "1" (failure) of the wire format (SPEC §6).
 *
 * Saving posts {name, flow_end_webhook, start, widgets, layout} to the page's own URL; a 400
 * answers {errors: {dotted path: [messages]}}, shown beside the field each path names.
 *
 * Every widget type has notes (config.notes). The page holds one Summernote editor, which
 * openPanel moves into the open widget's form (its data-notes-slot). The notes count and
 * "empty editor" test are the shared ones of static/notes/notes_editor.js (window.PhononNotes),
 * which the page loads first.
 *
 * Keyboard: boxes are focusable (Enter opens the form), Esc closes it, Delete/Backspace removes
 * the selected line or box whenever focus is not in a field, Ctrl+Z / Ctrl+Shift+Z undo and redo
 * canvas edits (boxes added, moved, deleted, lines drawn or removed, the start mark). Viewers
 * (config.readOnly) get the same canvas and forms with nothing to change.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("designer-config").textContent);
  // The lines of each type and the webhook config keys come from the server (flows.validation,
  // flows.widgets.webhook_config), so the page and validate_flow never disagree.
  const TYPES = {
    webhook: { label: "Webhook", outputs: config.lines.webhook.length },
    assign: { label: "Assign", outputs: config.lines.assign.length },
    end: { label: "End", outputs: config.lines.end.length },
  };
  const LINE_OF_OUTPUT = { output_1: "0", output_2: "1" };
  const OUTPUT_OF_LINE = { 0: "output_1", 1: "output_2" };
  const CUSTOM_KEYS = config.webhookKeys.custom;
  const INTERNAL_KEYS = config.webhookKeys.internal;
  const FIELD_LABELS = {
    name: "Flow name", start: "Start widget", flow_end_webhook: "Webhook for the flow",
    "config.mode": "Mode", "config.url": "URL", "config.method": "Method",
    "config.auth": "Authentication", "config.auth.type": "Authentication",
    "config.auth.username": "Username", "config.auth.password": "Password",
    "config.headers": "Headers", "config.query_params": "Query parameters",
    "config.body_type": "Body type", "config.body": "Body", "config.response_type": "Response type",
    "config.mappings": "Object mapping", "config.wait_for_response": "Wait for response",
    "config.timeout": "Timeout", "config.hold_music": "Hold music",
    "config.persist_response": "Persist response", "config.notes": "Notes",
    "config.function": "Function", "config.parameters": "Parameters",
    "config.assignments": "Assignments", next: "Lines", type: "Type", label: "Label",
  };

  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

  const canvas = $("#canvas");
  const panel = $("#widget-panel");
  const nameInput = $("#flow-name");
  const flowEndInput = $("#flow-end-webhook");
  const saveButton = $("#save-flow");
  const saveStatus = $("#save-status");
  const flowErrors = $("#flow-errors");
  const readOnly = Boolean(config.readOnly);

  const state = {
    flowId: config.flow.id,
    saveUrl: config.saveUrl,
    start: config.flow.start || "",
    widgets: new Map(), // widget id -> {id, type, config, node}
    widgetOfNode: new Map(), // Drawflow node id (string) -> widget id
    open: null,
    errors: {},
    // Widgets as last saved: a widget test names one of these to use its stored secrets.
    savedWidgetIds: new Set(config.flow.widgets.map((widget) => widget.id)),
    dirty: false,
    loading: true,
  };

  const editor = new Drawflow(canvas);
  editor.reroute = false;
  editor.start();
  // "view" lets a viewer pan and zoom, but not move boxes or draw and delete lines.
  if (readOnly) editor.editor_mode = "view";

  /* ---------------------------------------------------------------- helpers */

  function escapeHtml(text) {
    return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function getPath(object, path) {
    return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
  }

  function setPath(object, path, value) {
    const keys = path.split(".");
    const last = keys.pop();
    let target = object;
    for (const key of keys) {
      if (target[key] == null || typeof target[key] !== "object") target[key] = {};
      target = target[key];
    }
    target[last] = value;
  }

  function markDirty() {
    if (state.loading) return;
    canvasHistory.recordSoon();
    state.dirty = true;
    saveStatus.textContent = "Unsaved changes";
    saveStatus.className = "save-status dirty";
  }

  function nextWidgetId() {
    let highest = 0;
    for (const id of state.widgets.keys()) {
      const match = /^w(\d+)$/.exec(id);
      if (match) highest = Math.max(highest, Number(match[1]));
    }
    return "w" + (highest + 1);
  }

  function defaultConfig(type) {
    if (type === "webhook") {
      return {
        mode: "custom", url: "", method: "POST", auth: { type: "none" }, headers: [], query_params: [],
        body_type: "none", body: "", response_type: "json", mappings: [], wait_for_response: true,
        timeout: 60, hold_music: false, persist_response: false, notes: "",
        function: "", parameters: [],
        ...structuredClone(config.resilienceDefaults),
      };
    }
    if (type === "assign") return { assignments: [], notes: "" };
    return { notes: "" };
  }

  /** Fills in what a saved widget may leave out, so every form field has a value. */
  function completeConfig(type, saved) {
    const complete = { ...defaultConfig(type), ...(saved || {}) };
    if (type === "webhook") {
      complete.auth = { type: "none", ...(saved && saved.auth) };
      complete.retries = { ...config.resilienceDefaults.retries, ...(saved && saved.retries) };
      complete.cache = { ...config.resilienceDefaults.cache, ...(saved && saved.cache) };
    }
    return complete;
  }

  /* ---------------------------------------------------------------- widgets on the canvas */

  function summaryOf(widget) {
    const c = widget.config;
    if (widget.type === "webhook") {
      if (c.mode === "internal") return "Internal: " + (c.function || "choose a function");
      return (c.method || "") + " " + (c.url || "no URL yet");
    }
    if (widget.type === "assign") {
      const count = (c.assignments || []).length;
      return count === 1 ? "1 assignment" : count + " assignments";
    }
    return "The flow ends here";
  }

  function errorCount(widgetId) {
    const prefix = "widgets." + widgetId;
    return Object.entries(state.errors)
      .filter(([path]) => path === prefix || path.startsWith(prefix + "."))
      .reduce((sum, [, messages]) => sum + messages.length, 0);
  }

  function refreshNode(widget) {
    const element = document.getElementById("node-" + widget.node);
    if (!element) return;
    const errors = errorCount(widget.id);
    element.classList.toggle("is-start", state.start === widget.id);
    element.classList.toggle("has-errors", errors > 0);
    const label = widget.label ? " " + widget.label : "";
    element.setAttribute(
      "aria-label",
      TYPES[widget.type].label + " widget " + widget.id + label + (state.start === widget.id ? ", the start" : "") +
        (errors ? ", " + errors + (errors === 1 ? " error" : " errors") : "") + ". Enter opens its form."
    );
    element.querySelector(".drawflow_content_node").innerHTML =
      '<div class="wbox-head"><span class="wbox-type">' + TYPES[widget.type].label + "</span>" +
      '<span class="wbox-id">' + escapeHtml(widget.id) + "</span></div>" +
      (widget.label ? '<div class="wbox-label">' + escapeHtml(widget.label) + "</div>" : "") +
      '<div class="wbox-summary">' + escapeHtml(summaryOf(widget)) + "</div>" +
      '<div class="wbox-flags">' +
      (state.start === widget.id ? '<span class="flag start">Start</span>' : "") +
      (errors ? '<span class="flag errors">' + errors + (errors === 1 ? " error" : " errors") + "</span>" : "") +
      (circuitOpen(widget) ? '<span class="flag circuit-open" title="Calls to this endpoint fail at once with CIRCUIT_OPEN">Circuit open</span>' : "") +
      "</div>";
  }

  /** scheme://host:port of a URL, as webhooks.endpoints names circuits; "" when it cannot be read. */
  function originOf(url) {
    try {
      const parsed = new URL(url);
      const port = parsed.port || (parsed.protocol === "https:" ? "443" : "80");
      return parsed.protocol + "//" + parsed.hostname.toLowerCase() + ":" + port;
    } catch (error) {
      return "";
    }
  }

  /** True when the widget waits for an endpoint whose circuit is open (SPEC §15): its calls fail at once. */
  function circuitOpen(widget) {
    return widget.type === "webhook" && widget.config.mode === "custom" && widget.config.wait_for_response &&
      config.openCircuits.includes(originOf(widget.config.url || ""));
  }

  function refreshAllNodes() {
    state.widgets.forEach(refreshNode);
    $("#canvas-empty").hidden = state.widgets.size > 0;
  }

  function addWidget(type, id, widgetConfig, position, label = "") {
    const widget = { id, type, label: label || "", config: completeConfig(type, widgetConfig), node: null };
    const inputs = 1;
    widget.node = String(
      editor.addNode(type, inputs, TYPES[type].outputs, position.x, position.y, "widget widget-" + type, { widget: id }, "")
    );
    state.widgets.set(id, widget);
    state.widgetOfNode.set(widget.node, id);
    const element = document.getElementById("node-" + widget.node);
    element.tabIndex = 0;
    element.setAttribute("role", "button");
    refreshNode(widget);
    $("#canvas-empty").hidden = true;
    return widget;
  }

  /** Where a new box goes: the visible part of the canvas, a step lower for each new box. */
  function freePosition() {
    const count = state.widgets.size;
    const x = (-editor.canvas_x + 60 + (count % 4) * 250) / editor.zoom;
    const y = (-editor.canvas_y + 50 + (Math.floor(count / 4) % 4) * 150 + (count % 4) * 30) / editor.zoom;
    return { x, y };
  }

  /** Positions for a flow saved without a layout (e.g. through the API): columns by depth from the start. */
  function autoLayout(flow) {
    const byId = new Map(flow.widgets.map((w) => [w.id, w]));
    const depth = new Map();
    const queue = flow.start && byId.has(flow.start) ? [flow.start] : [];
    if (queue.length) depth.set(flow.start, 0);
    while (queue.length) {
      const id = queue.shift();
      for (const target of Object.values(byId.get(id).next || {})) {
        if (byId.has(target) && !depth.has(target)) {
          depth.set(target, depth.get(id) + 1);
          queue.push(target);
        }
      }
    }
    const maxDepth = Math.max(-1, ...depth.values());
    const rows = new Map();
    const positions = {};
    for (const widget of flow.widgets) {
      const column = depth.has(widget.id) ? depth.get(widget.id) : maxDepth + 1;
      const row = rows.get(column) || 0;
      rows.set(column, row + 1);
      positions[widget.id] = { x: 40 + column * 280, y: 40 + row * 170 };
    }
    return positions;
  }

  function connect(fromWidget, line, toWidget) {
    const from = state.widgets.get(fromWidget);
    const to = state.widgets.get(toWidget);
    const output = OUTPUT_OF_LINE[line];
    if (!from || !to || !output || from.type === "end") return;
    if (Number(line) >= TYPES[from.type].outputs) return;
    editor.addConnection(from.node, to.node, output, "input_1");
  }

  function nextOf(widget) {
    const node = editor.getNodeFromId(widget.node);
    const next = {};
    for (const [output, { connections }] of Object.entries(node.outputs)) {
      if (connections.length) next[LINE_OF_OUTPUT[output]] = state.widgetOfNode.get(String(connections[0].node));
    }
    return next;
  }

  /* Line labels: a small "0" or "1" on the middle of each line, redrawn as boxes move. */
  let labelsScheduled = false;
  function scheduleLineLabels() {
    if (labelsScheduled) return;
    labelsScheduled = true;
    requestAnimationFrame(() => {
      labelsScheduled = false;
      drawLineLabels();
    });
  }

  function drawLineLabels() {
    for (const svg of $$("svg.connection", canvas)) {
      const path = svg.querySelector(".main-path");
      // A line being drawn has no output class yet; Drawflow adds it to the same element on drop.
      const output = Object.keys(LINE_OF_OUTPUT).find((name) => svg.classList.contains(name));
      if (!path || !output) continue;
      const line = LINE_OF_OUTPUT[output];
      svg.classList.toggle("line-0", line === "0");
      svg.classList.toggle("line-1", line === "1");
      let label = svg.querySelector("g.line-label");
      if (!label) {
        label = document.createElementNS("http://www.w3.org/2000/svg", "g");
        label.setAttribute("class", "line-label");
        label.innerHTML = '<circle r="10"></circle><text text-anchor="middle" dominant-baseline="central"></text>';
        svg.appendChild(label);
      }
      label.querySelector("text").textContent = line;
      const length = path.getTotalLength();
      if (!length) continue;
      const point = path.getPointAtLength(length / 2);
      label.setAttribute("transform", "translate(" + point.x + " " + point.y + ")");
      drawDeleteControl(svg, path.classList.contains("selected") ? point : null);
    }
  }

  /** A selected line gets a visible "×" beside its number, for those without a Delete key. */
  function drawDeleteControl(svg, point) {
    let control = svg.querySelector("g.line-delete");
    if (!point) {
      if (control) control.remove();
      return;
    }
    if (!control) {
      control = document.createElementNS("http://www.w3.org/2000/svg", "g");
      control.setAttribute("class", "line-delete");
      control.setAttribute("role", "button");
      control.setAttribute("aria-label", "Delete this line");
      control.innerHTML = '<title>Delete this line</title><circle r="11"></circle>' +
        '<text text-anchor="middle" dominant-baseline="central">×</text>';
      svg.appendChild(control);
    }
    control.setAttribute("transform", "translate(" + (point.x + 24) + " " + point.y + ")");
  }

  /** The line a delete control sits on, removed (Drawflow's classes name its two ends). */
  function removeLineOf(control) {
    const classes = control.closest("svg.connection").classList;
    const inNode = Array.from(classes).find((name) => name.startsWith("node_in_node-")).slice(13);
    const outNode = Array.from(classes).find((name) => name.startsWith("node_out_node-")).slice(14);
    const output = Array.from(classes).find((name) => /^output_\d+$/.test(name));
    const input = Array.from(classes).find((name) => /^input_\d+$/.test(name));
    editor.connection_selected = null;
    editor.removeSingleConnection(outNode, inNode, output, input);
  }

  editor.on("connectionCreated", (connection) => {
    // One line per output: a new line from an output replaces the old one.
    const node = editor.getNodeFromId(connection.output_id);
    for (const other of node.outputs[connection.output_class].connections.slice()) {
      if (String(other.node) !== String(connection.input_id)) {
        editor.removeSingleConnection(connection.output_id, other.node, connection.output_class, other.output);
      }
    }
    markDirty();
    scheduleLineLabels();
  });
  editor.on("connectionRemoved", () => {
    markDirty();
    scheduleLineLabels();
  });
  editor.on("nodeMoved", () => {
    markDirty();
    scheduleLineLabels();
  });
  editor.on("mouseMove", scheduleLineLabels);
  editor.on("connectionSelected", scheduleLineLabels);
  editor.on("connectionUnselected", scheduleLineLabels);
  editor.on("zoom", scheduleLineLabels);
  editor.on("nodeRemoved", (nodeId) => {
    const widgetId = state.widgetOfNode.get(String(nodeId));
    state.widgetOfNode.delete(String(nodeId));
    if (state.widgets.has(widgetId)) canvasHistory.keep(state.widgets.get(widgetId));
    state.widgets.delete(widgetId);
    if (state.start === widgetId) state.start = "";
    if (state.open === widgetId) closePanel();
    refreshAllNodes();
    markDirty();
  });
  canvas.addEventListener("dblclick", (event) => {
    const node = event.target.closest(".drawflow-node");
    if (node) openPanel(state.widgetOfNode.get(node.id.slice(5)));
  });
  /* A box opens its form on a click that did not drag it, once the click is over: opening it on
   * the press (Drawflow's nodeSelected) put the form under the finger on a phone, and the same
   * tap landed on whatever field was there. */
  let pressedAt = null;
  canvas.addEventListener("pointerdown", (event) => {
    pressedAt = { x: event.clientX, y: event.clientY };
  }, true);
  // Drawflow's "view" mode (viewers) cancels the touch, so a tap sends no click there: the
  // pointer's release opens the form instead (no click follows it to land on the form).
  canvas.addEventListener(readOnly ? "pointerup" : "click", (event) => {
    const node = event.target.closest(".drawflow-node");
    if (!node || event.target.closest(".output, .input")) return;
    const moved = pressedAt && Math.hypot(event.clientX - pressedAt.x, event.clientY - pressedAt.y) > 4;
    if (!moved) openPanel(state.widgetOfNode.get(node.id.slice(5)));
  });

  /* ---------------------------------------------------------------- the widget form */

  function openWidget() {
    return state.open ? state.widgets.get(state.open) : null;
  }

  function openPanel(widgetId) {
    const widget = state.widgets.get(widgetId);
    if (!widget) return;
    state.open = widgetId;
    panel.hidden = false;
    panel.dataset.type = widget.type;
    $("#panel-title").textContent = TYPES[widget.type].label + " widget · " + widget.id;
    $("#panel-body").scrollTop = 0;
    for (const section of $$("[data-for-type]", panel)) section.hidden = section.dataset.forType !== widget.type;
    placeNotesPanel(widget);
    fillForm(widget);
    showWidgetErrors(widget.id);
    for (const node of $$(".drawflow-node.open", canvas)) node.classList.remove("open");
    const element = document.getElementById("node-" + widget.node);
    if (element) element.classList.add("open");
    panel.dispatchEvent(new CustomEvent("widget-opened", { detail: widget }));
  }

  function closePanel() {
    const widget = openWidget();
    const hadFocus = panel.contains(document.activeElement);
    state.open = null;
    panel.hidden = true;
    for (const node of $$(".drawflow-node.open", canvas)) node.classList.remove("open");
    // Back to the box the form belonged to, so the keyboard carries on where it was.
    const element = widget && document.getElementById("node-" + widget.node);
    if (element && hadFocus) element.focus();
  }

  function fillInternalChoices(widget) {
    const functionSelect = $("#wf-function");
    const functions = config.internalFunctions;
    functionSelect.innerHTML = functions.length
      ? '<option value="">Choose a function…</option>' +
        functions.map((f) => '<option value="' + escapeHtml(f.name) + '">' + escapeHtml(f.name) + "</option>").join("")
      : '<option value="">No internal functions are available</option>';
    const chosen = functions.find((f) => f.name === widget.config.function);
    const methodSelect = $("#wf-internal-method");
    const methods = chosen ? chosen.methods : [];
    methodSelect.innerHTML = methods.map((m) => "<option>" + escapeHtml(m) + "</option>").join("");
    if (chosen && widget.config.mode === "internal" && !methods.includes(widget.config.method) && methods.length) {
      widget.config.method = methods[0];
    }
    $("#function-help").innerHTML = chosen
      ? escapeHtml(chosen.description) + " The result lands in <code>" + escapeHtml(chosen.variable) + "</code>."
      : "";
  }

  function fillForm(widget) {
    const section = $('[data-for-type="' + widget.type + '"]', panel);
    if (widget.type === "webhook") fillInternalChoices(widget);
    for (const input of $$("[data-bind]", section)) {
      const value = getPath(widget, input.dataset.bind);
      if (input.type === "radio") input.checked = value === input.value;
      else if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = value ?? "";
    }
    for (const input of $$("[data-bind-list]", section)) {
      input.checked = (getPath(widget, input.dataset.bindList) || []).includes(input.value);
    }
    for (const rows of $$("[data-rows]", section)) renderRows(rows, getPath(widget, rows.dataset.rows) || []);
    if (widget.type === "webhook") {
      // A stored password arrives as config.mask, which the field shows (dots) and saving sends
      // back to keep it, as for a secret row; blanked, the placeholder says it is kept too.
      const passwordSet = Boolean(widget.config.auth && widget.config.auth.password_set);
      $("#password-help").hidden = !passwordSet;
      $("#wf-password").placeholder = passwordSet ? "•••••• (unchanged)" : "";
    }
    $("#wf-label").value = widget.label || "";
    setNotes(widget.config.notes || "");
    $("#start-badge").hidden = state.start !== widget.id;
    $("#make-start").hidden = readOnly || state.start === widget.id;
    updateVisibility(widget);
  }

  /** Shows only the fields that apply: the mode's, basic auth's, a body unless none, the wait options. */
  function updateVisibility(widget) {
    if (widget.type !== "webhook") return;
    const c = widget.config;
    for (const part of $$("[data-for-mode]", panel)) part.hidden = part.dataset.forMode !== c.mode;
    for (const part of $$("[data-for-auth]", panel)) part.hidden = part.dataset.forAuth !== (c.auth && c.auth.type);
    for (const part of $$("[data-unless-body]", panel)) part.hidden = c.body_type === part.dataset.unlessBody;
    for (const part of $$("[data-if-wait]", panel)) part.hidden = !c.wait_for_response;
    for (const part of $$("[data-unless-wait]", panel)) part.hidden = c.wait_for_response;
    $("#circuit-warning").hidden = !circuitOpen(widget);
  }

  function renderRows(container, items) {
    const columns = container.dataset.columns.split(",");
    const body = $("tbody", container);
    body.innerHTML = "";
    items.forEach((item) => {
      const row = $("template", container).content.firstElementChild.cloneNode(true);
      for (const column of columns) {
        const input = $('[data-col="' + column + '"]', row);
        if (input.type === "checkbox") input.checked = Boolean(item[column]);
        else input.value = item[column] ?? "";
      }
      maskSecretValue(row);
      body.appendChild(row);
    });
    $("table", container).hidden = items.length === 0;
    panel.dispatchEvent(new CustomEvent("rows-rendered", { detail: container }));
  }

  /** A row marked secret types its value like a password; "***" stands for the stored value. */
  function maskSecretValue(row) {
    const secret = $('[data-col="secret"]', row);
    const value = $('[data-col="value"]', row);
    if (!secret || !value) return;
    value.type = secret.checked ? "password" : "text";
    value.title = secret.checked ? "Secret: " + config.mask + " or blank keeps the stored value" : "";
  }

  function readRows(container) {
    const columns = container.dataset.columns.split(",");
    return $$("tbody tr", container).map((row) => {
      const item = {};
      for (const column of columns) {
        const input = $('[data-col="' + column + '"]', row);
        item[column] = input.type === "checkbox" ? input.checked : input.value;
      }
      return item;
    });
  }

  function readValue(input) {
    if (input.type === "checkbox") return input.checked;
    if (input.type === "number") return input.value === "" ? null : Number(input.value);
    return input.value;
  }

  /** Picking an Advanced → Webhook entry in the URL field brings its method, authentication and
   * body type along. Its password stays on the webhook (never sent to a browser): the form
   * asks for it beside the username. */
  function takeRegisteredWebhook(widget) {
    const picked = config.registeredWebhooks.find((webhook) => webhook.url === widget.config.url);
    const note = $("#url-picked");
    if (!picked) {
      note.hidden = true;
      return;
    }
    const c = widget.config;
    c.method = picked.method;
    c.body_type = picked.body_type;
    c.auth = picked.auth_type === "basic" ? { type: "basic", username: picked.username } : { type: "none" };
    fillForm(widget);
    for (const field of ["config.method", "config.body_type", "config.auth"]) clearFieldErrors(widget.id, field);
    note.textContent =
      "From the webhook “" + picked.name + "”: method " + picked.method + ", body type " + picked.body_type +
      (picked.auth_type === "basic"
        ? ", basic authentication as " + picked.username + ". Type its password below: passwords stay on the webhook."
        : ", no authentication.");
    note.hidden = false;
  }

  function afterEdit(widget, fieldPath) {
    if (fieldPath) clearFieldErrors(widget.id, fieldPath);
    refreshNode(widget);
    markDirty();
  }

  panel.addEventListener("input", onPanelEdit);
  panel.addEventListener("change", onPanelEdit);

  function onPanelEdit(event) {
    const widget = openWidget();
    const input = event.target;
    if (!widget) return;
    const rows = input.closest("[data-rows]");
    if (rows) {
      if (input.dataset.col === "secret") maskSecretValue(input.closest("tr"));
      setPath(widget, rows.dataset.rows, readRows(rows));
      afterEdit(widget, rows.dataset.rows);
      return;
    }
    if (input.dataset.bind) {
      if (input.type === "radio" && !input.checked) return;
      setPath(widget, input.dataset.bind, readValue(input));
      if (input.dataset.bind === "config.url") takeRegisteredWebhook(widget);
      if (input.dataset.bind === "config.function") fillInternalChoices(widget);
      if (input.dataset.bind === "config.mode" && widget.config.mode === "internal") fillInternalChoices(widget);
      updateVisibility(widget);
      afterEdit(widget, input.dataset.bind);
    } else if (input.dataset.bindList) {
      const checked = $$('[data-bind-list="' + input.dataset.bindList + '"]', panel).filter((i) => i.checked).map((i) => i.value);
      setPath(widget, input.dataset.bindList, checked);
      afterEdit(widget, input.dataset.bindList);
    }
  }

  panel.addEventListener("click", (event) => {
    const widget = openWidget();
    if (!widget) return;
    const add = event.target.closest("[data-add-row]");
    const remove = event.target.closest("[data-remove-row]");
    const rows = event.target.closest("[data-rows]");
    if (add && rows) {
      const items = readRows(rows);
      const blank = {};
      for (const column of rows.dataset.columns.split(",")) blank[column] = column === "mandatory" ? false : "";
      items.push(blank);
      setPath(widget, rows.dataset.rows, items);
      renderRows(rows, items);
      clearFieldErrors(widget.id, rows.dataset.rows);
      $$("tbody tr", rows).pop().querySelector("input").focus();
      afterEdit(widget);
    } else if (remove && rows) {
      remove.closest("tr").remove();
      const items = readRows(rows);
      setPath(widget, rows.dataset.rows, items);
      renderRows(rows, items);
      clearFieldErrors(widget.id, rows.dataset.rows);
      afterEdit(widget);
    }
  });

  // The label (what the box and the executions show) is the widget's own, outside its config.
  $("#wf-label").addEventListener("keydown", (event) => {
    if (event.key === "Enter") event.preventDefault();
  });

  $("#make-start").addEventListener("click", () => {
    if (!state.open) return;
    state.start = state.open;
    clearFieldErrors(null, "start");
    refreshAllNodes();
    fillForm(openWidget());
    markDirty();
  });
  if (!readOnly) {
    $("#delete-widget").addEventListener("click", () => {
      const widget = openWidget();
      if (widget && window.confirm("Delete widget " + widget.id + " and its lines?")) editor.removeNodeId("node-" + widget.node);
    });
    saveButton.addEventListener("click", save);
  }
  $("#close-panel").addEventListener("click", closePanel);
  $("#done-widget").addEventListener("click", closePanel);

  // Drawflow deletes the selected box on the Delete key anywhere in the page: not while typing here.
  for (const area of [panel, $("#flow-form")]) area.addEventListener("keydown", (event) => event.stopPropagation());

  /* ---------------------------------------------------------------- notes (Summernote) */

  const notesPanel = $("#notes-panel");
  const notes = window.jQuery ? window.jQuery("#id_notes") : null;
  let settingNotes = false;
  let pendingNotes = null;

  /** Moves the one notes panel (editor, counter, errors) into the form of the widget being opened. */
  function placeNotesPanel(widget) {
    const slot = $('[data-for-type="' + widget.type + '"] [data-notes-slot]', panel);
    if (notesPanel.parentElement !== slot) slot.appendChild(notesPanel);
    $("#notes-title").textContent = slot.dataset.notesSlot;
  }

  function notesReady() {
    return notes && notes.data("summernote");
  }

  function setNotes(html) {
    updateNotesCount(html);
    if (!notesReady()) {
      pendingNotes = html;
      return;
    }
    settingNotes = true;
    notes.summernote("code", html);
    settingNotes = false;
  }

  function updateNotesCount(html) {
    const count = window.PhononNotes.visibleLength(html);
    const counter = $("#notes-count");
    counter.textContent = count + " / " + config.maxNotesChars;
    counter.classList.toggle("over", count > config.maxNotesChars);
    const field = $('[data-field="config.notes"]', panel);
    const list = $(".errorlist", field);
    const local = list.querySelector("li.local");
    const saidByServer = Array.from(list.children).some((item) => item.textContent === config.notesTooLong);
    if (count > config.maxNotesChars && !local && !saidByServer) {
      list.insertAdjacentHTML("afterbegin", '<li class="local">' + escapeHtml(config.notesTooLong) + "</li>");
      list.hidden = false;
    } else if (count <= config.maxNotesChars && local) {
      local.remove();
      list.hidden = list.children.length === 0;
    }
  }

  if (notes) {
    notes.on("summernote.init", () => {
      if (pendingNotes !== null) setNotes(pendingNotes);
      pendingNotes = null;
    });
    notes.on("summernote.change", (_event, contents) => {
      if (settingNotes) return;
      const widget = openWidget();
      if (!widget) return;
      widget.config.notes = window.PhononNotes.isEmpty(contents) ? "" : contents;
      updateNotesCount(widget.config.notes);
      afterEdit(widget, "config.notes");
    });
  }

  /* ---------------------------------------------------------------- errors */

  /** A widget-relative path in the form's words: "config.headers.0.key" → "Headers, row 1, key". */
  function labelOf(path) {
    const row = /^(config\.\w+)\.(\d+)\.(\w+)$/.exec(path);
    if (row) return (FIELD_LABELS[row[1]] || row[1]) + ", row " + (Number(row[2]) + 1) + ", " + row[3].replace("_", " ");
    const line = /^next\.(\d+)$/.exec(path);
    if (line) return "Line " + line[1];
    return FIELD_LABELS[path] || "";
  }

  /** "Widget w1: line 0 is not connected" said in w1's own form or beside its name: drop the "Widget w1". */
  function withoutWidgetPrefix(widgetId, message) {
    for (const prefix of ["Widget " + widgetId + ": ", "Widget " + widgetId + " "]) {
      if (!message.startsWith(prefix)) continue;
      const rest = message.slice(prefix.length);
      return rest.charAt(0).toUpperCase() + rest.slice(1);
    }
    return message;
  }

  /** Opens the widget's form at the field an error names, scrolled into view and focused. */
  function showError(widgetId, relativePath) {
    openPanel(widgetId);
    const target = relativePath ? targetOf(relativePath) : null;
    if (!target) return;
    const details = target.closest("details");
    if (details) details.open = true;
    target.scrollIntoView({ block: "center" });
    const focusable = target.matches("input, select, textarea, [contenteditable]")
      ? target
      : $(".note-editable", target) || $("input:not([type=hidden]), select, textarea", target);
    if (focusable) focusable.focus({ preventScroll: true });
  }

  function clearErrorLists(root) {
    for (const list of $$(".errorlist", root)) {
      list.innerHTML = "";
      list.hidden = true;
    }
    for (const field of $$(".invalid", root)) field.classList.remove("invalid");
  }

  function writeErrors(list, messages) {
    for (const message of messages) list.insertAdjacentHTML("beforeend", "<li>" + escapeHtml(message) + "</li>");
    list.hidden = false;
  }

  /** The element (a field, or a row's cell) that a widget-relative path names, if it is on show. */
  function targetOf(relativePath) {
    const section = $('[data-for-type="' + openWidget().type + '"]', panel);
    const shown = (element) => element && !element.closest("[hidden]");
    const row = /^(config\.\w+)\.(\d+)\.(\w+)$/.exec(relativePath);
    if (row) {
      const rows = $('[data-rows="' + row[1] + '"]', section);
      const tr = rows && $$("tbody tr", rows)[Number(row[2])];
      const cell = tr && $('[data-cell="' + row[3] + '"]', tr);
      if (shown(cell)) return cell;
    }
    let path = relativePath;
    while (path) {
      const field = $$('[data-field="' + path + '"]', panel).find(shown);
      if (field) return field;
      path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
    }
    return null;
  }

  function showWidgetErrors(widgetId) {
    clearErrorLists(panel);
    const widgetList = $("#widget-errors");
    const prefix = "widgets." + widgetId;
    let first = null;
    for (const [path, messages] of Object.entries(state.errors)) {
      if (path !== prefix && !path.startsWith(prefix + ".")) continue;
      const relative = path.slice(prefix.length + 1);
      const target = relative ? targetOf(relative) : null;
      if (target) {
        first = first || target;
        target.classList.add("invalid");
        const details = target.closest("details");
        if (details) details.open = true;
        writeErrors($(":scope > .errorlist", target), messages.map((m) => withoutWidgetPrefix(widgetId, m)));
      } else {
        const label = labelOf(relative);
        writeErrors(widgetList, messages.map((m) => (label ? label + ": " : "") + withoutWidgetPrefix(widgetId, m)));
      }
    }
    if (openWidget()) updateNotesCount(openWidget().config.notes);
    if (first) first.scrollIntoView({ block: "center" });
  }

  function clearFieldErrors(widgetId, fieldPath) {
    const full = widgetId ? "widgets." + widgetId + "." + fieldPath : fieldPath;
    let changed = false;
    for (const path of Object.keys(state.errors)) {
      if (path === full || path.startsWith(full + ".")) {
        delete state.errors[path];
        changed = true;
      }
    }
    if (!changed) return;
    if (widgetId) {
      refreshNode(state.widgets.get(widgetId));
      showWidgetErrors(widgetId);
    }
    showFlowErrors();
  }

  /** The summary above the canvas lists every error; each widget's line opens its form. */
  function showFlowErrors() {
    clearErrorLists($("#flow-form"));
    const list = $("ul", flowErrors);
    list.innerHTML = "";
    for (const [path, messages] of Object.entries(state.errors)) {
      const widgetMatch = /^widgets\.([^.]+)(?:\.(.*))?$/.exec(path);
      if (path === "name") writeErrors($('[data-field="name"] .errorlist'), messages);
      for (const message of messages) {
        const item = document.createElement("li");
        if (widgetMatch && state.widgets.has(widgetMatch[1])) {
          const widget = state.widgets.get(widgetMatch[1]);
          const relative = widgetMatch[2] || "";
          const text = withoutWidgetPrefix(widget.id, message);
          // The field, unless the sentence starts with it already ("Line 0 is not connected").
          const field = text.toLowerCase().startsWith(labelOf(relative).toLowerCase()) ? "" : labelOf(relative);
          const button = document.createElement("button");
          button.type = "button";
          button.className = "link-button";
          button.textContent =
            TYPES[widget.type].label + " " + widget.id + (widget.label ? " (" + widget.label + ")" : "") +
            (field ? " · " + field : "");
          button.addEventListener("click", () => showError(widget.id, relative));
          item.append(button, ": " + text);
        } else {
          const field = FIELD_LABELS[path];
          item.textContent = (field ? field + ": " : "") + message;
        }
        list.appendChild(item);
      }
    }
    flowErrors.hidden = list.children.length === 0;
  }

  /* ---------------------------------------------------------------- saving */

  function serializeConfig(widget) {
    const c = widget.config;
    if (widget.type === "assign") return { assignments: c.assignments || [], notes: c.notes || "" };
    if (widget.type === "end") return { notes: c.notes || "" };
    const keys = c.mode === "internal" ? INTERNAL_KEYS : CUSTOM_KEYS;
    const out = {};
    for (const key of keys) out[key] = c[key];
    if (c.mode !== "internal") {
      if (c.auth.type === "basic") {
        out.auth = { type: "basic", username: c.auth.username || "" };
        // Left blank or config.mask, the stored password is kept (validate_flow's `previous`).
        if (c.auth.password) out.auth.password = c.auth.password;
      } else {
        out.auth = { type: "none" };
      }
    }
    return out;
  }

  function collectFlow() {
    const widgets = Array.from(state.widgets.values()).sort(
      (a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)) || a.id.localeCompare(b.id)
    );
    const layout = {};
    const wire = widgets.map((widget) => {
      const node = editor.getNodeFromId(widget.node);
      layout[widget.id] = { x: Math.round(node.pos_x), y: Math.round(node.pos_y) };
      const labelled = widget.label.trim() ? { label: widget.label.trim() } : {};
      if (widget.type === "end") return { id: widget.id, type: "end", ...labelled, config: serializeConfig(widget) };
      return { id: widget.id, type: widget.type, ...labelled, config: serializeConfig(widget), next: nextOf(widget) };
    });
    return {
      name: nameInput.value.trim(),
      flow_end_webhook: flowEndInput.checked,
      start: state.start,
      widgets: wire,
      layout,
    };
  }

  /** POSTs `body` as JSON with the session's CSRF token: {response, answer} (answer null unless JSON). */
  async function postJson(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": $("#flow-form [name=csrfmiddlewaretoken]").value,
      },
      body: JSON.stringify(body),
    });
    return { response, answer: await response.json().catch(() => null) };
  }

  async function save() {
    saveButton.disabled = true;
    saveStatus.textContent = "Saving…";
    saveStatus.className = "save-status";
    let response;
    let answer = null;
    try {
      ({ response, answer } = await postJson(state.saveUrl, collectFlow()));
    } catch (error) {
      saveStatus.textContent = "Not saved: the server could not be reached.";
      saveStatus.className = "save-status bad";
      saveButton.disabled = false;
      return;
    }
    saveButton.disabled = false;
    if (response.ok && answer) {
      applySaved(answer);
    } else if (response.status === 400 && answer && answer.errors) {
      state.errors = answer.errors;
      const count = Object.values(state.errors).reduce((sum, messages) => sum + messages.length, 0);
      saveStatus.textContent = "Not saved: " + count + (count === 1 ? " problem" : " problems");
      saveStatus.className = "save-status bad";
      refreshAllNodes();
      showFlowErrors();
      const firstWidget = Object.keys(state.errors)
        .map((path) => /^widgets\.([^.]+)/.exec(path))
        .find((match) => match && state.widgets.has(match[1]));
      if (state.open && errorCount(state.open)) showWidgetErrors(state.open);
      else if (firstWidget) openPanel(firstWidget[1]);
      else if (state.open) showWidgetErrors(state.open);
    } else {
      const detail = answer && answer.detail ? " " + answer.detail : "";
      saveStatus.textContent = "Not saved: the server answered " + response.status + "." + detail;
      saveStatus.className = "save-status bad";
    }
  }

  function applySaved(answer) {
    state.errors = {};
    state.dirty = false;
    state.flowId = answer.id;
    if (answer.designer_url && answer.designer_url !== state.saveUrl) {
      state.saveUrl = answer.designer_url;
      window.history.replaceState(null, "", answer.designer_url);
    }
    state.savedWidgetIds = new Set(answer.flow.widgets.map((widget) => widget.id));
    for (const saved of answer.flow.widgets) {
      const widget = state.widgets.get(saved.id);
      if (widget) widget.label = saved.label || "";
      if (widget && saved.config) {
        // Keep what the form holds for the other mode; take what the server stored (secrets masked).
        widget.config = { ...widget.config, ...completeConfig(widget.type, saved.config) };
      }
    }
    refreshAllNodes();
    showFlowErrors();
    if (state.open) {
      fillForm(openWidget());
      showWidgetErrors(state.open);
    }
    document.title = answer.flow.name + " · designer · Phonon";
    saveStatus.textContent = "Saved";
    saveStatus.className = "save-status ok";
    // revisions.js shows the new Draft / Published status.
    document.dispatchEvent(new CustomEvent("phonon:flow-saved", { detail: answer }));
  }

  window.addEventListener("keydown", (event) => {
    if (!readOnly && (event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      save();
    }
  });
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty) event.preventDefault();
  });

  /* ---------------------------------------------------------------- the top bar */

  nameInput.addEventListener("input", () => {
    clearFieldErrors(null, "name");
    markDirty();
  });
  flowEndInput.addEventListener("change", () => {
    clearFieldErrors(null, "flow_end_webhook");
    markDirty();
  });
  for (const button of $$("[data-add]")) {
    button.addEventListener("click", () => {
      const type = button.dataset.add;
      const widget = addWidget(type, nextWidgetId(), null, freePosition());
      if (!state.start && type !== "end") state.start = widget.id;
      refreshAllNodes();
      markDirty();
      openPanel(widget.id);
    });
  }
  for (const button of $$("[data-zoom]")) {
    button.addEventListener("click", () => {
      ({ in: () => editor.zoom_in(), out: () => editor.zoom_out(), reset: () => editor.zoom_reset() })[button.dataset.zoom]();
    });
  }

  /* ---------------------------------------------------------------- undo and redo */

  /** Canvas edits, undone and redone as whole pictures of the canvas (boxes, positions, lines,
   * start). A form's contents are not part of a picture: a box brought back by undo gets the
   * config it had when it left, and undo never takes back typing in a form. */
  const canvasHistory = {
    pictures: [],
    at: -1,
    left: new Map(), // widget id -> {type, label, config} of boxes no longer on the canvas
    timer: null,

    picture() {
      return JSON.stringify({
        start: state.start,
        widgets: Array.from(state.widgets.values()).map((widget) => {
          const node = editor.getNodeFromId(widget.node);
          return { id: widget.id, type: widget.type, x: Math.round(node.pos_x), y: Math.round(node.pos_y), next: nextOf(widget) };
        }),
      });
    },
    keep(widget) {
      this.left.set(widget.id, { type: widget.type, label: widget.label, config: widget.config });
    },
    record() {
      clearTimeout(this.timer);
      const picture = this.picture();
      if (picture === this.pictures[this.at]) return;
      this.pictures = this.pictures.slice(Math.max(0, this.at - 99), this.at + 1);
      this.pictures.push(picture);
      this.at = this.pictures.length - 1;
    },
    /** One edit often fires several Drawflow events (a new line replaces the old one): one step. */
    recordSoon() {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.record(), 0);
    },
    undo() {
      this.record();
      if (this.at > 0) this.restore(this.pictures[--this.at]);
    },
    redo() {
      this.record();
      if (this.at < this.pictures.length - 1) this.restore(this.pictures[++this.at]);
    },
    restore(picture) {
      const { start, widgets } = JSON.parse(picture);
      const open = state.open;
      for (const widget of state.widgets.values()) this.keep(widget);
      state.loading = true;
      editor.clear();
      state.widgets.clear();
      state.widgetOfNode.clear();
      state.start = start;
      drawWidgets(widgets.map((widget) => ({ ...widget, ...this.left.get(widget.id) })), {});
      state.loading = false;
      if (open && state.widgets.has(open)) openPanel(open);
      else closePanel();
      markDirty();
    },
  };

  /* ---------------------------------------------------------------- the keyboard */

  function inField(element) {
    return Boolean(element.closest && element.closest("input, textarea, select, [contenteditable=true], .note-editor"));
  }

  function focusedBox() {
    const box = document.activeElement && document.activeElement.closest(".drawflow-node");
    return box && canvas.contains(box) ? box : null;
  }

  // On the document, before Drawflow's own handler (which listens on the canvas only, and so
  // never heard a Delete once focus had left it).
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key === "Escape" && !panel.hidden && !event.target.closest(".note-editor .dropdown-menu, .note-modal")) {
        closePanel();
        event.preventDefault();
        return;
      }
      if (inField(event.target)) return;
      const box = focusedBox();
      if (event.key === "Enter" && box) {
        openPanel(state.widgetOfNode.get(box.id.slice(5)));
        event.preventDefault();
        return;
      }
      if (readOnly) return;
      if (event.key === "Delete" || event.key === "Backspace") {
        const node = box || editor.node_selected;
        if (editor.connection_selected) editor.removeConnection();
        else if (node) editor.removeNodeId(node.id);
        else return;
        event.preventDefault();
        event.stopPropagation();
        return;
      }
      const key = event.key.toLowerCase();
      if ((event.ctrlKey || event.metaKey) && (key === "z" || key === "y")) {
        if (key === "y" || event.shiftKey) canvasHistory.redo();
        else canvasHistory.undo();
        event.preventDefault();
      }
    },
    true
  );

  // The "×" on a selected line: handled on the press, before Drawflow reads it as a click on
  // the canvas (which unselects the line).
  for (const type of ["mousedown", "touchstart"]) {
    canvas.addEventListener(
      type,
      (event) => {
        const control = event.target.closest && event.target.closest("g.line-delete");
        if (!control || readOnly) return;
        event.preventDefault();
        event.stopPropagation();
        removeLineOf(control);
      },
      { capture: true, passive: false }
    );
  }
  // A box keeps the keyboard focus it gets from a click, so Delete and Enter reach it.
  canvas.addEventListener("mousedown", (event) => {
    const box = event.target.closest(".drawflow-node");
    if (box && !event.target.closest(".output, .input")) box.focus({ preventScroll: true });
  });

  /* ---------------------------------------------------------------- read-only (viewers) */

  if (readOnly) {
    nameInput.readOnly = true;
    flowEndInput.disabled = true;
    const disableNotes = () => notes.summernote("disable");
    if (notesReady()) disableNotes();
    else if (notes) notes.on("summernote.init", disableNotes);
  }

  /* ---------------------------------------------------------------- loading */

  /** Boxes and lines for widgets [{id, type, label, config, next, x?, y?}]; `layout` places those without x/y. */
  function drawWidgets(widgets, layout) {
    for (const widget of widgets) {
      if (!TYPES[widget.type]) continue;
      const position = widget.x != null ? { x: widget.x, y: widget.y } : layout[widget.id] || freePosition();
      addWidget(widget.type, widget.id, widget.config, position, widget.label);
    }
    for (const widget of widgets) {
      for (const [line, target] of Object.entries(widget.next || {})) connect(widget.id, line, target);
    }
    refreshAllNodes();
    scheduleLineLabels();
  }

  function load(flow) {
    nameInput.value = flow.name || "";
    flowEndInput.checked = Boolean(flow.flow_end_webhook);
    drawWidgets(flow.widgets, { ...autoLayout(flow), ...(flow.layout || {}) });
    state.loading = false;
    canvasHistory.record();
  }

  /** Replaces one config key of a widget as if typed in its form (static/flows/widget_test.js adds mappings so). */
  function setWidgetConfig(widget, key, value) {
    setPath(widget, "config." + key, value);
    if (state.open === widget.id) fillForm(widget);
    afterEdit(widget, "config." + key);
  }

  /** Shows a widget's field errors that came from elsewhere than saving (a widget test's 400). */
  function showWidgetFieldErrors(widgetId, errors) {
    const prefix = "widgets." + widgetId;
    for (const path of Object.keys(state.errors)) {
      if (path === prefix || path.startsWith(prefix + ".")) delete state.errors[path];
    }
    Object.assign(state.errors, errors);
    refreshAllNodes();
    showFlowErrors();
    if (state.open === widgetId) showWidgetErrors(widgetId);
  }

  load(config.flow);
  window.phononDesigner = {
    state, editor, collectFlow, config, openWidget, serializeConfig, setWidgetConfig, showWidgetFieldErrors,
    postJson, escapeHtml, $, $$, canvasHistory,
  };
})();
