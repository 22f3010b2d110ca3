// Counter page: verify the card in the selected reader on insertion, clear on removal (ZZ Art.23 checks).
"use strict";
const FIELDS = ["name", "sex", "ethnicity", "birth_date", "citizen_id", "household_address", "residence_address",
  "permit_number", "card_number", "issue_date", "valid_until", "authority.name",
  // the latest signed records on the card: address (endorsement) and service place (ZZ Art.14 change record)
  "current_residence_address", "current_service_place"];
let lastVerdict = null;
const readerSel = () => document.getElementById("reader");

function renderIdle(key) {
  lastVerdict = null;
  const v = document.getElementById("verdict");
  v.className = "verdict"; v.dataset.result = ""; v.dataset.i18n = key; v.textContent = t(key);
  document.getElementById("reasons").replaceChildren();
  renderLoss(null);
  document.getElementById("card").hidden = true;
}
// ZZ Art.16-17: how the card was reported lost and the moment the loss took effect (liability before it).
function renderLoss(loss) {
  const box = document.getElementById("loss");
  box.hidden = !loss;
  if (!loss) { box.replaceChildren(); return; }
  const row = (key, value) => el("tr", { "data-field": key }, el("th", {}, t(key)), el("td", {}, value));
  box.replaceChildren(el("caption", {}, t("loss_report") + ": " + t("loss_" + loss.channel)),
    ...(loss.bank_certificate ? [row("bank_certificate", loss.bank_certificate)] : []),
    row("loss_effective", chinaTime(loss.effective_at)), row("loss_recorded", chinaTime(loss.recorded_at)));
}
function renderVerdict(verdict) {
  lastVerdict = verdict;
  const v = document.getElementById("verdict");
  delete v.dataset.i18n;
  v.className = "verdict " + (verdict.valid ? "ok" : "bad");
  v.dataset.result = verdict.result;
  v.textContent = (verdict.valid ? "✔ " : "✘ ") + t(verdict.result);
  document.getElementById("reasons").replaceChildren(...verdict.reasons.map(r => el("li", {}, r)));
  renderLoss(verdict.loss);
  const d = verdict.display || {};
  const value = k => k === "sex" ? (d.sex === "1" ? t("male") : d.sex === "2" ? t("female") : d.sex)
    : k === "ethnicity" && d.ethnicity_name ? d.ethnicity_name : d[k];
  document.getElementById("fields").replaceChildren(...FIELDS.filter(k => d[k] !== undefined).map(k =>
    el("tr", { "data-field": k }, el("th", {}, t(k)), el("td", {}, value(k)))));
  const photo = document.getElementById("photo");
  photo.src = verdict.photo ? "data:image/jpeg;base64," + verdict.photo : "";
  document.getElementById("card").hidden = !verdict.display || Object.keys(verdict.display).length === 0;
}
async function verify() {
  renderIdle("reading"); showError("error", null);
  try { renderVerdict(await api("POST", "/api/verify/reader", { reader: readerSel().value })); }
  catch (err) {
    if (err.problem && err.problem.type.endsWith("no-card")) renderIdle("insert_card"); else { renderIdle("unreadable"); showError("error", err); }
  }
}
async function refresh() {
  const readers = await fillReaders(readerSel());
  const current = readers.find(r => r.name === readerSel().value);
  if (current && current.present) await verify(); else renderIdle("insert_card");
  renderDesk(document.getElementById("desk"), readerSel());
}
document.addEventListener("langchange", () => { if (lastVerdict) renderVerdict(lastVerdict); });
document.addEventListener("DOMContentLoaded", async () => {
  readerSel().addEventListener("change", refresh);
  await refresh();
  watchReaders(e => {
    renderDesk(document.getElementById("desk"), readerSel());
    if (e.reader !== readerSel().value) return;
    if (e.kind === "inserted") verify(); else if (e.kind === "removed") renderIdle("insert_card");
  });
});
