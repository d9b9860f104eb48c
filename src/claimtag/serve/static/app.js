// claimtag web page: send the text to POST /v1/tag (same origin, the user's API key as
// Bearer), then highlight every sentence by label. Plain browser JavaScript, no build step.
"use strict";

// (colour, underline style) per label position: the same list as claimtag/html_report.py.
const PALETTE = [
  ["#0072B2", "solid"], ["#D55E00", "wavy"], ["#E69F00", "dashed"], ["#009E73", "double"],
  ["#999999", "dotted"], ["#CC79A7", "solid"], ["#56B4E9", "dashed"], ["#000000", "dotted"],
];
const CSV_COLUMNS = ["doc_id", "sent_index", "start", "end", "text", "label", "score", "scores",
  "model", "source", "cue", "when", "named_source", "due"];
const $ = (id) => document.getElementById(id);
let model = null;   // GET /v1/model, once it answered
let result = null;  // {model, sentences, documents: [{id, text}], labels}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function headers() {
  const key = $("api-key").value.trim();
  const h = {"Content-Type": "application/json"};
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

function setStatus(text) { $("status").textContent = text; }

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = !text;
}

// A readable sentence for a failed call: what happened and what to do about it.
function explain(status, body) {
  const why = {
    401: "The server needs an API key, and the key is missing or wrong. Enter it in the API key field.",
    413: "The text is too large for one request. Split it into smaller parts.",
    422: "The server could not accept this input.",
    503: "The model is not ready yet (it may still be loading) or the server is busy. Try again in a moment.",
    504: "The server took too long. Try a shorter text.",
  }[status] || `The request failed with HTTP status ${status}.`;
  return [why, body && body.message && `Server: ${body.message}.`,
    body && body.request_id && `Request id: ${body.request_id}.`].filter(Boolean).join(" ");
}

async function call(method, path, body) {
  const response = await fetch(path, {method, headers: headers(),
    body: body === undefined ? undefined : JSON.stringify(body)});
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Error(explain(response.status, data));
  return data;
}

async function loadModel() {
  try {
    model = await call("GET", "/v1/model");
  } catch (error) {
    $("model-info").textContent = "Model: " + error.message;
    return;
  }
  const [split, s] = Object.entries(model.scores || {})[0] || [];
  const score = s && s.macro_f1 !== undefined ? `; macro-F1 ${s.macro_f1.toFixed(3)} on ${split}` +
    (s.baseline ? ` (TF-IDF baseline ${s.baseline.macro_f1.toFixed(3)})` : "") : "";
  $("model-info").textContent = `Model: ${model.model} (${model.backend})${score}.`;
}

// The request body for what is in the text box: one text, or documents from JSON lines.
function requestBody() {
  const text = $("text").value;
  const date = $("date").value;  // YYYY-MM-DD or empty: the server resolves due dates from it
  const body = $("format-jsonl").checked ? {documents: documentsOf(text)} : {text};
  if (date) body.date = date;
  return body;
}

function documentsOf(text) {
  const documents = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let row;
    try { row = JSON.parse(line); } catch { throw new Error(`Line ${i + 1} is not valid JSON.`); }
    if (!row || typeof row.text !== "string") {
      throw new Error(`Line ${i + 1} has no "text" field with a string in it.`);
    }
    const id = row.id ?? row.doc_id ?? i + 1;
    documents.push({id: typeof id === "number" && Number.isInteger(id) ? id : String(id),
      text: row.text});
  });
  return documents;
}

function labelOrder(rows) {
  const names = model ? [...model.labels] : rows.length ? Object.keys(rows[0].scores) : [];
  for (const row of rows) if (!names.includes(row.label)) names.push(row.label);
  return names;
}

function sentences(n) { return n === 1 ? "1 sentence" : `${n} sentences`; }

function display(label) { return (model && model.display_names[label]) || label; }

function styleFor(node, label) {
  const [colour, line] = PALETTE[result.labels.indexOf(label) % PALETTE.length];
  node.style.setProperty("--c", colour);
  node.style.setProperty("--tint", colour + "26");
  node.style.setProperty("--line-style", line);
  node.dataset.line = line;
}

