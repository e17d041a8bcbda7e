// rigfit serve: the pages. Plain JavaScript, no framework, no build step, nothing from the network.
// The URL's query string holds the whole state of a page, so a plan can be shared as a link.
"use strict";

const GIB = 2 ** 30;
const QUANTS = ["", "Q2_K", "Q3_K_M", "Q4_0", "Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "BF16", "F16",
  "MXFP4_MOE", "IQ4_XS", "IQ3_M", "IQ2_M"];
const CTX_STEPS = [512, 1024, 2048, 4096, 6144, 8192, 12288, 16384, 24576, 32768, 49152, 65536, 98304,
  131072, 196608, 262144, 524288, 1048576];

// ---------------------------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------------------------
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
const fmt = (x, d = 1) => (x === null || x === undefined ? "unknown"
  : Number(x).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d }));
const gib = (b, d = 2) => (b === null || b === undefined ? "unknown" : fmt(b / GIB, d));
const int = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));

function band(f, d = 1) {
  // "58.3 (50.2–65.5)" from a Figure's JSON {value, low, high, provenance, source}
  if (!f || f.value === null || f.value === undefined) return "unknown";
  let s = fmt(f.value, d);
  if (f.low !== null && f.low !== undefined && f.high !== null && f.high !== undefined) {
    s += ` (${fmt(f.low, d)}–${fmt(f.high, d)})`;
  }
  return s;
}
function figTitle(f) {
  if (!f) return "";
  return `${f.provenance || ""}${f.low != null ? ", p10–p90 band" : ""}${f.source ? ": " + f.source : ""}`;
}

function state() { return new URLSearchParams(location.search); }
function setState(params, push) {
  const q = params.toString();
  const url = location.pathname + (q ? "?" + q : "");
  if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
  updateNav();
}
function updateNav() {
  // carry the shared inputs (machine, model, quant, ctx) from page to page
  const s = state();
  const keep = new URLSearchParams();
  for (const k of ["on", "model", "quant", "ctx"]) for (const v of s.getAll(k)) keep.append(k, v);
  const q = keep.toString();
  for (const a of document.querySelectorAll("#nav a")) {
    a.href = "/" + a.dataset.view + (q ? "?" + q : "");
    a.classList.toggle("active", a.dataset.view === currentView());
  }
}
function currentView() {
  const p = location.pathname.replace(/^\/+|\/+$/g, "");
  return VIEWS[p] ? p : "plan";
}

let seq = 0;
async function api(path, params) {
  const res = await fetch(path + "?" + params.toString(), { headers: { Accept: "application/json" } });
  let body;
  try { body = await res.json(); } catch (e) { body = { error: `HTTP ${res.status}`, hint: null }; }
  if (!res.ok) { const err = new Error(body.error || `HTTP ${res.status}`); err.hint = body.hint; throw err; }
  return body;
}
function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
function showError(box, err) {
  box.replaceChildren(h("div", { class: "error", id: "error", role: "alert" },
    h("b", { text: "error: " }), err.message, err.hint ? h("div", { class: "hint", text: err.hint }) : null));
}
function copyButton(text) {
  return h("button", {
    class: "copy", type: "button", title: "Copy to the clipboard",
    onclick: (ev) => {
      const done = () => { ev.target.textContent = "copied"; setTimeout(() => { ev.target.textContent = "copy"; }, 1200); };
      if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, done);
      else {
        const ta = h("textarea", {}, text); document.body.append(ta); ta.select();
        try { document.execCommand("copy"); } finally { ta.remove(); } done();
      }
    },
  }, "copy");
}

