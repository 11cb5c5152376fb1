// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID">: {labels, values} or
// {labels, datasets: [{label, values, colour}]}. Data comes from json_script, so no inline script.
(function () {
  var palette = ["#2563eb", "#16a34a", "#dc2626", "#ca8a04", "#7c3aed"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var datasets = data.datasets || [{ label: canvas.dataset.label || "", values: data.values }];
    new Chart(canvas, {
      type: canvas.dataset.type || (data.datasets ? "line" : "bar"),
      data: {
        labels: data.labels,
        datasets: datasets.map(function (set, index) {
          var colour = set.colour || palette[index % palette.length];
          return { label: set.label, data: set.values, backgroundColor: colour, borderColor: colour,
                   pointRadius: 0, tension: 0.2 };
        })
      },
      options: { responsive: true, animation: false, plugins: { legend: { display: datasets.length > 1 } },
                 scales: { y: { beginAtZero: true, suggestedMax: data.suggestedMax } } }
    });
    canvas.dataset.rendered = "true";
  });
})();
