/* Draws the report's three charts from the chart data URL, which carries the page's filters. */
(function () {
  "use strict";
  var section = document.querySelector(".report-charts");
  if (!section || typeof Chart === "undefined") { return; }
  var OK = "#137a3a", WARN = "#d08a00", BAD = "#b3261e", AVG = "#2456d3", P95 = "#8aa4e8";
  // Long "flow · widget" names are cut on the axis (the tooltip has them whole), never clipped by the box.
  function shortLabel(text) { return text.length > 28 ? text.slice(0, 27) + "\u2026" : text; }
  function widgetLabels(rows) { return rows.map(function (row) { return row.flow_name + " · " + row.widget; }); }
  function widgetAxis() {
    return { ticks: { autoSkip: false, callback: function (value) { return shortLabel(this.getLabelForValue(value)); } } };
  }

  function perDay(data) {
    new Chart(document.getElementById("chart-per-day"), {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          {
            label: "Completed",
            data: data.completed.map(function (total, day) { return total - data.completed_with_webhook_failures[day]; }),
            backgroundColor: OK
          },
          { label: "Completed after a webhook failed", data: data.completed_with_webhook_failures, backgroundColor: WARN },
          { label: "Failed", data: data.failed, backgroundColor: BAD }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { labels: { boxWidth: 12 } } }
      }
    });
  }

  function durations(rows) {
    if (!rows.length) { section.querySelector(".chart-empty").hidden = false; return; }
    new Chart(document.getElementById("chart-durations"), {
      type: "bar",
      data: {
        labels: widgetLabels(rows),
        datasets: [
          { label: "Average", data: rows.map(function (row) { return row.average_seconds; }), backgroundColor: AVG },
          { label: "95th percentile", data: rows.map(function (row) { return row.p95_seconds; }), backgroundColor: P95 }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false, indexAxis: "y",
        scales: { x: { beginAtZero: true, title: { display: true, text: "seconds" } }, y: widgetAxis() },
        plugins: { tooltip: { callbacks: { afterBody: function (items) {
          var row = rows[items[0].dataIndex];
          return row.calls + " calls, " + row.failures + " failed";
        } } } }
      }
    });
  }

  function outcomes(rows) {
    if (!rows.length) { section.querySelector(".outcomes-empty").hidden = false; return; }
    new Chart(document.getElementById("chart-outcomes"), {
      type: "bar",
      data: {
        labels: widgetLabels(rows),
        datasets: [
          { label: "Succeeded", data: rows.map(function (row) { return row.calls - row.failures; }), backgroundColor: OK },
          { label: "Failed", data: rows.map(function (row) { return row.failures; }), backgroundColor: BAD }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false, indexAxis: "y",
        scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "calls" } },
                  y: Object.assign(widgetAxis(), { stacked: true }) }
      }
    });
  }

  fetch(section.dataset.chartUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
    .then(function (data) {
      perDay(data.executions_per_day);
      durations(data.webhook_durations);
      outcomes(data.webhook_durations);
    })
    .catch(function () { section.insertAdjacentHTML("afterbegin", '<p class="message error">The charts could not be loaded; reload the page to try again.</p>'); });
})();