// ---------------------------------------------------------------------------------------------
// pickers: search-as-you-type over the catalog
// ---------------------------------------------------------------------------------------------
function picker({ id, label, value, placeholder, endpoint, show, pick, onchange: changed, extra }) {
  let last = value || "";
  const onchange = (v) => { if (v !== last) { last = v; changed(v); } };
  const input = h("input", { id, type: "text", value: value || "", placeholder, autocomplete: "off",
    spellcheck: "false", "aria-autocomplete": "list", "aria-controls": id + "-list" });
  const list = h("ul", { class: "suggest", id: id + "-list", role: "listbox", hidden: true });
  let active = -1, items = [];
  const close = () => { list.hidden = true; active = -1; };
  const choose = (row) => { input.value = pick(row); close(); onchange(input.value); };
  const search = debounce(async () => {
    const q = input.value.trim();
    if (!q) { close(); return; }
    try {
      const res = await api(endpoint, new URLSearchParams({ q, limit: "12" }));
      if (input.value.trim() !== q) return;
      items = res.matches;
      list.replaceChildren(...items.map((row, i) => h("li", {
        role: "option", "data-i": i, onmousedown: (ev) => { ev.preventDefault(); choose(row); },
      }, ...show(row))));
      list.hidden = items.length === 0; active = -1;
    } catch (e) { close(); }
  }, 80);
  input.addEventListener("input", () => { search(); });
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      if (list.hidden) return;
      ev.preventDefault();
      active = (active + (ev.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
      [...list.children].forEach((li, i) => li.classList.toggle("on", i === active));
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      if (!list.hidden && active >= 0) choose(items[active]); else { close(); onchange(input.value); }
    } else if (ev.key === "Escape") close();
  });
  input.addEventListener("blur", () => { setTimeout(close, 100); onchange(input.value); });
  return h("div", { class: "field picker" }, h("label", { for: id, text: label }),
    h("div", { class: "picker-row" }, input, extra || null), list);
}
function machinePicker(id, value, onchange, label = "Machine") {
  let p;
  const local = h("button", { type: "button", class: "small", title: "Detect this machine (GPUs, CPU, RAM)",
    onclick: () => { p.querySelector("input").value = "local"; onchange("local"); } }, "this machine");
  p = picker({
    id, label, value, placeholder: "RTX 3060 12GB + 32GB DDR4, M3 Max 64GB, 2x RTX 3090 …",
    endpoint: "/api/hardware/search", pick: (r) => r.on, onchange, extra: local,
    show: (r) => [h("span", { class: "nm", text: r.name }),
      h("span", { class: "meta", text: `${r.kind}${r.memory_bytes ? " · " + gib(r.memory_bytes, 0) + " GiB" : ""}` +
        `${r.bandwidth_bytes_per_s ? " · " + fmt(r.bandwidth_bytes_per_s / 1e9, 0) + " GB/s" : ""}` })],
  });
  return p;
}
function modelPicker(id, value, onchange) {
  return picker({
    id, label: "Model", value, placeholder: "llama-3.1-8b, qwen3 30b, a .gguf path, ollama:NAME …",
    endpoint: "/api/models/search", pick: (r) => r.id, onchange,
    show: (r) => [h("span", { class: "nm", text: r.name }), h("span", { class: "meta",
      text: `${r.id} · ${fmt((r.total_params || 0) / 1e9, 1)} B params` +
        `${r.active_params && r.active_params !== r.total_params ? ", " + fmt(r.active_params / 1e9, 1) + " B active" : ""}` })],
  });
}
function select(id, label, options, value, onchange, title) {
  const s = h("select", { id, title, onchange: () => onchange(s.value) },
    options.map(([v, t]) => h("option", { value: v, selected: v === value }, t)));
  return h("div", { class: "field" }, h("label", { for: id, text: label }), s);
}
function number(id, label, value, onchange, attrs = {}) {
  const i = h("input", { id, type: "number", value: value ?? "", ...attrs });
  i.addEventListener("change", () => onchange(i.value));
  return h("div", { class: "field num" }, h("label", { for: id, text: label }), i);
}
function ctxSlider(value, maxCtx, onchange) {
  const steps = CTX_STEPS.filter((c) => !maxCtx || c <= maxCtx);
  if (maxCtx && steps[steps.length - 1] !== maxCtx) steps.push(maxCtx);
  const cur = Number(value) || 4096;
  let idx = steps.findIndex((c) => c >= cur); if (idx < 0) idx = steps.length - 1;
  const out = h("output", { id: "ctx-value", for: "ctx" }, int(cur));
  const r = h("input", { id: "ctx", type: "range", min: 0, max: steps.length - 1, step: 1, value: idx,
    "aria-label": "Context in tokens" });
  const fire = debounce(() => onchange(String(steps[Number(r.value)])), 60);
  r.addEventListener("input", () => { out.textContent = int(steps[Number(r.value)]); fire(); });
  const ends = h("div", { class: "ends meta" }, h("span", { text: int(steps[0]) }),
    h("span", { text: maxCtx ? `${int(steps[steps.length - 1])} (training context)` : int(steps[steps.length - 1]) }));
  return h("div", { class: "field ctx" }, h("label", { for: "ctx" }, "Context ", out, " tokens"), r, ends);
}

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------
const SEGMENTS = [
  ["weights", "Weights", (d) => d.weights_bytes],
  ["kv", "KV cache", (d) => d.kv_bytes + d.recurrent_bytes],
  ["compute", "Compute buffers", (d) => d.compute_bytes + d.output_bytes],
  ["overhead", "Overhead", (d) => d.overhead_bytes],
];
function memoryBars(plan) {
  const devs = plan.memory.devices;
  // a device whose capacity is unknown is drawn on the scale of the largest known one (or its own total)
  const known = Math.max(0, ...devs.map((d) => d.capacity_bytes || 0));
  const rows = devs.map((d) => {
    const full = Math.max(d.capacity_bytes || known, d.total_high_bytes || d.total_bytes, 1);
    const segs = SEGMENTS.map(([k, name, get]) => {
      const b = get(d);
      const title = `${name}: ${gib(b)} GiB` + (k === "overhead" && d.overhead_source ? ` — ${d.overhead_source}` : "");
      return h("div", { class: "seg " + k, style: `width:${(100 * b / full).toFixed(3)}%`, title });
    });
    const cap = d.capacity_bytes ? h("div", { class: "cap", style: `left:${(100 * d.capacity_bytes / full).toFixed(3)}%`,
      title: "capacity: " + (d.capacity_source || "") }) : null;
    const cls = "badge " + d.fit;
    return h("div", { class: "dev" },
      h("div", { class: "dev-head" }, h("b", { text: d.name }), " ",
        h("span", { class: "meta", text: `${d.layers} layer${d.layers === 1 ? "" : "s"}${d.holds_output ? " + output" : ""}` }),
        h("span", { class: cls, text: d.fit })),
      h("div", { class: "bar", role: "img", "aria-label": `${d.name}: ${gib(d.total_bytes)} of ${gib(d.capacity_bytes)} GiB` }, ...segs, cap),
      h("div", { class: "dev-nums" },
        h("span", { class: "tot", "data-bytes": d.total_bytes, title: `estimated total ± ${gib(d.uncertainty_bytes)} GiB` },
          `${gib(d.total_bytes)} ± ${gib(d.uncertainty_bytes)} GiB`),
        " of ", d.capacity_bytes ? h("span", { title: d.capacity_source || "", class: "src" }, `${gib(d.capacity_bytes)} GiB`)
          : h("span", { class: "meta", text: "unknown capacity" }),
        d.capacity_bytes ? ` · ${gib(d.headroom_bytes)} GiB free` : ""));
  });
  const legend = h("div", { class: "legend" }, SEGMENTS.map(([k, name]) => h("span", {}, h("i", { class: "seg " + k }), name)),
    h("span", {}, h("i", { class: "capkey" }), "capacity"));
  return h("section", { class: "card", id: "memory" }, h("h3", { text: "Memory per device (GiB, estimated)" }),
    h("p", { class: "meta", title: plan.memory.provenance, text: plan.weights_provenance }), ...rows, legend);
}
function verdictText(p) {
  const g = (b) => gib(b);
  if (p.fit === "fits" && p.memory.devices.length) {
    const free = Math.min(...p.memory.devices.filter((d) => d.capacity_bytes).map((d) => d.headroom_bytes));
    return isFinite(free) ? `at least ${g(free)} GiB free on every device` : "";
  }
  if (p.fit === "tight") return `less than the ${g(p.margin_bytes)} GiB margin left on the fullest device`;
  if (p.fit === "offload") return `${p.ngl} of ${p.model.n_layer + 1} layers on the GPU(s)` +
    (p.offload && p.offload.experts_in_ram_layers ? `, routed experts of ${p.offload.experts_in_ram_layers} layers in RAM` : "");
  if (p.fit === "no") return "does not fit this machine as set";
  if (p.fit === "hosted") return "a hosted system: rented, not bought";
  return "";
}
function speedCard(p) {
  const sp = p.speed;
  if (!sp) return h("section", { class: "card", id: "speed" }, h("h3", { text: "Speed" }),
    h("p", { class: "meta", text: p.speed_reason || "no speed estimate" }));
  const row = (id, name, f, unit, d, extra) => h("tr", {},
    h("th", {}, name, extra ? h("div", { class: "meta", text: extra }) : null),
    h("td", { class: "fig", title: figTitle(f) },
      h("span", { id, class: "v", "data-value": f ? f.value : "" }, f && f.value != null ? fmt(f.value, d) : "unknown"),
      h("span", { class: "unit", text: " " + unit }),
      f && f.low != null && f.high != null ? h("div", { class: "meta band", text: `${fmt(f.low, d)}–${fmt(f.high, d)}` }) : null));
  const rows = [
    row("prefill", "Prefill", sp.prefill_tps, "tok/s", 1, `${int(sp.prompt_tokens)}-token prompt`),
    row("ttft", "Time to first token", sp.ttft_s, "s", 2, `${int(sp.prompt_tokens)}-token prompt`),
    row("decode", "Decode", sp.decode_tps, "tok/s", 1, "at the start"),
    row("decode-ctx", "Decode at context", sp.decode_tps_at_context, "tok/s", 1, `at ${int(sp.context_tokens)} tokens`),
  ];
  if (sp.per_user_decode_tps) rows.push(row("per-user", "Decode per user", sp.per_user_decode_tps, "tok/s", 1, `${sp.parallel} users at once`));
  if (sp.aggregate_decode_tps) rows.push(row("aggregate", "Decode, all users", sp.aggregate_decode_tps, "tok/s", 1, "in total"));
  const prov = (sp.decode_tps && sp.decode_tps.provenance) || "estimated";
  return h("section", { class: "card", id: "speed" },
    h("h3", {}, "Speed ", h("span", { class: "meta", text: `(${prov}; p10–p90 band below each figure; source on hover)` })),
    h("table", { class: "figs" }, h("tbody", {}, rows)),
    sp.bottleneck ? h("p", { id: "bottleneck" }, h("b", { text: "Bottleneck: " }), sp.bottleneck) : null);
}
function commandsCard(p) {
  const c = p.commands || {};
  const lines = [];
  if (c.llama_server_line) lines.push(["llama.cpp", c.llama_server_line]);
  if (c.ollama) {
    const params = Object.entries(c.ollama.parameters || {}).map(([k, v]) => `PARAMETER ${k} ${v}`);
    const env = Object.entries(c.ollama.env || {}).map(([k, v]) => `${k}=${v}`);
    lines.push(["Ollama (Modelfile)", params.join("\n") + (env.length ? `\n# environment: ${env.join(" ")}` : "")]);
  }
  if (c.vllm_serve_line) lines.push(["vLLM", c.vllm_serve_line]);
  if (!lines.length) return h("section", { class: "card", id: "commands" }, h("h3", { text: "Command lines" }),
    h("p", { class: "meta", text: p.fit === "no" ? "None: this configuration does not fit. See the reasons above." : "None for this plan." }));
  return h("section", { class: "card", id: "commands" }, h("h3", { text: "Command lines" }),
    lines.map(([name, text]) => h("div", { class: "cmd" }, h("div", { class: "cmd-head" }, h("b", { text: name }), copyButton(text)),
      h("pre", { text }))),
    c.ollama && c.ollama.note ? h("p", { class: "meta", text: c.ollama.note }) : null);
}
function renderPlan(out, p) {
  const reasons = (p.notes || []).map((n) => h("li", { text: n }));
  const head = h("section", { class: "card verdict-card" },
    h("div", { class: "title" }, h("b", { text: p.model.name || p.model.id }), ` ${p.model.file_type || ""} on `, h("b", { text: p.machine.name })),
    h("div", { class: "verdict-row" }, h("span", { id: "verdict", class: "badge big " + p.fit, text: p.fit }),
      h("span", { id: "verdict-why", text: verdictText(p) })),
    h("p", { class: "meta" }, `weights ${gib(p.weights_bytes)} GiB (${fmt(p.weights_bytes / 1e9, 2)} GB); context `,
      h("span", { id: "n-ctx", "data-value": p.n_ctx }, int(p.n_ctx)), " tokens",
      p.llama_build ? ` · llama.cpp build profile ${p.llama_build.profile}` : "",
      p.max_ctx ? ` · largest context that fits: ${int(p.max_ctx)}` : ""),
    reasons.length ? h("ul", { class: "reasons", id: "reasons" }, reasons) : null);
  const mem = p.memory && p.memory.devices && p.memory.devices.length ? memoryBars(p) : null;
  out.replaceChildren(head, h("div", { class: "grid2" }, mem, speedCard(p)), commandsCard(p));
}

