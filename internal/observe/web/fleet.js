// The status page's fleet section: every daemon publishing to the fleet's
// status topic (GET /api/fleet), which plugin versions each serves, and
// which stopped reporting. Self-contained (its own helpers), so that it
// does not depend on app.js; every value goes into the page as text.
"use strict";

(() => {
  const FLEET_POLL_MS = 2000;
  let self = ""; // this daemon's id

  const q = (sel) => document.querySelector(sel);
  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text === undefined || text === null ? "" : String(text);
    if (cls) td.className = cls;
    return td;
  }
  function row(cells) {
    const tr = document.createElement("tr");
    tr.append(...cells);
    return tr;
  }
  function empty(cols, text) {
    const td = cell(text, "muted");
    td.colSpan = cols;
    return row([td]);
  }
  const shortSHA = (s) => (s || "").slice(0, 12);
  const shortID = (s) => (s || "").slice(0, 8);
  function age(s) {
    s = Math.max(0, s || 0);
    return s < 60 ? s.toFixed(1) + " s" : Math.round(s / 60) + " min";
  }

  // ticking lists the sources a daemon ticks: leases held, or no lease.
  function ticking(sources) {
    const out = [];
    for (const s of sources || []) {
      if (s.lease === "held") out.push(s.name);
      else if (s.lease === "off") out.push(s.name + " (no lease)");
    }
    return out.length ? out.join(", ") : "–";
  }

  function updateFleet(f) {
    const daemons = f.daemons || [];
    const live = daemons.filter((d) => !d.stale && d.state !== "stopped").length;
    q("#fleet-summary").textContent = "(" + live + " reporting, " + (daemons.length - live) +
      " stale or stopped; topic " + f.topic + ", stale after " + f.stale_after + " intervals)";
    const body = q("#fleet tbody");
    body.replaceChildren(...(daemons.length ? daemons.map((d) => {
      const state = d.stale ? "stale (" + d.state + ")" : d.state;
      const id = cell(shortID(d.daemon_id) + (d.daemon_id === self ? " (this one)" : ""));
      id.title = d.daemon_id;
      const tr = row([id, cell(d.host), cell(d.version), cell(state, d.stale ? "bad" : ""),
        cell(d.ready ? "yes" : "no", d.ready ? "" : "bad"), cell(age(d.age_seconds) + " ago", "num"),
        cell(d.partitions, "num"), cell(d.lag, "num"), cell(ticking(d.sources)),
        cell((d.plugins || []).map((p) => p.name + " @ " + shortSHA(p.sha256)).join(", "), "wrap")]);
      tr.dataset.daemon = d.daemon_id;
      if (d.stale) tr.dataset.stale = "true";
      return tr;
    }) : [empty(10, "No daemon has published yet.")]));
    const rows = [];
    for (const p of f.plugins || []) {
      for (const v of p.versions) {
        const tr = row([cell(p.name), cell(v.sha256, "wrap"), cell(v.daemons.length, "num"),
          cell(v.daemons.map(shortID).join(", "))]);
        if (p.versions.length > 1) tr.className = "converging";
        rows.push(tr);
      }
    }
    q("#fleet-plugins tbody").replaceChildren(...(rows.length ? rows : [empty(4, "No plugin served.")]));
  }

  async function pollFleet() {
    try {
      if (!self) {
        const st = await fetch("/api/status", { cache: "no-store" });
        if (st.ok) self = (await st.json()).daemon_id || "";
      }
      const res = await fetch("/api/fleet", { cache: "no-store" });
      if (res.status === 404) {
        q("#fleet-section").hidden = true; // fleet.status_interval = "0s"
        return;
      }
      if (res.ok) {
        q("#fleet-section").hidden = false;
        updateFleet(await res.json());
      }
    } catch (err) {
      // The main poll reports an unreachable daemon.
    }
    setTimeout(pollFleet, FLEET_POLL_MS);
  }

  pollFleet();
})();
