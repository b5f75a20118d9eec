// The webhook form: the Check button (ask the server, show ✓, ⚠ with the code, or the reason) and the basic-auth fields.
(function () {
  "use strict";
  var button = document.getElementById("check-url");
  var result = document.getElementById("check-result");
  var urlInput = document.getElementById("id_url");
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");

  // A 4xx/5xx answer is reachable but probably wrong: amber with the code, not the green tick.
  function show(ok, text, warning) {
    result.className = "check-result " + (warning ? "warn" : ok ? "ok" : "bad");
    result.textContent = warning ? "\u26a0 " + warning : ok ? "\u2713 " + text : text;
  }

  if (button && urlInput) {
    button.addEventListener("click", function () {
      button.disabled = true;
      result.className = "check-result";
      result.textContent = "Checking\u2026";
      var body = new URLSearchParams({ url: urlInput.value });
      fetch(button.dataset.checkUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf ? csrf.value : "" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error("The check failed (HTTP " + response.status + "); reload the page and try again.");
          return response.json();
        })
        .then(function (answer) { show(answer.ok, answer.reason || "Reachable", answer.warning); })
        .catch(function (error) { show(false, error.message); })
        .finally(function () { button.disabled = false; });
    });
    urlInput.addEventListener("input", function () { result.textContent = ""; result.className = "check-result"; });
  }

  var authType = document.getElementById("id_auth_type");
  var basic = document.getElementById("basic-auth");
  function toggleBasic() { if (basic && authType) basic.hidden = authType.value !== "basic"; }
  if (authType) { authType.addEventListener("change", toggleBasic); toggleBasic(); }
})();