const PLAN_DEFAULTS = { model: "llama-3.1-8b", on: "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200" };
function viewPlan(main) {
  const s = state();
  for (const [k, v] of Object.entries(PLAN_DEFAULTS)) if (!s.get(k)) s.set(k, v);
  setState(s, false);
  const out = h("div", { id: "out", "aria-live": "polite" }, h("p", { class: "meta", text: "planning…" }));
  const set = (k, v) => { const st = state(); if (v === "" || v === null) st.delete(k); else st.set(k, v); setState(st, false); run(); };
  let maxCtx = null;
  const ctxBox = h("div", {});
  const drawSlider = () => ctxBox.replaceChildren(ctxSlider(state().get("ctx") || 4096, maxCtx, (v) => set("ctx", v)));
  drawSlider();
  const form = h("form", { class: "inputs", onsubmit: (e) => e.preventDefault() },
    h("div", { class: "row2" }, machinePicker("on", s.get("on"), (v) => set("on", v)),
      modelPicker("model", s.get("model"), (v) => set("model", v))),
    h("div", { class: "row" },
      select("quant", "Quant", QUANTS.map((q) => [q, q || "default"]), s.get("quant") || "", (v) => set("quant", v),
        "llama.cpp file type (default Q4_K_M; MXFP4_MOE for gpt-oss)"),
      select("kv_type", "KV type", [["f16", "f16"], ["q8_0", "q8_0"], ["q4_0", "q4_0"]], s.get("kv_type") || "f16", (v) => set("kv_type", v === "f16" ? "" : v)),
      number("parallel", "Users", s.get("parallel") || 1, (v) => set("parallel", v === "1" ? "" : v), { min: 1, max: 256 }),
      select("runtime", "Engine", [["llama.cpp", "llama.cpp"], ["vllm", "vLLM"]], s.get("runtime") || "llama.cpp", (v) => set("runtime", v === "llama.cpp" ? "" : v))),
    ctxBox);
  main.replaceChildren(h("h2", { text: "Plan: will it fit, how fast, how to run it" }), form, out);
  const run = async () => {
    const my = ++seq;
    const st = state();
    const q = new URLSearchParams();
    for (const k of ["model", "on", "quant", "ctx", "kv_type", "parallel", "runtime"]) if (st.get(k)) q.set(k, st.get(k));
    try {
      const p = await api("/api/plan", q);
      if (my !== seq) return;
      renderPlan(out, p);
      const train = p.model.n_ctx_train || null;
      if (train !== maxCtx) { maxCtx = train; drawSlider(); }
      const v = $("#ctx-value"); if (v && !st.get("ctx")) v.textContent = int(p.n_ctx);
    } catch (err) { if (my === seq) showError(out, err); }
  };
  run();
}