function render() {
  const rows = result.sentences;
  const counts = Object.fromEntries(result.labels.map((l) => [l, 0]));
  rows.forEach((r) => { counts[r.label] += 1; });
  $("legend").replaceChildren(...result.labels.map((label) => {
    const sample = el("span", {class: "s"}, display(label));
    styleFor(sample, label);
    const swatch = el("span", {class: "swatch", "aria-hidden": "true"});
    styleFor(swatch, label);
    return el("li", {"data-testid": "legend-" + label}, swatch, sample,
      ` (${label}): ${sample.dataset.line} underline`);
  }));
  $("counts").tBodies[0].replaceChildren(...result.labels.map((label) => {
    const swatch = el("span", {class: "swatch", "aria-hidden": "true"});
    styleFor(swatch, label);
    const share = rows.length ? Math.round(100 * counts[label] / rows.length) : 0;
    return el("tr", {"data-testid": "count-" + label}, el("th", {scope: "row"}, swatch,
      display(label)), el("td", {}, String(counts[label])), el("td", {}, share + "%"));
  }));
  $("filter").replaceChildren(el("option", {value: ""}, "all labels"),
    ...result.labels.map((l) => el("option", {value: l}, `${display(l)} (${counts[l]})`)));
  // Rows come in document order, each document's numbered from 0 (empty ones have none).
  const fits = (doc, row, k) => row.sent_index === k && row.doc_id === doc.id &&
    doc.text.slice(row.start, row.end) === row.text;
  let next = 0;
  $("output").replaceChildren(...result.documents.map((doc, d) => {
    const first = next;
    while (next < rows.length && fits(doc, rows[next], next - first)) next += 1;
    return renderDocument(doc, d, first, next);
  }));
  $("results").hidden = false;
  const summary = result.labels.filter((l) => counts[l]).map((l) => `${display(l)} ${counts[l]}`);
  setStatus(`Tagged ${sentences(rows.length)}${summary.length ? ": " + summary.join(", ") : ""}.`);
}

function renderDocument(doc, d, first, end) {
  const heading = result.documents.length > 1 ? `Document ${doc.id}` : "Article";
  const article = el("div", {class: "article"});
  let at = 0;
  for (let n = first; n < end; n += 1) {
    const row = result.sentences[n];
    article.append(doc.text.slice(at, row.start));
    const mark = el("mark", {class: "s", tabindex: "0", id: `sentence-${n}`,
      "data-testid": "sentence", "data-index": String(n), "data-label": row.label,
      "aria-describedby": "tooltip"}, doc.text.slice(row.start, row.end),
      el("span", {class: "badge"}, display(row.label)));
    styleFor(mark, row.label);
    styleFor(mark.lastChild, row.label);
    article.append(mark);
    at = Math.max(at, row.end);
  }
  article.append(doc.text.slice(at));
  return el("article", {class: "doc", "aria-labelledby": `doc-${d}`, "data-testid": "document"},
    el("h3", {id: `doc-${d}`}, `${heading}: ${sentences(end - first)}`), article);
}

function showTip(mark) {
  const row = result.sentences[Number(mark.dataset.index)];
  const tip = $("tooltip");
  const probabilities = Object.entries(row.scores).sort((a, b) => b[1] - a[1]);
  tip.replaceChildren(el("strong", {}, `${display(row.label)}, score ${row.score.toFixed(2)}`),
    el("table", {}, el("tbody", {}, ...probabilities.map(([label, p]) => el("tr", {},
      el("th", {scope: "row"}, display(label)), el("td", {}, p.toFixed(2)),
      el("td", {"aria-hidden": "true"}, el("meter", {min: "0", max: "1", value: String(p)})))))),
    ...spanLines(row));
  tip.hidden = false;
  const box = mark.getBoundingClientRect();
  const left = Math.min(box.left, document.documentElement.clientWidth - tip.offsetWidth - 8);
  tip.style.left = `${Math.max(8, left) + window.scrollX}px`;
  tip.style.top = `${box.bottom + window.scrollY + 6}px`;
}

