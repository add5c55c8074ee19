// The wasmhost status page: polls /api/status every second and updates the
// page in place. Plain JavaScript, no dependencies, no build step. Every
// value from the daemon goes into the page as text, never as HTML.
"use strict";

const POLL_MS = 1000;
const POINTS = 120; // two minutes of samples per chart

const cards = new Map(); // pipeline name -> {el, fields, charts, last, rate, lag}

function $(sel, root) { return (root || document).querySelector(sel); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function fmtInt(n) { return Number(n || 0).toLocaleString("en-US"); }

function fmtBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  n = Number(n || 0);
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function fmtDuration(s) {
  s = Math.max(0, Math.round(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + r + "s";
}

function fmtTime(t) { return new Date(t).toLocaleTimeString("en-GB"); }

function short(sha) { return (sha || "").slice(0, 12); }

// A tiny line chart on a canvas, redrawn in place with each sample.
class Chart {
  constructor(canvas, series) {
    this.canvas = canvas;
    this.series = series; // [{key, color}]
    this.data = series.map(() => []);
    const ratio = window.devicePixelRatio || 1;
    this.w = canvas.width; this.h = canvas.height;
    canvas.width = this.w * ratio; canvas.height = this.h * ratio;
    this.ctx = canvas.getContext("2d");
    this.ctx.scale(ratio, ratio);
  }
  push(values) {
    values.forEach((v, i) => {
      const d = this.data[i];
      d.push(v);
      if (d.length > POINTS) d.shift();
    });
    this.draw();
  }
  draw() {
    const { ctx, w, h } = this;
    ctx.clearRect(0, 0, w, h);
    let top = 1;
    for (const d of this.data) for (const v of d) top = Math.max(top, v);
    const styles = getComputedStyle(document.documentElement);
    ctx.strokeStyle = "#e3e6eb";
    ctx.beginPath(); ctx.moveTo(0, h - 0.5); ctx.lineTo(w, h - 0.5); ctx.stroke();
    this.series.forEach((s, i) => {
      const d = this.data[i];
      if (d.length < 2) return;
      ctx.strokeStyle = styles.getPropertyValue(s.color).trim() || "#333";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      d.forEach((v, j) => {
        const x = w - 4 - (d.length - 1 - j) * ((w - 8) / (POINTS - 1));
        const y = h - 4 - (v / top) * (h - 18);
        if (j === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
      });
      ctx.stroke();
    });
    ctx.fillStyle = "#6b7280";
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText("max " + fmtInt(Math.round(top)), 4, 12);
  }
}

function card(p) {
  let c = cards.get(p.name);
  if (c) return c;
  const frag = $("#pipeline-card").content.cloneNode(true);
  const root = frag.querySelector("article");
  root.dataset.pipeline = p.name;
  const fields = {};
  root.querySelectorAll("[data-field]").forEach((e) => { fields[e.dataset.field] = e; });
  c = {
    el: root, fields, last: null,
    rate: new Chart(root.querySelector('[data-chart="rate"]'), [{ color: "--in" }, { color: "--out" }]),
    lag: new Chart(root.querySelector('[data-chart="lag"]'), [{ color: "--lag" }]),
  };
  const empty = $("#pipelines .empty");
  if (empty) empty.remove();
  $("#pipelines").appendChild(root);
  cards.set(p.name, c);
  return c;
}

function setCount(e, v, badWhenPositive) {
  e.textContent = fmtInt(v);
  e.classList.toggle("bad", Boolean(badWhenPositive && v > 0));
}

function updatePipeline(p, now) {
  const c = card(p);
  const f = c.fields;
  f.name.textContent = p.name;
  f.guarantee.textContent = p.guarantee;
  f.policy.textContent = "on failure: " + p.failure_policy;
  f.group.textContent = p.group;
  f.topics.textContent = (p.topics || []).join(", ");
  f.plugin.textContent = p.plugin.name + " @ " + short(p.plugin.sha256);
  f.plugin.title = p.plugin.sha256 + " (" + p.plugin.path + ")";
  const n = p.counts;
  setCount(f.in, n.in); setCount(f.out, n.out);
  setCount(f.failed, n.failed, true); setCount(f.dead_lettered, n.dead_lettered, true);
  setCount(f.skipped, n.skipped, true); setCount(f.retried, n.retried);
  setCount(f.traps, n.traps, true); setCount(f.timeouts, n.timeouts, true);
  setCount(f.txn_committed, n.transactions_committed); setCount(f.txn_aborted, n.transactions_aborted, true);
  c.el.querySelectorAll("[data-txn]").forEach((e) => { e.hidden = p.guarantee !== "exactly-once"; });
  const calls = p.call_seconds.count;
  f.call.textContent = calls ? (1000 * p.call_seconds.sum / calls).toFixed(2) + " ms" : "–";
  f.batch.textContent = calls ? (p.batch_records.sum / calls).toFixed(1) : "–";
  f.memory.textContent = fmtBytes(p.memory_bytes);
  f.lag.textContent = fmtInt(p.lag);

  // Rates from the change since the last sample.
  if (c.last && now > c.last.t) {
    const dt = (now - c.last.t) / 1000;
    c.rate.push([Math.max(0, n.in - c.last.in) / dt, Math.max(0, n.out - c.last.out) / dt]);
  }
  c.last = { t: now, in: n.in, out: n.out };
  c.lag.push([p.lag]);

  const body = c.el.querySelector("table.partitions tbody");
  const rows = [];
  for (const m of p.members || []) {
    if (!m.partitions || m.partitions.length === 0) {
      const tr = el("tr");
      tr.append(el("td", m.consumer), el("td", m.joined ? "no partitions" : "not in group", "muted"),
        el("td"), el("td"), el("td"), el("td"), el("td", m.joined ? "idle" : "joining", m.joined ? "" : "bad"));
      rows.push(tr);
      continue;
    }
    for (const pt of m.partitions) {
      const tr = el("tr");
      tr.append(el("td", m.consumer), el("td", pt.topic), el("td", pt.partition, "num"),
        el("td", pt.committed < 0 ? "none" : fmtInt(pt.committed), "num"), el("td", fmtInt(pt.high_watermark), "num"),
        el("td", fmtInt(pt.lag), "num"), el("td", pt.halted ? "halted" : "running", pt.halted ? "bad" : ""));
      rows.push(tr);
    }
  }
  body.replaceChildren(...rows);
}

// emptyRow is a table's one row when it has nothing to list.
function emptyRow(cols, text) {
  const tr = el("tr");
  const td = el("td", text, "muted");
  td.colSpan = cols;
  tr.append(td);
  return tr;
}

function updateSources(sources) {
  if (!sources.length) {
    $("#sources tbody").replaceChildren(emptyRow(7, "No sources."));
    return;
  }
  $("#sources tbody").replaceChildren(...sources.map((s) => {
    const tr = el("tr");
    const plugin = el("td", s.plugin.name + " @ " + short(s.plugin.sha256));
    plugin.title = s.plugin.sha256;
    tr.dataset.source = s.name;
    tr.append(el("td", s.name), plugin, el("td", s.interval), el("td", fmtInt(s.ticks), "num"),
      el("td", fmtInt(s.out), "num"), el("td", fmtInt(s.failed), s.failed > 0 ? "num bad" : "num"),
      el("td", s.lease ? s.lease.state + " (group " + s.lease.group + ")" : "off: ticks on every daemon"));
    return tr;
  }));
}

function updateProducer(p) {
  const items = [["sent", p.sent], ["delivered", p.delivered], ["delivery errors", p.failed], ["in flight", p.in_flight]];
  $("#producer").replaceChildren(...items.map(([k, v]) => {
    const d = el("div");
    const dd = el("dd", fmtInt(v));
    if (k === "delivery errors" && v > 0) dd.className = "bad";
    d.append(el("dt", k), dd);
    return d;
  }));
}

function updatePlugins(plugins) {
  if (!plugins.length) {
    $("#plugins tbody").replaceChildren(emptyRow(7, "No plugins loaded yet."));
    return;
  }
  $("#plugins tbody").replaceChildren(...plugins.map((p) => {
    const tr = el("tr");
    tr.dataset.plugin = p.name;
    const hist = el("ul", null, "history");
    for (const h of p.history || []) {
      let text = fmtTime(h.time) + " " + h.event;
      if (h.sha256) text += " " + short(h.sha256);
      if (h.previous_sha256 && h.event === "reloaded") text += " (was " + short(h.previous_sha256) + ")";
      if (h.seconds) text += " in " + (h.seconds * 1000).toFixed(0) + " ms";
      if (h.error) text += ": " + h.error;
      hist.append(el("li", text, h.event === "reload-failed" ? "bad" : ""));
    }
    const td = el("td");
    td.append(hist);
    tr.append(el("td", p.name), el("td", p.sha256, "wrap"), el("td", p.path, "wrap"), el("td", p.loaded_at ? fmtTime(p.loaded_at) : "–"),
      el("td", fmtInt(p.reloads), "num"), el("td", fmtInt(p.reload_failures), p.reload_failures > 0 ? "num bad" : "num"), td);
    return tr;
  }));
}

function updateConfigReloads(c) {
  $("#config-counts").textContent = "(" + fmtInt(c.applied) + " applied, " + fmtInt(c.rejected) + " rejected)";
  const body = $("#config-reloads tbody");
  if (!c.history.length) {
    body.replaceChildren(emptyRow(3, "No reloads since the daemon started."));
    return;
  }
  body.replaceChildren(...c.history.map((h) => {
    const tr = el("tr");
    tr.append(el("td", fmtTime(h.time)), el("td", h.result, h.result === "rejected" ? "bad" : ""), el("td", h.error || "", "error"));
    return tr;
  }));
}

function updateErrors(errors) {
  const body = $("#errors tbody");
  if (!errors.length) {
    body.replaceChildren(emptyRow(7, "No errors."));
    return;
  }
  body.replaceChildren(...errors.map((e) => {
    const tr = el("tr");
    let where = "–";
    if (e.topic) {
      where = e.topic + "/" + e.partition + "@" + e.offset;
      if (e.last_offset !== e.offset) where += "…" + e.last_offset;
    }
    tr.append(el("td", fmtTime(e.time)), el("td", e.pipeline), el("td", e.plugin + " @ " + short(e.plugin_version)),
      el("td", where), el("td", e.kind), el("td", e.action), el("td", e.error, "error"));
    return tr;
  }));
}

function update(s) {
  const now = Date.parse(s.now) || Date.now();
  $("#version").textContent = s.version + " · ABI " + s.abi_version;
  const ready = $("#ready");
  ready.textContent = s.ready ? "ready" : "not ready";
  ready.className = "badge " + (s.ready ? "ok" : "bad");
  const nr = $("#not-ready");
  nr.replaceChildren(...(s.not_ready || []).map((r) => el("li", r)));
  nr.hidden = s.ready;
  const up = (now - Date.parse(s.started_at)) / 1000;
  $("#summary").textContent = "up " + fmtDuration(up) + " · brokers " + (s.brokers || []).join(", ") +
    (s.embedded_broker ? " (embedded)" : "");
  $("#updated").textContent = "updated " + fmtTime(now);
  for (const p of s.pipelines) updatePipeline(p, now);
  for (const [name, c] of cards) {
    if (!s.pipelines.some((p) => p.name === name)) { c.el.remove(); cards.delete(name); }
  }
  updateSources(s.sources);
  updateProducer(s.producer);
  updatePlugins(s.plugins);
  updateConfigReloads(s.config_reloads);
  updateErrors(s.errors);
}

async function poll() {
  const banner = $("#banner");
  try {
    const res = await fetch("/api/status", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    update(await res.json());
    banner.hidden = true;
  } catch (err) {
    banner.textContent = "Cannot reach the daemon (" + err.message + "); retrying…";
    banner.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

poll();