// ---------------------------------------------------------------------------------------------
// Recommend
// ---------------------------------------------------------------------------------------------
function sortableTable(id, cols, rows, rowAttrs) {
  // cols: [key, label, render(row) -> node/text, sortValue(row)]; click a header to sort
  let key = null, dir = 1;
  const tbody = h("tbody", {});
  const draw = () => {
    const sorted = key === null ? rows : [...rows].sort((a, b) => {
      const c = cols.find((x) => x[0] === key); const va = c[3](a), vb = c[3](b);
      if (va === vb) return 0; if (va === null) return 1; if (vb === null) return -1;
      return (va < vb ? -1 : 1) * dir;
    });
    tbody.replaceChildren(...sorted.map((r) => h("tr", rowAttrs(r), cols.map((c) => h("td", { class: c[4] || "" }, c[2](r))))));
  };
  const ths = cols.map((c) => h("th", { class: (c[4] || "") + " sortable", tabindex: 0, title: c[5] || "click to sort",
    onclick: (ev) => {
      if (key === c[0]) dir = -dir; else { key = c[0]; dir = c[4] === "n" ? -1 : 1; }
      for (const th of ev.target.closest("tr").children) th.removeAttribute("aria-sort");
      ev.target.closest("th").setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
      draw();
    } }, c[1]));
  draw();
  return h("div", { class: "scroll" }, h("table", { id, class: "data" }, h("thead", {}, h("tr", {}, ths)), tbody));
}
function viewRecommend(main) {
  const s = state();
  if (!s.get("on")) { s.set("on", PLAN_DEFAULTS.on); setState(s, false); }
  const out = h("div", { id: "out", "aria-live": "polite" }, h("p", { class: "meta", text: "ranking the catalog…" }));
  const set = (k, v) => { const st = state(); if (v === "" || v === null) st.delete(k); else st.set(k, v); setState(st, false); run(); };
  main.replaceChildren(h("h2", { text: "Recommend: which model and quant to run" }),
    h("form", { class: "inputs", onsubmit: (e) => e.preventDefault() },
      machinePicker("on", s.get("on"), (v) => set("on", v)),
      h("div", { class: "row" },
        select("use", "Use", [["chat", "chat"], ["code", "code"], ["agents", "agents"], ["long-context", "long context"]], s.get("use") || "chat", (v) => set("use", v)),
        number("min_ctx", "Min context (tokens)", s.get("min_ctx"), (v) => set("min_ctx", v), { min: 256, placeholder: "per use" }),
        number("min_tps", "Min decode (tok/s)", s.get("min_tps"), (v) => set("min_tps", v), { min: 0, step: "any", placeholder: "per use" }),
        number("limit", "Rows", s.get("limit") || 10, (v) => set("limit", v), { min: 1, max: 100 }))), out);
  const run = async () => {
    const my = ++seq; const st = state(); const q = new URLSearchParams();
    for (const k of ["on", "use", "min_ctx", "min_tps", "limit"]) if (st.get(k)) q.set(k, st.get(k));
    try {
      const r = await api("/api/recommend", q);
      if (my !== seq) return;
      const ss = r.sweet_spot, lc = r.largest_comfortable;
      const same = (a, b) => a && b && a.model === b.model && a.quant === b.quant;
      const mark = (p) => (same(p, ss) ? "★ " : same(p, lc) ? "▲ " : "");
      const planLink = (p) => { const u = new URLSearchParams({ model: p.model, on: st.get("on"), quant: p.quant, ctx: p.ctx }); return "/plan?" + u; };
      const cols = [
        ["rank", "#", (p) => mark(p) + (r.picks.indexOf(p) + 1), (p) => r.picks.indexOf(p), "n"],
        ["model", "Model", (p) => h("a", { href: planLink(p), text: p.name }), (p) => p.name],
        ["quant", "Quant", (p) => p.quant, (p) => p.quant],
        ["tier", "Tier", (p) => h("span", { title: p.tier_source, text: p.tier }), (p) => p.tier],
        ["decode", "Decode tok/s", (p) => h("span", { title: figTitle(p.decode_tps), text: band(p.decode_tps) }), (p) => (p.decode_tps ? p.decode_tps.value : null), "n"],
        ["ttft", "TTFT s", (p) => h("span", { title: figTitle(p.ttft_s), text: band(p.ttft_s, 2) }), (p) => (p.ttft_s ? p.ttft_s.value : null), "n"],
        ["mem", "Memory GiB", (p) => gib(p.memory_bytes, 1), (p) => p.memory_bytes, "n"],
        ["maxctx", "Max ctx", (p) => int(p.max_ctx), (p) => p.max_ctx, "n"],
        ["kld", "KLD (nats)", (p) => h("span", { title: figTitle(p.quality_loss_kld), text: fmt(p.quality_loss_kld.value, 3) }), (p) => p.quality_loss_kld.value, "n",
          "mean KL divergence vs F16 (looked up, llama.cpp scoreboard at 8B, scaled by size); lower is better"],
        ["score", "Score", (p) => fmt(p.score, 2), (p) => p.score, "n"],
      ];
      const notes = [
        ss ? h("p", { id: "sweet-spot" }, h("b", { text: "★ Sweet spot: " }), `${ss.name} ${ss.quant} — ${r.sweet_spot_why}`) : null,
        lc ? h("p", {}, h("b", { text: "▲ Largest that runs comfortably: " }), `${lc.name} ${lc.quant} — ${r.largest_comfortable_why}`) : null,
      ];
      out.replaceChildren(h("p", { class: "meta", text: `For ${r.use} on ${r.machine}: ${int(r.ctx)}-token context, ≥ ${r.min_tps} tok/s, ` +
          `KLD ≤ ${r.max_quality_loss_kld}; ${r.considered} candidates considered. Click a column to sort.` }), ...notes,
        r.picks.length ? sortableTable("picks", cols, r.picks, (p) => ({ class: same(p, ss) ? "sweet" : "" }))
          : h("p", { text: "Nothing fits these filters on this machine." }),
        h("p", { class: "meta", text: "Decode at the full context with its p10–p90 band; memory and max ctx estimated; tier is a size class, not a benchmark." }));
    } catch (err) { if (my === seq) showError(out, err); }
  };
  run();
}

