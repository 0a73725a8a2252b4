"""A small page to act as people do in WeCom: pick a scenario, fill in who does what, send it, and see
the callbacks WeCom would deliver. Served at ``/_emulator/``; it only calls the JSON control API."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

page = APIRouter(prefix="/_emulator")


def describe(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    """Each scenario's name, first doc line and keyword parameters (the state argument left out)."""
    described = []
    for name, action in sorted(scenarios.items()):
        params = []
        for param in list(inspect.signature(action).parameters.values())[1:]:
            required = param.default is inspect.Parameter.empty
            params.append(
                {"name": param.name, "required": required, "default": None if required else param.default}
            )
        doc = (inspect.getdoc(action) or "").split("\n\n", 1)[0].replace("\n", " ")
        described.append({"name": name, "doc": doc, "params": params})
    return described


@page.get("/scenarios")
async def list_scenarios(request: Request) -> JSONResponse:
    from wecom_emulator.web import SCENARIOS

    return JSONResponse(describe(SCENARIOS))


@page.get("/", response_class=HTMLResponse)
async def scenario_page(request: Request) -> HTMLResponse:
    return HTMLResponse(PAGE)


PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>企业微信模拟器 · WeCom emulator</title>
<style>
body{font:14px/1.6 -apple-system,"PingFang SC","Microsoft YaHei","WenQuanYi Micro Hei",sans-serif;margin:0;background:#f3f5f8;color:#1f2329}
header{background:#1f6feb;color:#fff;padding:12px 24px;font-size:18px}
main{display:grid;grid-template-columns:380px 1fr;gap:16px;padding:16px 24px}
section{background:#fff;border-radius:8px;padding:16px;box-shadow:0 1px 2px rgba(0,0,0,.06)}
label{display:block;margin:8px 0 2px;color:#555}input,select{width:100%;padding:6px 8px;box-sizing:border-box;border:1px solid #d0d7de;border-radius:4px}
button{margin-top:12px;padding:6px 16px;border:0;border-radius:4px;background:#1f6feb;color:#fff;cursor:pointer}
pre{background:#f6f8fa;padding:8px;border-radius:4px;white-space:pre-wrap;word-break:break-all;max-height:260px;overflow:auto}
table{width:100%;border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #eee;padding:4px;text-align:left}
.doc{color:#666;font-size:12px}
</style></head><body>
<header>企业微信模拟器 · WeCom emulator — 场景 / scenarios</header>
<main>
<section>
  <label for="corp">企业 / corp</label><select id="corp" data-testid="corp"></select>
  <label for="scenario">场景 / scenario</label><select id="scenario" data-testid="scenario"></select>
  <p class="doc" id="doc"></p>
  <form id="form"></form>
  <button id="send" data-testid="send">发送 / send</button>
  <button id="drain" data-testid="drain">投递回调 / deliver callbacks</button>
  <h4>结果 / outcome</h4><pre id="outcome" data-testid="outcome"></pre>
</section>
<section>
  <h4>回调投递 / callback deliveries</h4>
  <table><thead><tr><th>#</th><th>event</th><th>change</th><th>attempts</th><th>status</th></tr></thead>
  <tbody id="deliveries" data-testid="deliveries"></tbody></table>
</section>
</main>
<script>
const base = location.pathname.replace(/\\/$/, "");
let scenarios = [];
async function json(url, options) { const r = await fetch(url, options); return [r.status, await r.json()]; }
function renderForm() {
  const s = scenarios.find(x => x.name === document.getElementById("scenario").value);
  document.getElementById("doc").textContent = s.doc;
  const form = document.getElementById("form"); form.innerHTML = "";
  for (const p of s.params) {
    if (p.name === "corp_id") continue;
    const label = document.createElement("label"); label.textContent = p.name + (p.required ? " *" : "");
    const input = document.createElement("input"); input.name = p.name; input.dataset.testid = "param-" + p.name;
    input.placeholder = p.default === null ? "" : String(p.default);
    form.append(label, input);
  }
}
async function loadDeliveries() {
  const [, body] = await json(base + "/deliveries");
  const rows = body.slice(-50).reverse();
  document.getElementById("deliveries").innerHTML = rows.map(d => {
    const last = d.attempts[d.attempts.length - 1] || {};
    const status = d.delivered ? "✓" : (last.error || last.status_code || "…");
    return `<tr><td>${d.id}</td><td>${d.event}</td><td>${d.change_type}</td><td>${d.attempts.length}</td><td>${status}</td></tr>`;
  }).join("");
}
document.getElementById("scenario").onchange = renderForm;
document.getElementById("send").onclick = async () => {
  const s = scenarios.find(x => x.name === document.getElementById("scenario").value);
  const body = {corp_id: document.getElementById("corp").value};
  for (const input of document.querySelectorAll("#form input")) {
    if (input.value === "") continue;
    const p = s.params.find(x => x.name === input.name);
    body[input.name] = typeof p.default === "number" ? Number(input.value)
      : typeof p.default === "boolean" ? input.value === "true" : input.value;
  }
  const [status, result] = await json(base + "/scenarios/" + s.name,
    {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)});
  document.getElementById("outcome").textContent = status + "\\n" + JSON.stringify(result, null, 2);
  await loadDeliveries();
};
document.getElementById("drain").onclick = async () => { await fetch(base + "/deliveries/drain", {method: "POST"}); await loadDeliveries(); };
(async () => {
  const [, corps] = await json(base + "/corps");
  document.getElementById("corp").innerHTML = corps.map(c => `<option value="${c.corp_id}">${c.name || ""} ${c.corp_id}</option>`).join("");
  [, scenarios] = await json(base + "/scenarios");
  document.getElementById("scenario").innerHTML = scenarios.map(s => `<option>${s.name}</option>`).join("");
  renderForm(); await loadDeliveries();
})();
</script></body></html>
"""
