// gnomon dashboard: local times, live feed (SSE), live runs, next fires and job rows,
// schedule preview, confirmations.
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


  // Times: the server writes UTC into <time datetime>; show them in the job's zone
  // (data-tz) or the browser's, and keep UTC on hover (the title).
  const zoneNames = {};
  function localText(date, zone) {
    const key = zone || "";
    if (!(key in zoneNames)) {
      try {
        zoneNames[key] = new Intl.DateTimeFormat("en-CA", {
          year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit",
          minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
          timeZone: zone || undefined,
        });
      } catch (e) {
        zoneNames[key] = null;  // an unknown zone: keep UTC
      }
    }
    const format = zoneNames[key];
    return format ? format.format(date).replace(",", "") : null;
  }
  function localise(root) {
    root.querySelectorAll("time[datetime]:not(.rel)").forEach(function (node) {
      const text = localText(new Date(node.getAttribute("datetime")), node.getAttribute("data-tz"));
      if (text) node.textContent = text;
    });
    updateRelative(root);
  }
  function relativeText(ms) {
    const size = Math.abs(ms) / 1000;
    let text;
    if (size < 60) text = Math.floor(size) + " s";
    else if (size < 3600) text = Math.floor(size / 60) + " min";
    else if (size < 172800) text = (size / 3600).toFixed(1).replace(".0", "") + " h";
    else text = Math.floor(size / 86400) + " d";
    return ms >= 0 ? "in " + text : text + " ago";
  }
  let passed = false;  // a next fire shown as coming has come: refresh what shows it
  function updateRelative(root) {
    const now = Date.now();
    root.querySelectorAll("time.rel[datetime]").forEach(function (node) {
      const ms = Date.parse(node.getAttribute("datetime")) - now;
      // Only a time seen coming counts: a fire still due because no scheduler runs must
      // not make the page refresh forever.
      if (ms > 0) node.setAttribute("data-coming", "");
      else if (ms < -1500 && node.hasAttribute("data-coming") && !node.hasAttribute("data-came")) {
        node.setAttribute("data-came", "");
        passed = true;
      }
      node.textContent = relativeText(ms);
    });
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const note = document.getElementById("zone-note");
  if (note && zone) note.textContent = "times in " + zone + " (job pages: the job's zone); UTC on hover";
  localise(document);

  // Fragments the page refreshes: runs (job page), next fires (job page), job rows (jobs page).
  const timers = {};
  function refresh(id, after) {
    const holder = document.getElementById(id);
    if (!holder) return;
    if (timers[id]) return;  // one refresh at a time, however many events arrive
    timers[id] = setTimeout(function () {
      timers[id] = null;
      fetch(holder.getAttribute("data-src"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) return;
          holder.innerHTML = html;
          if (after) after(holder);
          localise(holder);
        });
    }, 300);
  }
  function nextFireFrom(holder) {
    const template = holder.querySelector("template.next-fire");
    const target = document.getElementById("next-fire");
    if (template && target) {
      target.textContent = "";
      target.appendChild(template.content.cloneNode(true));
      localise(target);
    }
  }
  function refreshSchedule() {
    refresh("upcoming", nextFireFrom);
    refresh("job-rows");
  }
  setInterval(function () {
    passed = false;
    updateRelative(document);
    if (passed) refreshSchedule();
  }, 1000);

  // Forms that ask first (e.g. Remove).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

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
      const stamp = el("time", "mono", (localText(at, null) || at.toISOString()).substring(11, 19));
      stamp.title = at.toISOString();
      item.appendChild(stamp);
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
      if (pageJob && event.job_id === pageJob) {
        refresh("runs");
        if (event.kind.indexOf("job.") === 0) refreshSchedule();
      }
      if (!pageJob) refresh("job-rows");  // next fires, last outcomes, history strips
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

  // API docs: "Try it" sends the operation with fetch and shows the answer as text.
  document.querySelectorAll("form.try").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const op = form.closest("details.op");
      let path = op.getAttribute("data-path");
      const query = new URLSearchParams();
      form.querySelectorAll("input[data-in]").forEach(function (input) {
        if (input.getAttribute("data-in") === "path") {
          path = path.replace("{" + input.name + "}", encodeURIComponent(input.value));
        } else if (input.value !== "") {
          query.append(input.name, input.value);
        }
      });
      const headers = { "Accept": "application/json" };
      const token = document.getElementById("try-token").value.trim();
      if (token) headers["Authorization"] = "Bearer " + token;
      const init = { method: op.getAttribute("data-method"), headers: headers, credentials: "omit" };
      const body = form.querySelector("textarea[name=__body]");
      if (body) { init.body = body.value; headers["Content-Type"] = "application/json"; }
      const answer = form.querySelector(".answer");
      answer.hidden = false;
      answer.textContent = "…";
      const url = path + (query.toString() ? "?" + query.toString() : "");
      fetch(url, init).then(function (r) {
        return r.text().then(function (text) {
          let shown = text;
          try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
          answer.textContent = r.status + " " + r.statusText + "\n" + shown;
        });
      }).catch(function (e) { answer.textContent = "request failed: " + e; });
    });
  });
})();