// ---------------------------------------------------------------------------------------------
// Compare
// ---------------------------------------------------------------------------------------------
function viewCompare(main) {
  const s = state();
  if (!s.get("model")) s.set("model", PLAN_DEFAULTS.model);
  if (!s.getAll("on").length) { s.append("on", "RTX 3060 12GB"); s.append("on", "RTX 4090"); s.append("on", "M3 Max 64GB"); }
  setState(s, false);
  const out = h("div", { id: "out", "aria-live": "polite" }, h("p", { class: "meta", text: "comparing…" }));
  const setOn = (i, v) => {
    const st = state(); const ons = st.getAll("on"); ons[i] = v; st.delete("on");
    ons.filter((x) => x && x.trim()).forEach((x) => st.append("on", x)); setState(st, false); run();
  };
  const set = (k, v) => { const st = state(); if (v === "" || v === null) st.delete(k); else st.set(k, v); setState(st, false); run(); };
  const ons = s.getAll("on");
  const pickers = [0, 1, 2, 3].map((i) => machinePicker("on" + i, ons[i] || "", (v) => setOn(i, v), `Machine ${i + 1}`));
  main.replaceChildren(h("h2", { text: "Compare: one model on up to four machines" }),
    h("form", { class: "inputs", onsubmit: (e) => e.preventDefault() },
      modelPicker("model", s.get("model"), (v) => set("model", v)),
      h("div", { class: "row" },
        select("quant", "Quant", QUANTS.map((q) => [q, q || "default"]), s.get("quant") || "", (v) => set("quant", v)),
        number("ctx", "Context (tokens)", s.get("ctx") || 8192, (v) => set("ctx", v), { min: 256 })),
      h("div", { class: "grid4" }, pickers)), out);
  const run = async () => {
    const my = ++seq; const st = state(); const q = new URLSearchParams();
    for (const k of ["model", "quant"]) if (st.get(k)) q.set(k, st.get(k));
    q.set("ctx", st.get("ctx") || "8192");
    for (const o of st.getAll("on")) q.append("on", o);
    try {
      const r = await api("/api/compare", q);
      if (my !== seq) return;
      const cards = r.machines.map((m) => {
        const p = m.plan; const acc = p.memory.devices;
        const tot = acc.reduce((a, d) => a + d.total_bytes, 0);
        return h("section", { class: "card mcard" }, h("h3", { text: m.machine }),
          h("span", { class: "badge big " + p.fit, text: p.fit }), " ", h("span", { class: "meta", text: verdictText(p) }),
          h("p", {}, `memory ${gib(tot)} GiB over ${acc.length} device${acc.length > 1 ? "s" : ""}`),
          p.speed ? h("p", { title: figTitle(p.speed.decode_tps_at_context) }, `decode ${band(p.speed.decode_tps_at_context)} tok/s at ${int(p.n_ctx)} tokens`) : null,
          p.speed ? h("p", { title: figTitle(p.speed.ttft_s) }, `TTFT ${band(p.speed.ttft_s, 2)} s (${int(p.speed.prompt_tokens)}-token prompt)`) : null,
          h("a", { href: "/plan?" + new URLSearchParams({ model: r.model.id, on: m.query, ctx: p.n_ctx }), text: "open the plan →" }));
      });
      const head = h("tr", {}, h("th", { text: "Quant" }), r.machines.map((m) => h("th", { text: m.machine })));
      const body = r.quants.map((qn, i) => h("tr", {}, h("th", { text: qn }), r.machines.map((m) => {
        const c = m.quants[i];
        return h("td", { class: "cell " + c.fit, title: figTitle(c.decode_tps) },
          h("span", { class: "badge " + c.fit, text: c.fit_label }), h("br"),
          `${gib(c.memory_bytes, 1)} GiB · ${c.decode_tps ? fmt(c.decode_tps.value, 1) + " tok/s" : "—"}`);
      })));
      out.replaceChildren(h("p", { class: "meta", text: `${r.model.name || r.model.id} at ${int(r.n_ctx)} tokens of context.` }),
        h("div", { class: "grid4 cards" }, cards),
        h("h3", { text: "Quant matrix: memory (GiB) and decode (tok/s) per quant" }),
        h("div", { class: "scroll" }, h("table", { class: "data matrix", id: "matrix" }, h("thead", {}, head), h("tbody", {}, body))),
        h("p", { class: "meta", text: r.matrix_note + "." }));
    } catch (err) { if (my === seq) showError(out, err); }
  };
  run();
}

