// The targets page's charts (Apache ECharts, static/echarts-*.min.js)
// from the trend in #trend's data-trend, and a notice while an export is
// being made. The page reads without it.
(function () {
  "use strict";
  function charts() {
    var box = document.getElementById("trend");
    if (!box || typeof echarts === "undefined") return;
    var trend = JSON.parse(box.getAttribute("data-trend") || "{}");
    var months = (trend.months || []);
    var names = months.map(function (m) { return m.month + "月"; });
    var pick = function (k) { return months.map(function (m) { return m[k]; }); };
    var base = {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 48, top: 36, bottom: 28 },
      xAxis: { type: "category", data: names }
    };
    var options = {
      hours: Object.assign({}, base, {
        color: ["#b71c1c", "#1565c0"],
        yAxis: [{ type: "value", name: "小时" }, { type: "value", name: "人次" }],
        series: [
          { name: "计入时长（小时）", type: "bar", data: pick("hours") },
          { name: "服务人次", type: "line", yAxisIndex: 1, data: pick("person_times") }
        ]
      }),
      volunteers: Object.assign({}, base, {
        color: ["#1565c0", "#2e7d32"],
        yAxis: { type: "value", name: "人" },
        series: [
          { name: "注册志愿者", type: "line", data: pick("registered") },
          { name: "活跃志愿者（累计）", type: "line", data: pick("active") }
        ]
      })
    };
    var all = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var c = echarts.init(el, null, { renderer: "canvas" });
      c.setOption(options[el.getAttribute("data-chart")]);
      all.push(c);
    });
    window.addEventListener("resize", function () { all.forEach(function (c) { c.resize(); }); });
  }

  // An export is fetched here so that the page can say it is being
  // made, then handed to the browser as a download.
  function exports() {
    var status = document.getElementById("exportStatus");
    if (!status || !window.fetch || !window.URL || !URL.createObjectURL) return;
    var busy = false;
    function download(url, label) {
      if (busy) return;
      busy = true;
      status.textContent = "正在生成“" + label + "”，请稍候……";
      var started = Date.now();
      fetch(url, { credentials: "same-origin" }).then(function (resp) {
        if (!resp.ok) {
          return resp.json().then(function (e) { throw new Error(e.message_zh || "导出失败，请稍后重试。"); },
            function () { throw new Error("导出失败（" + resp.status + "），请稍后重试。"); });
        }
        var name = (resp.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
        return resp.blob().then(function (b) { return { blob: b, name: name ? name[1] : "export" }; });
      }).then(function (f) {
        var href = URL.createObjectURL(f.blob);
        var link = document.createElement("a");
        link.href = href;
        link.download = f.name;
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(href); }, 60000);
        status.textContent = "已生成 " + f.name + "（" + Math.max(1, Math.round(f.blob.size / 1024)) + " KB，用时 " +
          Math.round((Date.now() - started) / 100) / 10 + " 秒），浏览器已开始下载。";
      }).catch(function (e) {
        status.textContent = e.message;
      }).then(function () { busy = false; });
    }
    document.querySelectorAll("a.export").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        download(a.href, a.textContent);
      });
    });
    var form = document.getElementById("exportForm");
    if (form) {
      form.addEventListener("submit", function (ev) {
        var button = ev.submitter || form.querySelector("button");
        var params = new URLSearchParams();
        new FormData(form).forEach(function (v, k) { if (v !== "") params.append(k, v); });
        ev.preventDefault();
        download(button.formAction + "?" + params.toString(), button.textContent);
      });
    }
  }

  function start() { charts(); exports(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
