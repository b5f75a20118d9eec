/* Testing a webhook widget from the designer (SPEC §13), and mapping its answer by clicking it.
 *
 * The Test button in the webhook panel lists every variable the open widget uses, with sample
 * values prefilled from the flow's last execution (config.sampleVariables), and posts the
 * widget's config to config.testUrl (flows.designer.WidgetTestView → flows.trial). The answer
 * is drawn as the request sent, the response, each mapping's value (or "no match" and the
 * nearest paths) and the answer as a tree whose nodes carry their mapping paths: clicking one
 * adds a mapping row with that path and a proposed $flow.key name, focused for renaming.
 *
 * Also here: the warning under a JSON mapping path that does not start with `data`.
 *
 * Loaded after designer.js, whose window.phononDesigner gives the open widget, its wire config
 * and a way to change it as the form does. `lastResult` is the latest test result object.
 */
(function () {
  "use strict";

  const designer = window.phononDesigner;
  const { config, $, $$, escapeHtml } = designer;

  const panel = $("#widget-panel");
  const openButton = $("#test-open");
  const area = $("#test-area");
  const sendButton = $("#test-send");
  const status = $("#test-status");
  const resultBox = $("#test-result");
  const confirmLabel = $("#test-confirm-label");
  const confirmBox = $("#test-confirm");
  const VARIABLE_RE = new RegExp(config.variablePattern, "g");
  const JSON_ROOT_RE = new RegExp(config.jsonRootPattern);
  const FLOW_KEY = "$flow.key.";
  const GROUP_PREFIXES = { call: "$call.", flow_key: FLOW_KEY, user_key: "$user.key." };
  // Sample values typed here are kept while the page is open, for every widget.
  const samples = { ...config.sampleVariables };
  let lastResult = null;

  function setStatus(text, kind) {
    status.textContent = text;
    status.className = "save-status" + (kind ? " " + kind : "");
  }

  /* ---------------------------------------------------------------- sample variables */

  function variablesUsed(widget) {
    const c = widget.config;
    if (c.mode === "internal") {
      const prefixes = (c.parameters || []).map((group) => GROUP_PREFIXES[group]);
      const names = Object.keys(samples).filter((name) => prefixes.some((prefix) => name.startsWith(prefix)));
      if ((c.parameters || []).includes("call")) names.push("$call.cli", "$call.did");
      return Array.from(new Set(names)).sort();
    }
    const texts = [c.url, c.body_type === "none" ? "" : c.body];
    for (const row of [...(c.headers || []), ...(c.query_params || [])]) if (!row.secret) texts.push(row.value);
    const names = [];
    for (const text of texts) {
      for (const match of String(text || "").matchAll(VARIABLE_RE)) names.push("$" + (match.groups.braced || match.groups.bare));
    }
    return Array.from(new Set(names));
  }

  function renderVariables(widget) {
    const names = variablesUsed(widget);
    const body = $("#test-variables tbody");
    body.innerHTML = names
      .map(
        (name, index) =>
          '<tr><td><label for="test-var-' + index + '"><code>' + escapeHtml(name) + "</code></label></td>" +
          '<td><input type="text" id="test-var-' + index + '" data-variable="' + escapeHtml(name) + '" value="' +
          escapeHtml(samples[name] ?? "") + '"></td></tr>'
      )
      .join("");
    $("#test-variables").hidden = names.length === 0;
    $("#test-no-variables").hidden = names.length > 0;
    $("#test-prefill-note").hidden = !names.some((name) => config.sampleVariables[name] != null);
    const chosen = config.internalFunctions.find((f) => f.name === widget.config.function);
    confirmLabel.hidden = !(widget.config.mode === "internal" && chosen && chosen.changes_data);
    confirmBox.checked = false;
  }

  $("#test-variables").addEventListener("input", (event) => {
    if (event.target.dataset.variable) samples[event.target.dataset.variable] = event.target.value;
  });
  // The panel's own handlers treat every input as a widget edit: these are not.
  for (const element of [$("#test-variables"), confirmBox]) {
    for (const type of ["input", "change"]) element.addEventListener(type, (event) => event.stopPropagation());
  }

  function closeTest() {
    area.hidden = true;
    openButton.setAttribute("aria-expanded", "false");
    resultBox.innerHTML = "";
    setStatus("");
  }

  openButton.addEventListener("click", () => {
    const widget = designer.openWidget();
    if (!widget) return;
    const opening = area.hidden;
    closeTest();
    if (!opening) return;
    renderVariables(widget);
    area.hidden = false;
    openButton.setAttribute("aria-expanded", "true");
    (area.querySelector("[data-variable]") || sendButton).focus();
  });
  panel.addEventListener("widget-opened", closeTest);
  $("#test-jump").addEventListener("click", () => {
    if (area.hidden) openButton.click();
    $("#widget-test").scrollIntoView({ block: "start" });
  });

  /* ---------------------------------------------------------------- sending */

  async function sendTest() {
    const widget = designer.openWidget();
    if (!widget) return;
    const body = { config: designer.serializeConfig(widget), variables: {}, widget: widget.id };
    for (const input of $$("[data-variable]", area)) body.variables[input.dataset.variable] = input.value;
    if (designer.state.flowId && designer.state.savedWidgetIds.has(widget.id)) body.flow = designer.state.flowId;
    if (!confirmLabel.hidden && confirmBox.checked) body.confirm = true;
    sendButton.disabled = true;
    setStatus("Sending…");
    let response;
    let answer = null;
    try {
      ({ response, answer } = await designer.postJson(config.testUrl, body));
    } catch (error) {
      setStatus("The server could not be reached.", "bad");
      return;
    } finally {
      sendButton.disabled = false;
    }
    if (response.ok && answer) {
      lastResult = answer;
      setStatus("");
      renderResult(answer);
      // revisions.js offers "Save as test case" under the result.
      const detail = { widget: widget.id, variables: body.variables, result: answer };
      document.dispatchEvent(new CustomEvent("phonon:widget-tested", { detail }));
      resultBox.scrollIntoView({ block: "start" });
      resultBox.focus({ preventScroll: true });
    } else if (response.status === 400 && answer && answer.errors) {
      designer.showWidgetFieldErrors(widget.id, answer.errors);
      setStatus("Not sent: fix the fields marked in red, then test again.", "bad");
    } else if (response.status === 429) {
      setStatus("Too many tests: try again in " + (response.headers.get("Retry-After") || "a few") + " s.", "bad");
    } else {
      setStatus("Not sent: the server answered " + response.status + ". " + ((answer && answer.detail) || ""), "bad");
    }
  }
  sendButton.addEventListener("click", sendTest);

  /* ---------------------------------------------------------------- the result */

  function prettyBody(body, headers) {
    const type = Object.entries(headers || {}).find(([name]) => name.toLowerCase() === "content-type");
    try {
      return JSON.stringify(JSON.parse(body), null, 2);
    } catch (error) {
      /* not JSON */
    }
    if (type && /xml/i.test(type[1])) return prettyXml(body);
    return body;
  }

  function prettyXml(text) {
    const documentNode = new DOMParser().parseFromString(text, "application/xml");
    if (documentNode.querySelector("parsererror")) return text;
    const lines = [];
    (function walk(element, depth) {
      const indent = "  ".repeat(depth);
      const attributes = Array.from(element.attributes).map((a) => " " + a.name + '="' + a.value + '"').join("");
      const children = Array.from(element.children);
      const text = element.textContent.trim();
      if (!children.length) {
        lines.push(indent + "<" + element.tagName + attributes + ">" + text + "</" + element.tagName + ">");
        return;
      }
      lines.push(indent + "<" + element.tagName + attributes + ">");
      for (const child of children) walk(child, depth + 1);
      lines.push(indent + "</" + element.tagName + ">");
    })(documentNode.documentElement, 0);
    return lines.join("\n");
  }

  function headerLines(headers) {
    return Object.entries(headers || {}).map(([name, value]) => name + ": " + value).join("\n");
  }

  function renderResult(result) {
    const ok = result.line === 0;
    let html =
      '<p class="test-outcome"><span class="badge ' + (ok ? "ok" : "bad") + '">line ' + result.line + "</span> " +
      (ok ? "A call would go on along line 0 (success)." : "A call would take line 1 (failure).") +
      (result.error_reason ? ' <span class="badge bad">' + escapeHtml(result.error_reason) + "</span>" : "") +
      (result.error_detail ? ' <span class="muted">' + escapeHtml(result.error_detail) + "</span>" : "") +
      (result.dry_run ? ' <span class="muted">(Run and undone: this function changes data.)</span>' : "") +
      "</p>";
    if (result.request.function) {
      html += "<h4>Function</h4><pre>" + escapeHtml(result.request.method + " " + result.request.function) + "</pre>" +
        "<h4>Result</h4><pre>" + escapeHtml(result.response.result) + "</pre>";
    } else {
      const request = result.request;
      html += "<h4>Request sent</h4><pre class=\"test-request\">" +
        escapeHtml(request.method + " " + request.url + "\n" + headerLines(request.headers) + (request.body ? "\n\n" + request.body : "")) + "</pre>";
      html += renderResponse(result.response);
      html += renderMappings(result.mappings);
      if (result.tree) {
        html += '<h4 id="answer-tree-title">Answer — click a value to map it</h4>' +
          '<ul class="answer-tree" aria-labelledby="answer-tree-title">' + treeNode(result.tree) + "</ul>";
      }
    }
    resultBox.innerHTML = html;
  }

  function renderResponse(response) {
    if (!response) return '<h4>Answer</h4><p class="muted">No answer: the request was not sent, or nothing came back.</p>';
    const count = Object.keys(response.headers || {}).length;
    return "<h4>Answer</h4>" +
      '<p class="test-status-line"><strong>' + response.status_code + "</strong> · " + response.duration + " s" +
      (response.truncated ? ' · <span class="muted">first 64 KiB shown</span>' : "") + "</p>" +
      "<details><summary>Headers (" + count + ")</summary><pre>" + escapeHtml(headerLines(response.headers)) + "</pre></details>" +
      '<details open><summary>Body</summary><pre class="test-body">' + escapeHtml(prettyBody(response.body, response.headers)) + "</pre></details>";
  }

  function renderMappings(mappings) {
    if (!mappings.length) return "";
    const rows = mappings.map((row, index) => {
      let value;
      if (row.matched) {
        value = "<code>" + escapeHtml(row.value ?? "null") + "</code>";
      } else {
        value = '<span class="badge bad">no match</span>';
        if (row.suggestions.length) {
          value += " Did you mean " + row.suggestions
            .map((path) => '<button type="button" class="link-button" data-use-path="' + escapeHtml(path) + '" data-mapping="' + index +
              '" title="Use this path in mapping ' + (index + 1) + '"><code>' + escapeHtml(path) + "</code></button>")
            .join(", ") + "?";
        }
      }
      return "<tr><td><code>" + escapeHtml(row.save_in) + "</code></td><td><code>" + escapeHtml(row.path) + "</code></td><td>" + value + "</td></tr>";
    });
    return '<h4>Mappings</h4><table class="compact test-mappings"><thead><tr><th>Save in</th><th>Path</th><th>Value</th></tr></thead><tbody>' +
      rows.join("") + "</tbody></table>";
  }

  function treeNode(node) {
    const pick = (text, kind) =>
      '<button type="button" class="tree-pick ' + kind + '" data-path="' + escapeHtml(node.path) + '" title="Map ' +
      escapeHtml(node.path) + '">' + text + "</button>";
    if (!node.children.length) {
      const value = node.value === null ? "null" : node.value;
      return '<li><span class="tree-key">' + escapeHtml(node.label) + "</span> " + pick(escapeHtml(value), "tree-value") + "</li>";
    }
    return "<li>" + pick(escapeHtml(node.label), "tree-key") +
      "<ul>" + node.children.map(treeNode).join("") + (node.truncated ? '<li class="muted">… (cut off)</li>' : "") + "</ul></li>";
  }

  /* ---------------------------------------------------------------- mapping from the answer */

  function proposeName(path, widget) {
    const names = (path.match(/[A-Za-z0-9_]+/g) || []).filter((name) => name !== "data" && !/^\d+$/.test(name));
    const taken = new Set([...config.outputVariables, ...(widget.config.mappings || []).map((row) => row.save_in)]);
    const free = (name) => !taken.has(FLOW_KEY + name);
    const last = names[names.length - 1] || "value";
    for (const candidate of [last, names.slice(-2).join("_")]) if (candidate && free(candidate)) return candidate;
    let number = 2;
    while (!free(last + "_" + number)) number += 1;
    return last + "_" + number;
  }

  function mappingInputs(column) {
    return $$('[data-rows="config.mappings"] tbody tr [data-col="' + column + '"]', panel);
  }

  function addMapping(path) {
    const widget = designer.openWidget();
    const name = proposeName(path, widget);
    const mappings = [...(widget.config.mappings || []), { save_in: FLOW_KEY + name, path, mandatory: false }];
    designer.setWidgetConfig(widget, "mappings", mappings);
    const input = mappingInputs("save_in").pop();
    input.focus();
    input.setSelectionRange(FLOW_KEY.length, input.value.length);
    setStatus("Mapped " + path + " to " + FLOW_KEY + name + ": rename it if you like, then save the flow.", "ok");
  }

  function usePath(index, path) {
    const widget = designer.openWidget();
    const mappings = (widget.config.mappings || []).map((row, i) => (i === index ? { ...row, path } : row));
    designer.setWidgetConfig(widget, "mappings", mappings);
    mappingInputs("path")[index].focus();
    setStatus("Mapping " + (index + 1) + " now reads " + path + ": test again to see its value.", "ok");
  }

  resultBox.addEventListener("click", (event) => {
    const pick = event.target.closest("[data-path]");
    const suggestion = event.target.closest("[data-use-path]");
    if (pick) addMapping(pick.dataset.path);
    else if (suggestion) usePath(Number(suggestion.dataset.mapping), suggestion.dataset.usePath);
  });

  /* ---------------------------------------------------------------- JSON paths start at data */

  function checkPaths() {
    const widget = designer.openWidget();
    if (!widget || widget.type !== "webhook") return;
    for (const input of mappingInputs("path")) {
      const cell = input.closest("td");
      let warning = $(".path-warning", cell);
      const path = input.value.trim();
      const wrong = widget.config.response_type === "json" && path && !JSON_ROOT_RE.test(path);
      if (!wrong) {
        if (warning) warning.remove();
        continue;
      }
      if (!warning) {
        warning = document.createElement("p");
        warning.className = "path-warning";
        warning.setAttribute("role", "status");
        cell.appendChild(warning);
      }
      const fixed = "data" + (path.startsWith("$") ? path.slice(1) : path.startsWith(".") || path.startsWith("[") ? path : "." + path);
      warning.textContent = "JSON paths start at data (the whole answer): did you mean " + fixed + "?";
    }
  }

  panel.addEventListener("rows-rendered", (event) => {
    if (event.detail.dataset.rows === "config.mappings") checkPaths();
  });
  panel.addEventListener("input", (event) => {
    if (event.target.dataset.col === "path" || event.target.id === "wf-response-type") checkPaths();
  });
  panel.addEventListener("change", (event) => {
    if (event.target.id === "wf-response-type") checkPaths();
  });

  designer.widgetTest = { get lastResult() { return lastResult; } };
})();
