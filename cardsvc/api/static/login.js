// The login page's one behaviour, kept out of the HTML so the page runs under a CSP without inline scripts.
if (new URLSearchParams(location.search).get("error")) document.addEventListener("langchange", () => { document.getElementById("error").textContent = t("login_failed"); });