// ---------------------------------------------------------------------------------------------
// Floor & cost
// ---------------------------------------------------------------------------------------------
function viewFloor(main) {
  const s = state();
  if (!s.get("model")) { s.set("model", "llama-3.1-70b"); setState(s, false); }
  const floorOut = h("div", { id: "floor-out", "aria-live": "polite" }, h("p", { class: "meta", text: "searching the catalog…" }));
  const costOut = h("div", { id: "cost-out", "aria-live": "polite" });
  const set = (k, v) => { const st = state(); if (v === "" || v === null) st.delete(k); else st.set(k, v); setState(st, false); run(); };
  let onPicker = machinePicker("on", s.get("on") || "", (v) => set("on", v), "Machine for the cost");
  main.replaceChildren(h("h2", { text: "Hardware floor and cost" }),
    h("form", { class: "inputs", onsubmit: (e) => e.preventDefault() },
      modelPicker("model", s.get("model"), (v) => set("model", v)),
      h("div", { class: "row" },
        select("quant", "Quant", QUANTS.map((q) => [q, q || "default"]), s.get("quant") || "", (v) => set("quant", v)),
        number("ctx", "Context (tokens)", s.get("ctx") || 8192, (v) => set("ctx", v), { min: 256 }),
        number("min_tps", "Min decode (tok/s)", s.get("min_tps") || 10, (v) => set("min_tps", v), { min: 0, step: "any" }),
        number("budget_usd", "Budget (USD)", s.get("budget_usd"), (v) => set("budget_usd", v), { min: 0, placeholder: "none" }))),
    h("h3", { text: "Cheapest catalog hardware that reaches the speed" }), floorOut,
    h("h3", { text: "Cost and break-even" }),
    h("form", { class: "inputs", onsubmit: (e) => e.preventDefault() }, onPicker,
      h("div", { class: "row" },
        number("hours_per_day", "Hours on per day", s.get("hours_per_day"), (v) => set("hours_per_day", v), { min: 0, max: 24, step: "any", placeholder: "default" }),
        number("tokens_per_day", "Tokens per day", s.get("tokens_per_day"), (v) => set("tokens_per_day", v), { min: 0, placeholder: "default" }),
        number("electricity_usd_per_kwh", "Electricity (USD/kWh)", s.get("electricity_usd_per_kwh") || 0.17, (v) => set("electricity_usd_per_kwh", v), { min: 0, step: "any" }),
        number("hosted_monthly_usd", "Hosted bill (USD/month)", s.get("hosted_monthly_usd"), (v) => set("hosted_monthly_usd", v), { min: 0, step: "any", placeholder: "cheapest offer" }))),
    costOut);
  const run = async () => {
    const my = ++seq; const st = state();
    const q = new URLSearchParams();
    for (const k of ["model", "quant", "ctx", "min_tps", "budget_usd"]) if (st.get(k)) q.set(k, st.get(k));
    try {
      const r = await api("/api/floor", q);
      if (my !== seq) return;
      const notes = []; const srcIndex = (src) => { if (!notes.includes(src)) notes.push(src); return notes.indexOf(src) + 1; };
      const table = (id, opts) => h("div", { class: "scroll" }, h("table", { class: "data", id }, h("thead", {}, h("tr", {},
        ["Machine", "Kind", "Price (USD)", "Decode tok/s", "Fit", "Memory GiB", ""].map((c) => h("th", { text: c })))),
      h("tbody", {}, opts.map((o) => h("tr", {},
        h("td", { text: o.machine }), h("td", { text: o.category }),
        h("td", { class: "n", title: o.price_source || "" }, o.price_usd == null ? "no list price" : "$" + int(Math.round(o.price_usd)),
          o.price_source ? h("sup", { text: `[${srcIndex(o.price_source)}]` }) : null),
        h("td", { class: "n", title: figTitle(o.decode_tps) }, band(o.decode_tps)),
        h("td", { text: o.fit }), h("td", { class: "n", text: o.category === "hosted" ? "—" : gib(o.memory_bytes, 1) }),
        h("td", {}, o.category === "hosted" ? "" : h("button", { type: "button", class: "small", onclick: () => { onPicker.querySelector("input").value = o.machine; set("on", o.machine); } }, "cost")))))));
      const parts = [h("p", { class: "meta", text: `${r.model} ${r.quant}, ${int(r.ctx)} tokens of context, ≥ ${r.min_tps} tok/s; ${r.considered} machines searched.` })];
      parts.push(r.options.length ? table("floor", r.options) : h("p", { text: "No purchasable catalog machine reaches this speed." }));
      if (r.budget_usd) parts.push(h("h4", { text: `Within $${int(r.budget_usd)}, fastest first` }), r.within_budget.length ? table("budget", r.within_budget) : h("p", { text: "Nothing within the budget." }));
      if (r.hosted_only.length) parts.push(h("h4", { text: "Hosted systems (rented per token; no list price)" }), table("hosted", r.hosted_only));
      if (notes.length) parts.push(h("details", { class: "sources" }, h("summary", { text: `Price sources [1]–[${notes.length}] (looked up or estimated; also on hover)` }),
        h("ol", {}, notes.map((n) => h("li", { text: n })))));
      parts.push(...r.notes.map((n) => h("p", { class: "meta", text: n })));
      if (r.price_definition) parts.push(h("p", { class: "meta", text: r.price_definition }));
      floorOut.replaceChildren(...parts);
    } catch (err) { if (my === seq) showError(floorOut, err); }
    if (!st.get("on")) { costOut.replaceChildren(h("p", { class: "meta", text: "Pick a machine above (or press “cost” on a row) for its power, cost per token and break-even." })); return; }
    const cq = new URLSearchParams();
    for (const k of ["model", "on", "quant", "hours_per_day", "tokens_per_day", "electricity_usd_per_kwh", "hosted_monthly_usd"]) if (st.get(k)) cq.set(k, st.get(k));
    try {
      const c = await api("/api/cost", cq);
      if (my !== seq) return;
      costOut.replaceChildren(costTable(c));
    } catch (err) { if (my === seq) showError(costOut, err); }
  };
  run();
}
function costTable(c) {
  // rigfit cost --json: the summary's fields sit at the top level
  const money = (x, d = 2) => (x == null ? "—" : "$" + fmt(x, d));
  const be = c.breakeven_months;
  const [hwText, , hwSources] = (c.hardware_source || "").split(/(\. Sources: )/);
  const rows = [
    ["Decode speed", `${band(c.decode_tps)} tok/s`, `${figTitle(c.decode_tps)}; ${int(c.ctx)}-token context`],
    ["Wall power while generating", c.load_w == null ? "—" : `${fmt(c.load_w, 0)} W`, "estimated: TDP × utilisation + idle + rest (sources below)"],
    ["Wall power idle", c.idle_w == null ? "—" : `${fmt(c.idle_w, 0)} W`, "estimated"],
    ["Electricity per hour", money(c.cost_per_hour_usd, 3), `at $${c.usd_per_kwh}/kWh (input)`],
    ["Per million tokens (power only)", money(c.usd_per_mtok_power, 3), "while generating"],
    ["Tokens per day", c.tokens_per_day == null ? "—" : int(Math.round(c.tokens_per_day)), `${fmt(c.busy_hours_per_day, 1)} h generating of ${fmt(c.on_hours_per_day, 1)} h on`],
    ["Electricity per month", money(c.electricity_usd_per_month), "incl. idle hours"],
    ["Per million tokens (with hardware)", money(c.usd_per_mtok_amortised, 3), c.hardware_usd ? `$${int(Math.round(c.hardware_usd))} over ${c.amortize_months} months` : ""],
    ["Hardware", money(c.hardware_usd, 0), hwText || ""],
    ["Hosted, same tokens", c.hosted_usd_per_month == null ? "—" : money(c.hosted_usd_per_month) + "/month", c.hosted_label ? `looked up: ${c.hosted_label}` : ""],
    ["Hosted per million tokens", money(c.hosted_usd_per_mtok, 3), c.hosted_source ? `output tokens; ${c.hosted_source}` : ""],
    ["Break-even", be == null ? "—" : typeof be === "number" ? `${fmt(be, 1)} months` : String(be), c.breakeven_reason || ""],
  ];
  const srcs = [...(c.power_sources || []), ...(hwSources ? ["hardware prices: " + hwSources] : [])];
  return h("div", {}, h("p", { class: "meta", text: `${c.model} ${c.quant} on ${c.machine} (${c.fit}).` }),
    h("div", { class: "scroll" }, h("table", { class: "data", id: "cost" }, h("thead", {}, h("tr", {}, ["Quantity", "Value", "How"].map((x) => h("th", { text: x })))),
      h("tbody", {}, rows.map(([k, v, how]) => h("tr", {}, h("th", { text: k }), h("td", { class: "n", text: v }), h("td", { class: "meta how", text: how })))))),
    ...(c.notes || []).map((n) => h("p", { class: "meta", text: "· " + n })),
    srcs.length ? h("details", { class: "sources" }, h("summary", { text: `Power and price sources (${srcs.length})` }),
      h("ul", {}, srcs.map((n) => h("li", { text: n })))) : null);
}

