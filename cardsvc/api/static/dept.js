// 一证通 department counter (issue 16): read and write the department's own records on the card in the reader.
"use strict";
Object.assign(I18N.zh, {
  title_dept: "居住证 · 一证通部门窗口", write_record: "写入卡片", record_seq: "写入次数", serves: "依据",
  intact: "完整性校验通过", not_intact: "完整性校验失败：记录被改动或写入中断", no_record: "卡上尚无此记录",
  written: "已写入", education: "教育", housing: "住房保障", family_planning_health: "卫生计生", health: "卫生计生",
  hrss: "人力资源社会保障", civil_affairs: "民政", public_security: "公安",
  education_enrolment: "随迁子女入学", fp_health_services: "计划生育与卫生免费服务",
  public_rental_eligibility: "公共租赁住房资格", employment_services: "公共就业服务", health_services: "基本公共卫生服务",
  housing_fund: "住房公积金", child_name: "子女姓名", school: "就读学校", enrolled_on: "入学日期",
  service_type: "服务类别", served_on: "服务日期", provider: "服务机构", eligible: "符合条件（1是/0否）",
  decision_number: "资格决定书编号", case_number: "案件编号", fund_account: "公积金账号",
  contributing: "正在缴存（1是/0否）", since: "起始日期",
  card_not_usable: "此卡不是持证人的有效证件，不能写入部门数据", st_lost: "已挂失", st_suspended: "使用功能中止",
  st_revoked_replaced: "已补领新证", st_revoked_renewed: "已换领交回", st_revoked_corrected: "已更正换证",
  st_cancelled: "已注销", st_not_issued: "未发证", st_spoiled: "制证失败", st_unknown: "登记库无此卡",
});
Object.assign(I18N.en, {
  title_dept: "Residence permit · Department counter", write_record: "Write to card", record_seq: "Write no.",
  serves: "Serves", intact: "Integrity verified", not_intact: "Integrity check failed: record altered or write interrupted",
  no_record: "No such record on the card yet", written: "Written", education: "Education", housing: "Housing",
  family_planning_health: "Family planning & health", health: "Health & family planning",
  hrss: "Human resources & social security", civil_affairs: "Civil affairs", public_security: "Public security",
  education_enrolment: "Child's school enrolment", fp_health_services: "Free family-planning & health services",
  public_rental_eligibility: "Public rental housing eligibility", employment_services: "Public employment services",
  health_services: "Basic public health services", housing_fund: "Housing provident fund",
  child_name: "Child's name", school: "School", enrolled_on: "Enrolled on", service_type: "Service type",
  served_on: "Served on", provider: "Provider", eligible: "Eligible (1 yes / 0 no)", decision_number: "Decision no.",
  case_number: "Case no.", fund_account: "Fund account", contributing: "Paying in (1 yes / 0 no)", since: "Since",
  card_not_usable: "Not the holder's valid card: department data cannot be written", st_lost: "reported lost",
  st_suspended: "use suspended", st_revoked_replaced: "replaced", st_revoked_renewed: "renewed and returned",
  st_revoked_corrected: "superseded by a corrected card", st_cancelled: "cancelled", st_not_issued: "not issued",
  st_spoiled: "spoiled", st_unknown: "unknown to the registry",
});
const readerSel = () => document.getElementById("reader");
let DEPT = null;
let LAST = null;
function recordSection(r) {
  const inputs = r.fields.map(f => el("label", {},
    el("span", { "data-i18n": f }, t(f)), " ",
    el("input", { "data-testid": `field-${r.record}-${f}`, "data-field": f, value: (r.values || {})[f] || "", size: 28 })));
  const status = el("p", { "data-testid": `status-${r.record}`, "data-intact": String(r.intact),
                           class: r.intact ? "muted" : "error" },
    r.intact ? (r.seq ? `${t("intact")} · ${t("record_seq")} #${r.seq}` : t("no_record")) : t("not_intact"));
  const write = el("button", { class: "primary", "data-testid": `write-${r.record}`, "data-i18n": "write_record",
    onclick: () => writeRecord(r.record, section) }, t("write_record"));
  const section = el("section", { "data-record": r.record },
    el("h2", {}, el("span", { "data-i18n": r.record }, t(r.record)), ` · ${t("serves")} ${r.serves}`),
    el("div", { class: "desk" }, ...inputs), status, write);
  return section;
}
function render(card) {
  LAST = card;
  document.getElementById("card").textContent = card ? card.card_number : "";
  const standing = document.getElementById("standing");  // cardsvc.departments.standing: the registry's word
  standing.hidden = !card || card.card_usable;
  standing.dataset.status = card ? card.card_status : "";
  standing.textContent = card && !card.card_usable ? `${t("card_not_usable")} (${t("st_" + card.card_status)})` : "";
  document.getElementById("records").replaceChildren(...(card ? card.records.map(recordSection) : []));
}
async function readCard() {
  showError("error", null);
  try {
    render(await api("GET", `/api/departments/${DEPT}/card?reader=${encodeURIComponent(readerSel().value)}`));
  } catch (err) { render(null); showError("error", err); }
}
async function writeRecord(record, section) {
  showError("error", null);
  const values = {};
  section.querySelectorAll("input[data-field]").forEach(i => { if (i.value.trim()) values[i.dataset.field] = i.value.trim(); });
  try {
    await api("PUT", `/api/departments/${DEPT}/card/records/${record}`, { reader: readerSel().value, values });
    await readCard();
  } catch (err) { showError("error", err); }
}
document.addEventListener("langchange", () => { if (LAST) render(LAST); if (DEPT) document.getElementById("department").textContent = t(DEPT); });
document.addEventListener("DOMContentLoaded", async () => {
  const me = await api("GET", "/api/me");
  DEPT = me.department || new URLSearchParams(location.search).get("department");
  document.getElementById("department").textContent = t(DEPT);
  document.getElementById("read").addEventListener("click", readCard);
  await fillReaders(readerSel());
  renderDesk(document.getElementById("desk"), readerSel());
  watchReaders(e => { renderDesk(document.getElementById("desk"), readerSel()); if (e.kind === "inserted" && e.reader === readerSel().value) readCard(); });
});
