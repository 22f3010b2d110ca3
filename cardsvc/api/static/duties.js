// Standing duties: the SMX Art.12 issuance queue by due date (overdue flagged, counted per county), the
// permits suspended for an overdue endorsement (SMX Art.18-19), and how each duty last ran.
"use strict";
let data = null;
const head = (...keys) => el("tr", {}, ...keys.map(k => el("th", {}, t(k))));
function render() {
  if (!data) return;
  const [queue, overdue, runs, cancel] = data;
  const counties = Object.entries(queue.overdue_by_county);
  document.getElementById("by-county").textContent = counties.length
    ? counties.map(([c, n]) => `${c}: ${n}`).join("，") : t("nothing");
  document.getElementById("queue").replaceChildren(head("due", "days_left", "county", "application", "permit_number"),
    ...queue.rows.map(r => el("tr", { "data-testid": "queue-" + r.application_id, "data-overdue": String(r.overdue),
      class: r.overdue ? "overdue" : "" },
      el("td", {}, r.due), el("td", {}, r.overdue ? `${t("overdue")} (${-r.days_left})` : r.days_left),
      el("td", {}, r.county_code), el("td", {}, r.application_id), el("td", {}, r.permit_number || "—"))));
  document.getElementById("overdue").replaceChildren(head("permit_number", "due", "days_overdue", "late_until", "county"),
    ...overdue.map(r => el("tr", { "data-testid": "overdue-" + r.permit_number },
      el("td", {}, r.permit_number), el("td", {}, r.due), el("td", {}, r.days_overdue),
      el("td", {}, r.reregister_since ? t("reregister") : (r.late_until || "—")), el("td", {}, r.county_code))));
  document.getElementById("cancel").replaceChildren(head("permit_number", "reporter", "ended_on", "due", "state"),
    ...cancel.map(r => el("tr", { "data-testid": "cancel-" + r.permit_number, class: r.late ? "overdue" : "" },
      el("td", {}, r.permit_number), el("td", {}, t(r.reporter)), el("td", {}, r.ended_on),
      el("td", {}, r.due_on === null ? t("due_pending") : r.due_on + (r.late ? ` (${t("reported_late")})` : "")), el("td", {}, t(r.permit_status)))));
  document.getElementById("runs").replaceChildren(head("duty", "last_run", "outcome"),
    ...runs.map(r => el("tr", { "data-testid": "run-" + r.name }, el("td", {}, r.name),
      el("td", {}, r.last_run_at ? chinaTime(r.last_run_at) : "—"), el("td", {}, r.last_outcome || "—"))));
}
async function load() {
  showError("error", null);
  try {
    data = await Promise.all([api("GET", "/api/duties/queue"), api("GET", "/api/duties/overdue"),
                              api("GET", "/api/duties/runs"), api("GET", "/api/duties/terminations")]);
    render();
  } catch (err) { showError("error", err); }
}
// The papers: fetched with the page's cookie, shown as a PDF in a new tab (SMX Art.11, 18, 20; ZZ Art.15).
async function openPdf(method, path, body) {
  showError("error", null);
  try {
    const r = await fetch(path, { method, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/json" } : {}, body: body ? JSON.stringify(body) : undefined });
    if (!r.ok) { const p = await r.json(); throw new Error(p.detail || r.statusText); }
    window.open(URL.createObjectURL(await r.blob()), "_blank");
  } catch (err) { showError("error", err); }
}
const value = id => document.getElementById(id).value.trim();
document.addEventListener("langchange", render);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("refresh").addEventListener("click", load);
  document.getElementById("residence").addEventListener("click", () =>
    openPdf("GET", "/api/duties/residence-years.pdf?permit_number=" + encodeURIComponent(value("paper-permit"))));
  document.getElementById("notice").addEventListener("click", () =>
    openPdf("POST", "/api/duties/notice", { application_id: Number(value("paper-application")) }));
  document.getElementById("receipt").addEventListener("click", () =>
    openPdf("GET", "/api/duties/receipt?fee_id=" + encodeURIComponent(value("paper-fee"))));
  load();
});
