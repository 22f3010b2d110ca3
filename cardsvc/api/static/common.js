// Shared by the pages: i18n (zh default, en toggle), API calls with problem details, reader events, dev desk.
"use strict";
const I18N = {
  zh: {
    title_counter: "居住证 · 窗口核验", title_print: "居住证 · 制证工作站", title_endorse: "居住证 · 签注",
    title_login: "居住证服务 · 登录", lang: "English", logout: "退出", reader: "读卡器", insert_card: "请插入居住证",
    reading: "正在读卡…", genuine_valid: "真实有效", tampered: "数据被篡改", untrusted_issuer: "签发机关不可信",
    signer_expired: "签名证书过期", signer_revoked: "签名证书已吊销", cloned: "疑似克隆卡", not_issued: "登记系统未发此卡", cancelled: "已注销",
    revoked: "已作废（补领/换领）", lost: "已挂失", suspended: "已中止使用", expired: "需签注（已过有效期）",
    unreadable: "无法读取", revocation_unknown: "吊销状态未知", status_unknown: "状态未知",
    name: "姓名", sex: "性别", ethnicity: "民族", birth_date: "出生日期", citizen_id: "公民身份号码",
    household_address: "户籍地址", residence_address: "居住地址", permit_number: "居住证号码",
    card_number: "卡号", issue_date: "签发日期", valid_until: "有效期至", "authority.name": "签发机关",
    service_place: "服务处所", contact: "联系电话",
    current_residence_address: "现居住地址（卡内签注）", current_service_place: "现服务处所（卡内变更登记）",
    desk: "虚拟卡（开发模式）", new_blank: "插入空白卡",
    insert: "插入", remove: "取出", queue: "制证队列", pending_permits: "待制证", create_job: "建立制证任务",
    run: "写卡", retry: "重试", state: "状态", progress: "进度", face: "卡面", sample: "生成样例申请",
    token: "访问令牌", login: "登录", login_failed: "令牌无效", endorse_btn: "签注并写卡", endorsements: "签注记录",
    read_card: "读卡", result: "结果", male: "男", female: "女", none: "无",
    pending: "待写卡", writing: "写卡中", verifying: "校验中", issued: "已发证", failed_retryable: "失败，可重试",
    failed: "失败",
    loss_report: "挂失记录", loss_bank: "银行挂失证明", loss_oral: "口头挂失", loss_counter: "窗口挂失",
    bank_certificate: "挂失证明编号", loss_effective: "挂失生效时间", loss_recorded: "登记时间",
    title_duties: "居住证 · 日常职责", deadline_queue: "制证期限（十五日内制作发放）", overdue_endorsements: "逾期未签注",
    application: "申请", due: "期限", days_left: "剩余天数", overdue: "已逾期", county: "县（市、区）",
    overdue_by_county: "各县逾期数", days_overdue: "逾期天数", late_until: "可补签至", reregister: "需重新申报暂住登记",
    to_cancel: "待注销（终止居住报告）", reporter: "报告人", landlord: "房屋出租人", employer: "用人单位",
    ended_on: "终止居住日期", papers: "打印文书", residence_certificate: "居住年限证明", materials_notice: "补充材料告知书",
    fee_id: "收费编号", fee_receipt: "工本费收据", reported_late: "逾期报告", active: "有效", duty_runs: "职责运行记录", duty: "职责", last_run: "上次运行", outcome: "结果", refresh: "刷新", nothing: "无",
  },
  en: {
    title_counter: "Residence permit · Counter", title_print: "Residence permit · Print station",
    title_endorse: "Residence permit · Endorsement", title_login: "Residence permit service · Sign in",
    lang: "中文", logout: "Sign out", reader: "Reader", insert_card: "Insert a residence permit",
    reading: "Reading the card…", genuine_valid: "Genuine and valid", tampered: "Data altered",
    untrusted_issuer: "Untrusted issuer", signer_expired: "Signer expired", signer_revoked: "Signer revoked",
    cloned: "Cloned card suspected", not_issued: "Not issued by the registry", cancelled: "Cancelled", revoked: "Revoked (replaced/renewed)", lost: "Reported lost",
    suspended: "Use suspended", expired: "Needs endorsement (expired)", unreadable: "Unreadable",
    revocation_unknown: "Revocation unknown", status_unknown: "Status unknown",
    name: "Name", sex: "Sex", ethnicity: "Ethnicity", birth_date: "Date of birth", citizen_id: "Citizen ID",
    household_address: "Household registration", residence_address: "Residence", permit_number: "Permit number",
    card_number: "Card number", issue_date: "Issued", valid_until: "Valid until", "authority.name": "Issued by",
    service_place: "Employer", contact: "Contact",
    current_residence_address: "Current residence (card)", current_service_place: "Current employer (card)",
    desk: "Virtual cards (dev mode)", new_blank: "Insert blank card",
    insert: "Insert", remove: "Remove", queue: "Print queue", pending_permits: "Waiting for a card",
    create_job: "Create job", run: "Write card", retry: "Retry", state: "State", progress: "Progress", face: "Card face",
    sample: "Sample application", token: "Access token", login: "Sign in", login_failed: "Invalid token",
    endorse_btn: "Endorse and write", endorsements: "Endorsements", read_card: "Read card", result: "Result",
    male: "Male", female: "Female", none: "none",
    pending: "pending", writing: "writing", verifying: "verifying", issued: "issued", failed_retryable: "failed (retry)",
    failed: "failed",
    loss_report: "Loss report", loss_bank: "Bank loss certificate", loss_oral: "Oral report (bank hotline)",
    loss_counter: "Reported at the counter", bank_certificate: "Certificate no.", loss_effective: "Loss effective",
    loss_recorded: "Recorded", title_duties: "Residence permit · Standing duties",
    deadline_queue: "Issuance deadline (15 days)", overdue_endorsements: "Overdue endorsements",
    application: "Application", due: "Due", days_left: "Days left", overdue: "Overdue", county: "County",
    overdue_by_county: "Overdue per county", days_overdue: "Days overdue", late_until: "Late endorsement until",
    reregister: "Re-registration required", to_cancel: "To cancel (residence ended)", reporter: "Reported by",
    landlord: "Landlord", employer: "Employer", papers: "Papers", residence_certificate: "Residence-years certificate",
    materials_notice: "Notice of missing materials", fee_id: "Fee no.", fee_receipt: "Fee receipt", ended_on: "Residence ended", reported_late: "reported late",
    active: "active", duty_runs: "Duty runs", duty: "Duty", last_run: "Last run",
    outcome: "Outcome", refresh: "Refresh", nothing: "none",
  },
};
let LANG = localStorage.getItem("cardsvc.lang") || "zh";
function t(key) { return (I18N[LANG] && I18N[LANG][key]) || I18N.zh[key] || key; }
function applyI18n() {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach(el => { el.textContent = t(el.dataset.i18n); });
  document.dispatchEvent(new Event("langchange"));
}
function toggleLang() { LANG = LANG === "zh" ? "en" : "zh"; localStorage.setItem("cardsvc.lang", LANG); applyI18n(); }
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    // style through the CSSOM: the pages' CSP forbids style attributes (issue 13)
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else if (k === "style") node.style.cssText = v; else if (v !== null && v !== undefined) node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
class ApiProblem extends Error { constructor(p) { super(p.detail || p.title || "error"); this.problem = p; } }
async function api(method, path, body) {
  const init = { method, headers: {}, credentials: "same-origin" };
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const r = await fetch(path, init);
  if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); throw new Error("login"); }
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : null;
  if (!r.ok) throw new ApiProblem(data || { detail: r.statusText });
  return data;
}
function showError(target, err) { document.getElementById(target).textContent = err ? (err.message || String(err)) : ""; }
// Long-poll reader events; calls onEvent(event) for each insert/remove.
async function watchReaders(onEvent) {
  let after = (await api("GET", "/api/readers/events?timeout=0")).last_seq;
  for (;;) {
    try {
      const r = await api("GET", `/api/readers/events?after=${after}&timeout=20`);
      for (const e of r.events) { after = Math.max(after, e.seq); onEvent(e); }
    } catch (err) { await new Promise(res => setTimeout(res, 1000)); }
  }
}
async function fillReaders(select) {
  const readers = await api("GET", "/api/readers");
  const keep = select.value;
  select.replaceChildren(...readers.map(r => el("option", { value: r.name }, r.name)));
  if (keep) select.value = keep;
  return readers;
}
// Dev desk: virtual cards and insert/remove buttons; hidden when the service has real readers.
async function renderDesk(container, readerSelect) {
  let cards;
  try { cards = await api("GET", "/api/desk"); } catch (err) { container.closest("section").hidden = true; return; }
  container.closest("section").hidden = false;
  const reader = () => readerSelect.value;
  const rows = [el("button", { "data-testid": "desk-new", onclick: async () => { await api("POST", "/api/desk/insert", { reader: reader() }); renderDesk(container, readerSelect); } }, t("new_blank"))];
  for (const c of cards) {
    const label = `${c.label}${c.reader ? " @ " + c.reader : ""}`;
    const action = c.reader
      ? el("button", { "data-testid": "desk-remove-" + c.card_id, onclick: async () => { await api("POST", "/api/desk/remove", { reader: c.reader }); renderDesk(container, readerSelect); } }, t("remove"))
      : el("button", { "data-testid": "desk-insert-" + c.card_id, onclick: async () => { await api("POST", "/api/desk/insert", { reader: reader(), card_id: c.card_id }); renderDesk(container, readerSelect); } }, t("insert"));
    rows.push(el("span", { class: "muted", "data-card-label": c.label }, label), action);
  }
  container.replaceChildren(...rows);
}
document.addEventListener("DOMContentLoaded", () => {
  const btn = document.getElementById("lang");
  if (btn) btn.addEventListener("click", toggleLang);
  applyI18n();
});
// An instant as the clerk reads it: China time (the day the regulations count in), "YYYY-MM-DD HH:MM".
function chinaTime(iso) { return new Date(iso).toLocaleString("sv-SE", { timeZone: "Asia/Shanghai" }).slice(0, 16); }
