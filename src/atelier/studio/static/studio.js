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


  // a drift detector's magnitude per window, read from its windows table, with the
  // threshold as a second (flat) line
  function driftChart() {
    var figure = document.getElementById("drift-chart");
    var table = figure && document.getElementById(figure.getAttribute("data-table"));
    if (!figure || !table || typeof uPlot === "undefined") return;
    var points = Array.prototype.map.call(table.querySelectorAll("tbody tr"), function (row) {
      var value = row.getAttribute("data-magnitude");
      return [Number(row.getAttribute("data-start-ms")) / 1000, value === "" ? null : Number(value)];
    }).sort(function (a, b) { return a[0] - b[0]; });
    var threshold = figure.getAttribute("data-threshold");
    var xs = points.map(function (p) { return p[0]; });
    var data = [xs, points.map(function (p) { return p[1]; })];
    var series = [{}, { label: "drift magnitude", stroke: palette[0], width: 1.5, points: { show: true, size: 6 } }];
    if (threshold !== "") {
      data.push(xs.map(function () { return Number(threshold); }));
      series.push({ label: "threshold", stroke: palette[1 % palette.length], dash: [6, 4], width: 1 });
    }
    var opts = { width: Math.max(300, figure.clientWidth - 20), height: 260, series: series,
                 scales: { x: { time: true }, y: { range: [0, 100] } }, legend: { show: true } };
    if (xs.length === 1) opts.scales.x.range = [xs[0] - 86400, xs[0] + 86400];  // one window: a day each side
    figure.querySelector(".plot").textContent = "";
    new uPlot(opts, data, figure.querySelector(".plot"));
    figure.setAttribute("data-drawn", String(points.length));
  }


  // parallel coordinates over a table's columns marked data-axis: one vertical axis per
  // column (numbers on a linear scale, anything else as evenly spaced categories), one line
  // per row, coloured by the column marked data-color (or the last axis)
  function parallelCoordinates(figure) {
    var table = document.getElementById(figure.getAttribute("data-table"));
    var canvas = figure.querySelector("canvas");
    if (!table || !canvas || !canvas.getContext) return;
    var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    var axes = [], colorAxis = -1;
    heads.forEach(function (th, index) {
      if (th.getAttribute("data-axis") !== "1") return;
      if (th.getAttribute("data-color") === "1") colorAxis = axes.length;
      axes.push({ index: index, name: th.getAttribute("data-column") || th.textContent.trim() });
    });
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    if (axes.length < 2 || !rows.length) { figure.setAttribute("data-drawn", "0"); return; }
    if (colorAxis < 0) colorAxis = axes.length - 1;
    axes.forEach(function (axis) {
      var texts = rows.map(function (row) { return (row.children[axis.index] || {}).textContent.trim(); });
      var numbers = texts.map(function (t) { return t === "" ? null : Number(t); });
      axis.numeric = numbers.every(function (v) { return v === null || isFinite(v); });
      if (axis.numeric) {
        var present = numbers.filter(function (v) { return v !== null; });
        axis.low = Math.min.apply(null, present); axis.high = Math.max.apply(null, present);
        if (!present.length) { axis.low = 0; axis.high = 1; }
        if (axis.low === axis.high) { axis.low -= 0.5; axis.high += 0.5; }
        axis.at = numbers.map(function (v) { return v === null ? null : (v - axis.low) / (axis.high - axis.low); });
        axis.labels = [axis.low, axis.high].map(function (v) { return String(+v.toPrecision(4)); });
      } else {
        var kinds = texts.filter(function (t, i) { return t !== "" && texts.indexOf(t) === i; }).sort();
        axis.at = texts.map(function (t) { return t === "" ? null : (kinds.indexOf(t) + 0.5) / kinds.length; });
        axis.labels = kinds.length ? [kinds[0], kinds[kinds.length - 1]] : ["", ""];
      }
    });
    var ratio = window.devicePixelRatio || 1;
    var width = Math.max(300, canvas.clientWidth || 900), height = canvas.clientHeight || 320;
    canvas.width = width * ratio; canvas.height = height * ratio;
    var ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    var style = window.getComputedStyle(document.body);
    var left = 40, right = 40, top = 28, bottom = 28;
    var step = (width - left - right) / (axes.length - 1);
    function x(i) { return left + i * step; }
    function y(at) { return top + (1 - at) * (height - top - bottom); }
    var drawn = 0;
    rows.forEach(function (row, r) {
      var shade = axes[colorAxis].at[r];
      ctx.strokeStyle = shade === null ? "rgba(128,128,128,0.35)"
        : "hsla(" + Math.round(240 - 240 * shade) + ",75%,50%,0.75)";
      ctx.lineWidth = 1.4;
      ctx.beginPath();
      var pen = false;
      axes.forEach(function (axis, i) {
        var at = axis.at[r];
        if (at === null) { pen = false; return; }
        if (pen) ctx.lineTo(x(i), y(at)); else ctx.moveTo(x(i), y(at));
        pen = true;
      });
      ctx.stroke();
      drawn++;
    });
    ctx.fillStyle = style.color; ctx.strokeStyle = style.color; ctx.lineWidth = 1;
    ctx.font = "11px system-ui, sans-serif"; ctx.textAlign = "center";
    axes.forEach(function (axis, i) {
      ctx.beginPath(); ctx.moveTo(x(i), top); ctx.lineTo(x(i), height - bottom); ctx.stroke();
      ctx.fillText(axis.name.length > 24 ? axis.name.slice(0, 23) + "…" : axis.name, x(i), 12);
      ctx.fillText(axis.labels[1], x(i), top - 4);
      ctx.fillText(axis.labels[0], x(i), height - bottom + 14);
    });
    figure.setAttribute("data-drawn", String(drawn));
  }

  function loadParallelCoordinates() {
    Array.prototype.forEach.call(document.querySelectorAll("figure.parcoords[data-table]"), parallelCoordinates);
  }


  // an endpoint's test box: the Studio's server sends the body to the endpoint and
  // answers its status, time and body, shown here as text
  function endpointTests() {
    var form = document.getElementById("test-form");
    if (!form) return;
    var status = document.getElementById("test-status");
    var shown = document.getElementById("test-answer");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var sent = { body: document.getElementById("test-body").value };
      var deployment = document.getElementById("test-deployment").value;
      if (deployment) sent.deployment = deployment;
      status.textContent = "sending…";
      shown.textContent = "";
      fetch(form.getAttribute("data-test"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRF-Token": form.getAttribute("data-csrf") || "" },
        body: JSON.stringify(sent)
      })
        .then(function (answer) { return answer.json().then(function (body) { return [answer.ok, body]; }); })
        .then(function (result) {
          var body = result[1];
          if (!result[0]) { status.textContent = "refused: " + (body.detail || "error"); return; }
          if (body.status === null) { status.textContent = body.error; return; }
          status.textContent = "HTTP " + body.status + " in " + body.elapsed_ms + " ms";
          var text = body.body;
          try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: as sent */ }
          shown.textContent = text + (body.truncated ? "\n… (cut)" : "");
          form.setAttribute("data-answered", String(body.status));
        })
        .catch(function (err) { status.textContent = "could not send: " + err.message; });
    });
  }


  // the runs table: sorting and paging fetch only the page's main part and swap it in
  // (the address changes as with a link, so the view stays shareable); anything that
  // goes wrong falls back to following the link
  function swapRunsTable() {
    var main = document.querySelector("main");
    if (!main || !document.getElementById("runs")) return;
    main.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("#runs th a.sort, nav.pages a") : null;
      if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      var href = link.getAttribute("href");
      var url = href + (href.indexOf("?") < 0 ? "?" : "&") + "fragment=1";
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (answer) { if (!answer.ok) throw new Error(String(answer.status)); return answer.text(); })
        .then(function (html) {
          main.innerHTML = html;  // the server's escaped HTML; script in it would not run
          window.history.pushState({ studio: "runs" }, "", href);
          // the table shows first; its charts are drawn in the next task
          window.setTimeout(function () { runsChart(); loadParallelCoordinates(); }, 0);
        })
        .catch(function () { window.location.href = href; });
    });
    window.addEventListener("popstate", function () { window.location.reload(); });
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
    driftChart();
    swapRunsTable();
    loadParallelCoordinates();
    endpointTests();
    tailLog();
    revealKeys();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
