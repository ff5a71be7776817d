// gnomon dashboard: live feed (SSE), live runs table, schedule preview, confirmations.
// No inline scripts (the CSP forbids them); text from the server is set with textContent.
"use strict";

(function () {
  const body = document.body;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Forms that ask first (e.g. Remove).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  // Runs table of the job page, refreshed when its events arrive.
  let refreshTimer = null;
  function refreshRuns() {
    const holder = document.getElementById("runs");
    if (!holder) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      fetch(holder.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) holder.innerHTML = html; });
    }, 150);
  }

  // Live event feed.
  const feed = document.getElementById("feed");
  if (feed && window.EventSource) {
    const dot = document.getElementById("live-dot");
    const source = new EventSource(feed.getAttribute("data-stream"));
    const pageJob = body.getAttribute("data-job-id");
    let empty = true;
    source.onopen = function () { if (dot) { dot.classList.add("on"); dot.title = "live"; } };
    source.onerror = function () { if (dot) { dot.classList.remove("on"); dot.title = "reconnecting…"; } };
    source.onmessage = function (message) {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (empty) { feed.textContent = ""; empty = false; }
      const item = el("li", "ev");
      const at = new Date(event.at);
      item.appendChild(el("time", "mono", at.toISOString().substring(11, 19)));
      const kind = event.kind.split(".")[1] || event.kind;
      item.appendChild(el("span", "status s-" + kind, event.kind));
      if (event.job_id) {
        const link = el("a", "mono", event.job_id);
        link.href = "/jobs/" + encodeURI(event.job_id);
        item.appendChild(link);
      }
      if (event.run_id) item.appendChild(el("span", "muted", "run #" + event.run_id));
      feed.insertBefore(item, feed.firstChild);
      while (feed.children.length > 40) feed.removeChild(feed.lastChild);
      if (pageJob && event.job_id === pageJob) refreshRuns();
    };
  }

  // New-job form: show the fields the chosen action needs; preview the schedule.
  const kind = document.getElementById("kind");
  if (kind) {
    const command = document.getElementById("command-field");
    const config = document.getElementById("config-field");
    const toggle = function () {
      command.hidden = kind.value !== "shell";
      config.hidden = kind.value === "shell";
    };
    kind.addEventListener("change", toggle);
    toggle();
  }
  const when = document.getElementById("when");
  const preview = document.getElementById("preview");
  if (when && preview) {
    const tz = document.getElementById("tz");
    let timer = null;
    const show = function () {
      const params = new URLSearchParams({ when: when.value, tz: tz.value || "UTC" });
      if (!when.value.trim()) { preview.textContent = ""; return; }
      fetch("/ui/preview?" + params.toString(), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          preview.textContent = "";
          preview.className = "preview " + (data.error ? "bad" : "good");
          if (data.error) { preview.appendChild(el("span", "", data.error)); return; }
          preview.appendChild(el("strong", "", data.description));
          const list = el("ul", "fires");
          data.fires.forEach(function (f) { list.appendChild(el("li", "mono", f)); });
          preview.appendChild(list);
        });
    };
    const later = function () { clearTimeout(timer); timer = setTimeout(show, 250); };
    when.addEventListener("input", later);
    tz.addEventListener("input", later);
    if (when.value) show();
  }
})();
