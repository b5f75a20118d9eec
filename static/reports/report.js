/* Draws the report's two charts from the chart data URL, which carries the page's filters. */
(function () {
  "use strict";
  var section = document.querySelector(".report-charts");
  if (!section || typeof Chart === "undefined") { return; }
  var OK = "#137a3a", BAD = "#b3261e", AVG = "#2456d3", P95 = "#8aa4e8";

  function perDay(data) {
    new Chart(document.getElementById("chart-per-day"), {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Completed", data: data.completed, backgroundColor: OK },
          { label: "Failed", data: data.failed, backgroundColor: BAD }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
  }

  function durations(rows) {
    if (!rows.length) { section.querySelector(".chart-empty").hidden = false; return; }
    new Chart(document.getElementById("chart-durations"), {
      type: "bar",
      data: {
        labels: rows.map(function (row) { return row.flow_name + " · " + row.widget; }),
        datasets: [
          { label: "Average", data: rows.map(function (row) { return row.average_seconds; }), backgroundColor: AVG },
          { label: "95th percentile", data: rows.map(function (row) { return row.p95_seconds; }), backgroundColor: P95 }
        ]
      },
      options: {
        maintainAspectRatio: false, animation: false, indexAxis: "y",
        scales: { x: { beginAtZero: true, title: { display: true, text: "seconds" } } },
        plugins: { tooltip: { callbacks: { afterBody: function (items) {
          var row = rows[items[0].dataIndex];
          return row.calls + " calls, " + row.failures + " failed";
        } } } }
      }
    });
  }

  fetch(section.dataset.chartUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
    .then(function (data) { perDay(data.executions_per_day); durations(data.webhook_durations); })
    .catch(function () { section.insertAdjacentHTML("afterbegin", '<p class="message error">The charts could not be loaded; reload the page to try again.</p>'); });
})();