// ---------------------------------------------------------------------------------------------
// Measurements: measured vs predicted, inline SVG
// ---------------------------------------------------------------------------------------------
const SVG = "http://www.w3.org/2000/svg";
function s_(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const kid of kids) if (kid) el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return el;
}
function scatter(rows) {
  const W = 580, H = 420, L = 64, B = 48, T = 16, R = 36;
  const vals = rows.flatMap((r) => [r.tokens_per_s, r.predicted_tokens_per_s]);
  let lo = Math.min(...vals), hi = Math.max(...vals);
  lo = 10 ** Math.floor(Math.log10(lo)); hi = 10 ** Math.ceil(Math.log10(hi));
  const x = (v) => L + (W - L - R) * (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  const y = (v) => H - B - (H - B - T) * (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  const g = s_("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", id: "chart", role: "img",
    "aria-label": "measured against predicted tokens per second, log-log" });
  for (let d = lo; d <= hi; d *= 10) {
    g.append(s_("line", { x1: x(d), x2: x(d), y1: T, y2: H - B, class: "grid" }), s_("line", { y1: y(d), y2: y(d), x1: L, x2: W - R, class: "grid" }),
      s_("text", { x: x(d), y: H - B + 16, "text-anchor": "middle", class: "tick" }, int(d)),
      s_("text", { x: L - 6, y: y(d) + 4, "text-anchor": "end", class: "tick" }, int(d)));
  }
  g.append(s_("line", { x1: x(lo), y1: y(lo), x2: x(hi), y2: y(hi), class: "ideal" }),
    s_("line", { x1: x(lo), y1: y(lo * 1.25), x2: x(hi / 1.25), y2: y(hi), class: "bandline" }),
    s_("line", { x1: x(lo * 1.25), y1: y(lo), x2: x(hi), y2: y(hi / 1.25), class: "bandline" }),
    s_("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle", class: "axis" }, "predicted tok/s (estimated)"),
    s_("text", { x: 16, y: (T + H - B) / 2, "text-anchor": "middle", class: "axis", transform: `rotate(-90 16 ${(T + H - B) / 2})` }, "measured tok/s"));
  for (const r of rows) {
    g.append(s_("circle", { cx: x(r.predicted_tokens_per_s), cy: y(r.tokens_per_s), r: 5, class: "pt " + (r.test.startsWith("tg") ? "tg" : "pp") },
      s_("title", {}, `${r.hardware || "?"} · ${r.model || "?"} ${r.quant || ""} · ${r.test}: measured ${fmt(r.tokens_per_s, 1)}, predicted ${fmt(r.predicted_tokens_per_s, 1)} tok/s (${fmt(r.ratio, 2)}×) — ${r.source}${r.source_url ? " " + r.source_url : ""}`)));
  }
  return h("figure", { class: "card chart-card" }, h("div", { class: "chart-row" }, g, ratioSummary(rows)), h("figcaption", { class: "meta" },
    h("i", { class: "dot pp" }), " prefill (pp) ", h("i", { class: "dot tg" }), " decode (tg) · solid line: measured = predicted; dashed: ±25 % · hover a point for its source"));
}
function ratioSummary(rows) {
  // median measured / predicted and the share within ±25 %, per kind of test (prefill, decode)
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const kinds = [["pp", "Prefill (pp)"], ["tg", "Decode (tg)"]].map(([k, name]) => {
    const rs = rows.filter((r) => (k === "tg") === r.test.startsWith("tg")).map((r) => r.tokens_per_s / r.predicted_tokens_per_s);
    return rs.length ? h("tr", {}, h("th", { text: name }), h("td", { class: "n", text: String(rs.length) }),
      h("td", { class: "n", text: fmt(median(rs), 2) + "×" }),
      h("td", { class: "n", text: Math.round(100 * rs.filter((x) => x >= 0.8 && x <= 1.25).length / rs.length) + " %" })) : null;
  });
  return h("div", { class: "summary" }, h("h3", { text: "Measured / predicted" }),
    h("table", { class: "data", id: "ratios" }, h("thead", {}, h("tr", {}, ["", "results", "median", "within ±25 %"].map((x) => h("th", { class: x ? "n" : "", text: x })))),
      h("tbody", {}, kinds)),
    h("p", { class: "meta", text: "Measured: the stored result (its source on hover in the chart and table). Predicted: what rigfit estimated before the run." }));
}
function viewMeasurements(main) {
  const out = h("div", { id: "out", "aria-live": "polite" }, h("p", { class: "meta", text: "reading the results store…" }));
  const s = state();
  const mine = h("input", { type: "checkbox", id: "mine", checked: s.get("mine") === "true" });
  mine.addEventListener("change", () => { const st = state(); if (mine.checked) st.set("mine", "true"); else st.delete("mine"); setState(st, false); run(); });
  main.replaceChildren(h("h2", { text: "Measurements: measured against predicted" }),
    h("form", { class: "inputs", onsubmit: (e) => e.preventDefault() }, h("label", { class: "check" }, mine, " only this machine")), out);
  const run = async () => {
    const my = ++seq; const q = new URLSearchParams(); if (state().get("mine")) q.set("mine", "true");
    try {
      const r = await api("/api/results", q);
      if (my !== seq) return;
      const both = r.results.filter((x) => x.tokens_per_s && x.predicted_tokens_per_s);
      const parts = [h("p", { class: "meta", text: `${r.results.length} result(s) in ${r.store}; ${both.length} with a prediction.` })];
      if (!r.results.length) parts.push(h("p", { id: "empty", text: "No results stored yet. Run `rigfit bench`, or import llama-bench output with `rigfit results --import FILE`." }));
      if (both.length) parts.push(scatter(both));
      if (r.results.length) {
        const cols = [
          ["id", "#", (x) => x.id, (x) => x.id, "n"], ["hw", "Hardware", (x) => x.hardware || "?", (x) => x.hardware],
          ["model", "Model", (x) => `${x.model || "?"} ${x.quant || ""}`, (x) => x.model], ["test", "Test", (x) => x.test, (x) => x.test],
          ["m", "Measured tok/s", (x) => h("span", { title: `measured: ${x.source}${x.source_url ? " " + x.source_url : ""}`, text: fmt(x.tokens_per_s, 2) }), (x) => x.tokens_per_s, "n"],
          ["p", "Predicted tok/s", (x) => (x.predicted_tokens_per_s == null ? "—" : fmt(x.predicted_tokens_per_s, 2)), (x) => x.predicted_tokens_per_s, "n"],
          ["r", "Measured / predicted", (x) => (x.ratio ? fmt(x.ratio, 2) + "×" : "—"), (x) => x.ratio, "n"],
        ];
        parts.push(sortableTable("results", cols, r.results, () => ({})));
      }
      if (r.failed_runs.length) parts.push(h("p", { class: "meta", text: `${r.failed_runs.length} failed run(s).` }));
      out.replaceChildren(...parts);
    } catch (err) { if (my === seq) showError(out, err); }
  };
  run();
}

const VIEWS = { plan: viewPlan, recommend: viewRecommend, compare: viewCompare, floor: viewFloor, measurements: viewMeasurements };
function route() { updateNav(); VIEWS[currentView()]($("#main")); }
window.addEventListener("popstate", route);
route();
