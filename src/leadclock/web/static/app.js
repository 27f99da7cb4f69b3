// leadclock dashboard: draws each chart embedded as JSON (<script type="application/json">) with
// uPlot, again after htmx swaps in a fresh fragment. No inline scripts (the pages' CSP forbids them).
(function () {
  "use strict";
  var palette = ["#334e68", "#c53030", "#2f8132", "#b7791f", "#6b46c1", "#0987a0"];

  function draw(area) {
    var source = document.getElementById(area.getAttribute("data-chart"));
    if (!source || typeof uPlot === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var data = [spec.x];
    var series = [spec.x_label ? { label: spec.x_label } : {}];
    spec.series.forEach(function (s, i) {
      data.push(s.values);
      series.push({ label: s.label, stroke: palette[i % palette.length], width: 2, spanGaps: true,
                    points: { size: 5 } });
    });
    (spec.targets || []).forEach(function (target, i) {
      data.push(spec.x.map(function () { return target; }));
      series.push({ label: target + "%", stroke: i === 0 ? "#b7791f" : "#2f8132", dash: [6, 4], width: 1,
                    points: { show: false } });
    });
    area.innerHTML = "";
    var width = Math.max(280, area.clientWidth || 600);
    var opts = {
      width: width, height: 240, series: series,
      scales: spec.percent ? { y: { range: function (u, min, max) { return [Math.min(min, 50), 100]; } } } : {},
      axes: [{}, { values: function (u, ticks) { return ticks.map(function (v) { return spec.percent ? v + "%" : v; }); } }]
    };
    area._plot = new uPlot(opts, data, area);
  }

  function drawAll(root) {
    (root || document).querySelectorAll("[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.detail.target); });
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      document.querySelectorAll("[data-chart]").forEach(function (area) {
        if (area._plot) { area._plot.setSize({ width: Math.max(280, area.clientWidth), height: 240 }); }
      });
    }, 150);
  });
})();