// Who said it, the reporting words, a forecast's time phrase and due date, as lines under the
// probabilities; nothing for a sentence without them.
function spanLines(row) {
  const lines = [];
  if (row.source) {
    const named = row.named_source ? ` (${row.named_source})` : "";
    lines.push(["Source", `${row.source.text}${named}`]);
  }
  if (row.cue) lines.push(["Cue", row.cue.text]);
  if (row.when) lines.push(["When", row.when.text]);
  if (row.due) {
    const span = row.due.start === row.due.end ? row.due.start : `${row.due.start} to ${row.due.end}`;
    lines.push(["Due", span]);
  }
  return lines.map(([name, value]) => el("p", {class: "span", "data-testid": "span-" +
    name.toLowerCase()}, el("b", {}, name + ": "), value));
}

function hideTip() { $("tooltip").hidden = true; }

function applyFilter() {
  const label = $("filter").value;
  const marks = $("output").querySelectorAll("mark.s");
  marks.forEach((m) => { m.hidden = Boolean(label) && m.dataset.label !== label; });
  const shown = [...marks].filter((m) => !m.hidden).length;
  setStatus(label ? `Showing ${sentences(shown)} labelled ${display(label)}.`
    : `Showing all ${sentences(shown)}.`);
}

function csvCell(value) {
  const text = value === null || value === undefined ? "" :
    typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function exported(kind) {
  if (kind === "json") {
    return JSON.stringify({model: result.model, sentences: result.sentences}, null, 2) + "\n";
  }
  const lines = result.sentences.map((r) => CSV_COLUMNS.map((c) => csvCell(r[c])).join(","));
  return [CSV_COLUMNS.join(","), ...lines].join("\r\n") + "\r\n";
}

async function copy(kind) {
  const text = exported(kind);
  try {
    await navigator.clipboard.writeText(text);
  } catch {  // no clipboard API (plain http on another host): the old way
    const area = el("textarea", {"aria-hidden": "true"});
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) { showError("The browser would not copy; use Download instead."); return; }
  }
  setStatus(`Copied ${sentences(result.sentences.length)} as ${kind.toUpperCase()}.`);
}

function download(kind) {
  const type = kind === "json" ? "application/json" : "text/csv";
  const url = URL.createObjectURL(new Blob([exported(kind)], {type}));
  const link = el("a", {href: url, download: `claimtag.${kind}`});
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  setStatus(`Downloaded claimtag.${kind}.`);
}

async function submit(event) {
  event.preventDefault();
  const main = $("main");
  showError("");
  let body;
  try { body = requestBody(); } catch (error) { showError(error.message); return; }
  main.dataset.state = "loading";
  $("tag-button").disabled = true;
  setStatus("Tagging…");
  try {
    if (!model) await loadModel();
    const data = await call("POST", "/v1/tag", body);
    const documents = body.documents || [{id: null, text: body.text}];
    result = {...data, documents, labels: labelOrder(data.sentences)};
    render();
    main.dataset.state = "done";
  } catch (error) {
    main.dataset.state = "error";
    setStatus("");
    showError(error instanceof TypeError ? "Could not reach the server: " + error.message
      : error.message);
  } finally {
    $("tag-button").disabled = false;
  }
}

async function readFile(file) {
  if (!file) return;
  $("text").value = await file.text();
  $(file.name.toLowerCase().endsWith(".jsonl") ? "format-jsonl" : "format-text").checked = true;
  setStatus(`Loaded ${file.name} (${file.size} bytes).`);
}

document.addEventListener("DOMContentLoaded", () => {
  $("tag-form").addEventListener("submit", submit);
  $("api-key").addEventListener("change", () => { model = null; loadModel(); });
  $("file").addEventListener("change", (e) => readFile(e.target.files[0]));
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("dragging"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    readFile(e.dataTransfer.files[0]);
  });
  $("clear-button").addEventListener("click", () => {
    $("text").value = "";
    $("results").hidden = true;
    $("main").dataset.state = "idle";
    showError("");
    setStatus("Cleared.");
  });
  $("filter").addEventListener("change", applyFilter);
  for (const kind of ["json", "csv"]) {
    $("copy-" + kind).addEventListener("click", () => copy(kind));
    $("download-" + kind).addEventListener("click", () => download(kind));
  }
  const output = $("output");
  output.addEventListener("mouseover", (e) => { const m = e.target.closest("mark.s"); if (m) showTip(m); });
  output.addEventListener("focusin", (e) => { const m = e.target.closest("mark.s"); if (m) showTip(m); });
  output.addEventListener("mouseout", hideTip);
  output.addEventListener("focusout", hideTip);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") hideTip(); });
  loadModel();
});
