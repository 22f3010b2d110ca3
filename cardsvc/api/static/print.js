// Print station: permits waiting for a card, the job queue with per-card progress and retry, the card face.
"use strict";
const readerSel = () => document.getElementById("reader");
let polling = null;

async function createJob(permitNumber) {
  try { const job = await api("POST", "/api/jobs", { permit_number: permitNumber }); await refresh(); showFace(job.permit_number); }
  catch (err) { showError("error", err); }
}
async function runJob(job, retry) {
  showError("error", null);
  try { await api("POST", `/api/jobs/${job.id}/${retry ? "retry" : "run"}`, { reader: readerSel().value }); await refresh(); }
  catch (err) { showError("error", err); }
}
function showFace(permitNumber) {
  const stamp = Date.now();
  document.getElementById("faces").replaceChildren(
    el("img", { src: `/api/faces/${permitNumber}/front.png?t=${stamp}`, alt: "front", "data-testid": "face-front" }),
    el("img", { src: `/api/faces/${permitNumber}/back.png?t=${stamp}`, alt: "back", "data-testid": "face-back" }));
}
function jobRow(job) {
  const p = job.progress || {};
  const pct = p.total ? Math.round(100 * p.done / p.total) : (job.state === "issued" ? 100 : 0);
  const bar = el("div", { class: "progress" }, el("div", { style: `width:${pct}%` }));
  const actions = el("td");
  if (!p.running && job.state === "pending") actions.append(el("button", { class: "primary", "data-testid": `run-${job.id}`, onclick: () => runJob(job, false) }, t("run")));
  if (!p.running && ["failed_retryable", "writing", "verifying"].includes(job.state)) actions.append(el("button", { "data-testid": `retry-${job.id}`, onclick: () => runJob(job, true) }, t("retry")));
  actions.append(el("button", { onclick: () => showFace(job.permit_number) }, t("face")));
  return el("tr", { "data-job": job.id, "data-state": job.state, "data-testid": `job-${job.id}` },
    el("td", {}, "#" + job.id), el("td", {}, job.permit_number), el("td", {}, job.card_number),
    el("td", { class: "state-" + job.state, "data-testid": `state-${job.id}` }, p.running ? (p.step || "…") : t(job.state)),
    el("td", {}, bar, el("span", { class: "muted" }, p.error || "")), actions);
}
async function refresh() {
  try {
    await fillReaders(readerSel());
    const [permits, jobs] = await Promise.all([api("GET", "/api/permits?status=pending"), api("GET", "/api/jobs")]);
    const withJob = new Set(jobs.filter(j => j.state !== "failed").map(j => j.permit_number));
    document.getElementById("pending").replaceChildren(...permits.filter(p => !withJob.has(p.permit_number)).map(p =>
      el("tr", { "data-permit": p.permit_number }, el("td", {}, p.permit_number), el("td", {}, p.city),
        el("td", {}, el("button", { class: "primary", "data-testid": `create-${p.permit_number}`, onclick: () => createJob(p.permit_number) }, t("create_job"))))));
    document.getElementById("jobs").replaceChildren(
      el("tr", {}, ...["#", "permit_number", "card_number", "state", "progress", ""].map(k => el("th", {}, k === "#" || !k ? k : t(k)))),
      ...jobs.map(jobRow));
    const running = jobs.some(j => j.progress && j.progress.running);
    if (running && !polling) polling = setInterval(refresh, 300);
    if (!running && polling) { clearInterval(polling); polling = null; }
  } catch (err) { showError("error", err); }
  renderDesk(document.getElementById("desk"), readerSel());
}
document.addEventListener("langchange", () => refresh());
document.addEventListener("DOMContentLoaded", async () => {
  const me = await api("GET", "/api/me");
  if (me.scopes.includes("applications")) {
    document.getElementById("sample").hidden = false;
    document.getElementById("sample-btn").addEventListener("click", async () => {
      try { await api("POST", "/api/applications/sample", { layout_id: document.getElementById("sample-layout").value, seed: Math.floor(Math.random() * 1e6) }); await refresh(); }
      catch (err) { showError("error", err); }
    });
  }
  await refresh();
  watchReaders(() => refresh());
});
