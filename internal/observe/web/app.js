// The wasmhost status page: polls /api/status every second and updates the
// page in place. Plain JavaScript, no dependencies, no build step. Every
// value from the daemon goes into the page as text, never as HTML.
"use strict";

const POLL_MS = 1000;

const cards = new Map(); // pipeline name -> {el, fields, rate, lag}

// The charts draw the daemon's history (/api/history: the last 15 minutes,
// one sample a second), so a page opened now shows where things were.
const hist = new Map(); // pipeline name -> {time, in_per_second, out_per_second, lag, processed_lag}
const HIST_COLUMNS = ["time", "in_per_second", "out_per_second", "lag", "processed_lag"];
let histWindowMs = 15 * 60 * 1000;
let histLast = 0; // time of the newest sample fetched, Unix ms

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

function fmtClock(t) { return new Date(t).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" }); }

// fmtAxis shows an axis value compactly: 1,200 -> 1.2k.
function fmtAxis(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(v >= 1e7 ? 0 : 1) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + "k";
  return String(Math.round(v * 10) / 10);
}

// niceCeil rounds a chart's top up to 1, 2 or 5 times a power of ten.
function niceCeil(v) {
  if (v <= 1) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function short(sha) { return (sha || "").slice(0, 12); }

// A line chart of a pipeline's history on a canvas: a time axis over the
// history's window ending now, a value axis from 0 in the chart's unit.
// data-points and data-first on the canvas say what it drew (the browser
// test reads them).
class Chart {
  constructor(canvas, series, unit) {
    this.canvas = canvas;
    this.series = series; // [{key, color}], key a column of the history
    this.unit = unit;
    const ratio = window.devicePixelRatio || 1;
    this.w = canvas.width; this.h = canvas.height;
    canvas.width = this.w * ratio; canvas.height = this.h * ratio;
    this.ctx = canvas.getContext("2d");
    this.ctx.scale(ratio, ratio);
  }
  draw(h, now) {
    const { ctx, w, h: ht } = this;
    const left = 40, right = 6, top = 20, bottom = 16;
    const pw = w - left - right, ph = ht - top - bottom;
    const t0 = now - histWindowMs;
    const x = (t) => left + ((t - t0) / histWindowMs) * pw;
    ctx.clearRect(0, 0, w, ht);
    let first = -1, points = 0, maxV = 0;
    const times = (h && h.time) || [];
    for (let j = 0; j < times.length; j++) {
      if (times[j] < t0) continue;
      if (first < 0) first = j;
      points++;
      for (const s of this.series) maxV = Math.max(maxV, h[s.key][j]);
    }
    const topV = niceCeil(maxV);
    const y = (v) => top + ph - (v / topV) * ph;
    const styles = getComputedStyle(document.documentElement);
    ctx.font = "10px system-ui, sans-serif";
    ctx.lineWidth = 1;
    // Value axis: 0, half and the top, with the unit above.
    ctx.fillStyle = "#6b7280";
    ctx.textAlign = "left";
    ctx.fillText(this.unit, 2, 10);
    ctx.textAlign = "right";
    for (const v of [0, topV / 2, topV]) {
      ctx.strokeStyle = "#eef0f3";
      ctx.beginPath(); ctx.moveTo(left, Math.round(y(v)) + 0.5); ctx.lineTo(w - right, Math.round(y(v)) + 0.5); ctx.stroke();
      ctx.fillText(fmtAxis(v), left - 4, y(v) + 3);
    }
    // Time axis: a tick every 5 minutes of clock time.
    ctx.textAlign = "center";
    const step = 5 * 60 * 1000;
    for (let t = Math.ceil(t0 / step) * step; t <= now; t += step) {
      const tx = Math.round(x(t)) + 0.5;
      ctx.strokeStyle = "#eef0f3";
      ctx.beginPath(); ctx.moveTo(tx, top); ctx.lineTo(tx, top + ph); ctx.stroke();
      ctx.fillText(fmtClock(t), Math.min(Math.max(tx, left + 14), w - right - 14), ht - 4);
    }
    ctx.strokeStyle = "#c9ced6";
    ctx.beginPath(); ctx.moveTo(left, top + ph + 0.5); ctx.lineTo(w - right, top + ph + 0.5); ctx.stroke();
    // The lines; a gap of over 3 samples (a restart) breaks them.
    ctx.lineWidth = 1.5;
    for (const s of this.series) {
      ctx.strokeStyle = styles.getPropertyValue(s.color).trim() || "#333";
      ctx.beginPath();
      let prev = null;
      for (let j = Math.max(first, 0); first >= 0 && j < times.length; j++) {
        const px = x(times[j]), py = y(h[s.key][j]);
        if (prev === null || times[j] - prev > 3000) ctx.moveTo(px, py); else ctx.lineTo(px, py);
        prev = times[j];
      }
      ctx.stroke();
    }
    this.canvas.dataset.points = String(points);
    this.canvas.dataset.first = first >= 0 ? String(times[first]) : "";
  }
}

// mergeHistory adds samples from /api/history and drops those older than
// the window.
function mergeHistory(res) {
  histWindowMs = (res.window_seconds || 900) * 1000;
  const now = Date.parse(res.now) || Date.now();
  for (const p of res.pipelines || []) {
    let h = hist.get(p.name);
    if (!h) { h = {}; for (const c of HIST_COLUMNS) h[c] = []; hist.set(p.name, h); }
    for (const c of HIST_COLUMNS) h[c].push(...(p[c] || []));
    const n = p.time.length;
    if (n) histLast = Math.max(histLast, p.time[n - 1]);
  }
  for (const h of hist.values()) {
    let k = 0;
    while (k < h.time.length && h.time[k] < now - histWindowMs) k++;
    if (k) for (const c of HIST_COLUMNS) h[c].splice(0, k);
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
    el: root, fields,
    rate: new Chart(root.querySelector('[data-chart="rate"]'),
      [{ key: "in_per_second", color: "--in" }, { key: "out_per_second", color: "--out" }], "records/s"),
    lag: new Chart(root.querySelector('[data-chart="lag"]'),
      [{ key: "lag", color: "--lag" }, { key: "processed_lag", color: "--plag" }], "records"),
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
  f.processed_lag.textContent = fmtInt(p.processed_lag);
  c.rate.draw(hist.get(p.name), now);
  c.lag.draw(hist.get(p.name), now);

  const body = c.el.querySelector("table.partitions tbody");
  const rows = [];
  for (const m of p.members || []) {
    if (!m.partitions || m.partitions.length === 0) {
      const tr = el("tr");
      tr.append(el("td", m.consumer), el("td", m.joined ? "no partitions" : "not in group", "muted"),
        el("td"), el("td"), el("td"), el("td"), el("td"), el("td"), el("td"), el("td", m.joined ? "idle" : "joining", m.joined ? "" : "bad"));
      rows.push(tr);
      continue;
    }
    for (const pt of m.partitions) {
      const tr = el("tr");
      tr.append(el("td", m.consumer), el("td", pt.topic), el("td", pt.partition, "num"),
        el("td", pt.processed < 0 ? "none" : fmtInt(pt.processed), "num"),
        el("td", pt.committed < 0 ? "none" : fmtInt(pt.committed), "num"), el("td", fmtInt(pt.high_watermark), "num"),
        el("td", fmtInt(pt.processed_lag), "num"), el("td", fmtInt(pt.lag), "num"),
        el("td", pt.state_keys || pt.state_bytes ? fmtInt(pt.state_keys || 0) + " keys, " + fmtBytes(pt.state_bytes || 0) : "", "num"),
        el("td", pt.halted ? "halted" : "running", pt.halted ? "bad" : ""));
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
    $("#sources tbody").replaceChildren(emptyRow(6, "No sources."));
    return;
  }
  $("#sources tbody").replaceChildren(...sources.map((s) => {
    const tr = el("tr");
    const plugin = el("td", s.plugin.name + " @ " + short(s.plugin.sha256));
    plugin.title = s.plugin.sha256;
    tr.dataset.source = s.name;
    tr.append(el("td", s.name), plugin, el("td", s.interval), el("td", fmtInt(s.ticks), "num"),
      el("td", fmtInt(s.out), "num"), el("td", fmtInt(s.failed), s.failed > 0 ? "num bad" : "num"));
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
  $("#daemon").textContent = "daemon " + (s.daemon_id || "");
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

async function getJSON(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error("HTTP " + res.status);
  return res.json();
}

async function poll() {
  const banner = $("#banner");
  try {
    const [status, history] = await Promise.all([getJSON("/api/status"), getJSON("/api/history?since=" + histLast)]);
    mergeHistory(history);
    update(status);
    banner.hidden = true;
  } catch (err) {
    banner.textContent = "Cannot reach the daemon (" + err.message + "); retrying…";
    banner.hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

poll();
