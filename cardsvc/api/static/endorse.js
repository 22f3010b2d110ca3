// Endorsement counter: read the card for its permit number, record the yearly endorsement, write it to the card.
"use strict";
const readerSel = () => document.getElementById("reader");
async function loadRecords() {
  const number = document.getElementById("permit").value.trim();
  if (!number) return;
  const rows = await api("GET", "/api/endorsements?permit_number=" + encodeURIComponent(number));
  document.getElementById("records").replaceChildren(...rows.map(r => el("tr", {},
    el("td", {}, "#" + r.seq), el("td", {}, r.kind), el("td", {}, r.endorsed_on), el("td", {}, r.valid_until), el("td", {}, r.card_sync))));
}
async function readCard() {
  showError("error", null);
  try {
    const v = await api("POST", "/api/verify/reader", { reader: readerSel().value });
    document.getElementById("permit").value = v.permit_number || (v.display || {}).permit_number || "";
    const shown = v.display || {};  // the latest endorsement's address when the card has one
    document.getElementById("address").value = shown.current_residence_address || shown.residence_address || "";
    document.getElementById("result").textContent = `${t("result")}: ${t(v.result)}`;
    await loadRecords();
  } catch (err) { showError("error", err); }
}
async function endorse() {
  showError("error", null);
  try {
    const body = { permit_number: document.getElementById("permit").value.trim(), kind: "yearly", reader: readerSel().value };
    const address = document.getElementById("address").value.trim();
    if (address) body.residence_address = address;
    const r = await api("POST", "/api/endorsements", body);
    document.getElementById("result").textContent = `#${r.seq} ${r.kind} → ${r.valid_until} (${r.card_sync})`;
    await loadRecords();
  } catch (err) { showError("error", err); }
}
document.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("read").addEventListener("click", readCard);
  document.getElementById("endorse").addEventListener("click", endorse);
  await fillReaders(readerSel());
  renderDesk(document.getElementById("desk"), readerSel());
  watchReaders(e => { renderDesk(document.getElementById("desk"), readerSel()); if (e.kind === "inserted" && e.reader === readerSel().value) readCard(); });
});
