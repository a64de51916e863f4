// Atelier Studio: the small progressive enhancements of server-drawn pages.
// Every page works without this file, except that charts and the live log need it.
"use strict";

(function () {
  // MLflow's "View run" links: <tracking uri>/#/experiments/<id>/runs/<run id>
  function mlflowTarget(hash) {
    var run = /^#\/experiments\/([^/]+)\/runs\/([A-Za-z0-9_\-]+)/.exec(hash);
    if (run) return "/runs/" + encodeURIComponent(run[2]);
    var experiment = /^#\/experiments\/([A-Za-z0-9_\-]+)\/?$/.exec(hash);
    if (experiment) return "/experiments/" + encodeURIComponent(experiment[1]);
    return null;
  }

  function followMlflowLink() {
    var target = mlflowTarget(window.location.hash || "");
    if (!target) return false;
    var next = document.getElementById("next");
    if (next) { next.value = target; return false; }  // on the sign-in page: go there after
    window.location.replace(target);
    return true;
  }

  var palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

  function smooth(values, weight) {
    if (!weight) return values;
    var out = new Array(values.length), last = null;
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (v === null) { out[i] = null; continue; }
      last = last === null ? v : last * weight + (1 - weight) * v;
      out[i] = last;
    }
    return out;
  }

  function drawChart(figure, series, labels) {
    var plotBox = figure.querySelector(".plot");
    var logBox = figure.querySelector(".log-scale");
    var smoothBox = figure.querySelector(".smooth");
    var xBox = figure.querySelector(".x-axis");
    var plot = null;

    function render() {
      var byTime = xBox && xBox.value === "time";
      var weight = smoothBox ? parseFloat(smoothBox.value) : 0;
      var positive = series.every(function (s) { return s.values.every(function (v) { return v === null || v > 0; }); });
      var logScale = logBox && logBox.checked && positive;
      var tables = series.map(function (s) {
        var xs = byTime ? s.timestamps_ms.map(function (t) { return t / 1000; }) : s.steps;
        return [xs, smooth(s.values, weight)];
      });
      var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
      var seriesOpts = [{}].concat(series.map(function (s, i) {
        return { label: labels[i] || s.name, stroke: palette[i % palette.length], width: 1.5, spanGaps: true };
      }));
      var width = Math.max(300, plotBox.clientWidth || 460);
      var opts = {
        width: width, height: 260, series: seriesOpts,
        scales: { x: { time: byTime }, y: { distr: logScale ? 3 : 1 } },
        cursor: { drag: { x: true, y: false } }, legend: { show: series.length > 1 }
      };
      if (plot) plot.destroy();
      plotBox.textContent = "";
      plot = new uPlot(opts, data, plotBox);
      figure.setAttribute("data-drawn", String(series.reduce(function (n, s) { return n + s.count; }, 0)));
    }
    [logBox, smoothBox, xBox].forEach(function (box) { if (box) box.addEventListener("input", render); });
    render();
  }

  function loadCharts() {
    var figures = document.querySelectorAll("figure.chart[data-series], figure.chart[data-sources]");
    Array.prototype.forEach.call(figures, function (figure) {
      var sources = (figure.getAttribute("data-sources") || figure.getAttribute("data-series") || "").split(" ").filter(Boolean);
      var labels = (figure.getAttribute("data-labels") || "").split("\n");
      Promise.all(sources.map(function (url) {
        return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (answer) { if (!answer.ok) throw new Error(answer.status); return answer.json(); });
      })).then(function (series) {
        if (typeof uPlot === "undefined") return;
        drawChart(figure, series, labels);
      }).catch(function (err) {
        figure.querySelector(".plot").textContent = "could not load this metric (" + err.message + ")";
      });
    });
  }

  // the runs table's chart: one column against another, over the rows on the page
  function runsChart() {
    var figure = document.getElementById("runs-chart");
    var table = document.getElementById("runs");
    if (!figure || !table || typeof uPlot === "undefined") return;
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.getAttribute("data-column");
    });
    var rows = table.querySelectorAll("tbody tr");
    var plot = null;
    function column(name) {
      var index = heads.indexOf(name);
      return Array.prototype.map.call(rows, function (row) {
        var value = parseFloat(row.children[index].textContent);
        return isNaN(value) ? null : value;
      });
    }
    function render() {
      var yName = figure.querySelector(".y-column").value;
      var xName = figure.querySelector(".x-column").value;
      var kind = figure.querySelector(".kind").value;
      if (!yName) return;
      var xs = column(xName), ys = column(yName), pairs = [];
      for (var i = 0; i < xs.length; i++) if (xs[i] !== null) pairs.push([xs[i], ys[i]]);
      pairs.sort(function (a, b) { return a[0] - b[0]; });
      var series = { label: yName, stroke: palette[0], fill: kind === "bar" ? palette[0] + "88" : undefined };
      if (kind === "scatter") { series.paths = function () { return null; }; series.points = { show: true, size: 7, fill: palette[0] }; }
      if (kind === "bar") series.paths = uPlot.paths.bars({ size: [0.6, 40] });
      var opts = { width: Math.max(300, figure.clientWidth - 20), height: 240, series: [{ label: xName }, series],
                   scales: { x: { time: false } }, legend: { show: true } };
      if (plot) plot.destroy();
      figure.querySelector(".plot").textContent = "";
      plot = new uPlot(opts, [pairs.map(function (p) { return p[0]; }), pairs.map(function (p) { return p[1]; })],
                       figure.querySelector(".plot"));
      figure.setAttribute("data-drawn", String(pairs.length));
    }
    Array.prototype.forEach.call(figure.querySelectorAll("select"), function (box) { box.addEventListener("input", render); });
    render();
  }

  function tailLog() {
    var box = document.getElementById("log-text");
    if (!box) return;
    var offset = 0;
    function poll() {
      fetch(box.getAttribute("data-log") + "?offset=" + offset, { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (body) {
          if (!body) { if (!offset) box.textContent = "(no log)"; return; }
          if (body.text) box.appendChild(document.createTextNode(body.text));
          offset = body.next;
          if (!body.ended) window.setTimeout(poll, 2000);
          else if (!offset) box.textContent = "(no log)";
        });
    }
    poll();
  }

  function revealKeys() {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-keys]"), function (button) {
      button.addEventListener("click", function () {
        fetch(button.getAttribute("data-keys"), {
          method: "POST", credentials: "same-origin",
          headers: { Accept: "application/json", "X-CSRF-Token": button.getAttribute("data-csrf") || "" }
        })
          .then(function (answer) { return answer.json().then(function (body) { return [answer.ok, body]; }); })
          .then(function (result) {
            var target = document.getElementById(button.getAttribute("data-target"));
            if (!result[0]) { target.textContent = result[1].detail || "refused"; return; }
            target.textContent = "primary: " + result[1].primary_key + "\nsecondary: " + result[1].secondary_key;
            button.remove();
          });
      });
    });
  }

  function start() {
    if (followMlflowLink()) return;
    loadCharts();
    runsChart();
    tailLog();
    revealKeys();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
