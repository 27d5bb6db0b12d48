"""`/schema`: the ER diagram, the data dictionary and the JSON exports (the seed's `{"classes": […]}` and Parse's
`/schemas` format) — drawn from the live schema on every request, so they are always true to the running server."""

from __future__ import annotations

from html import escape
from typing import Any

import orjson

from ..backend import Backend
from . import model
from .diagram import svg
from .pages import PageRequest, Result

HTML = [(b"content-type", b"text/html; charset=utf-8")]
DOWNLOAD = (b"content-disposition", b"inline")


def seed_format(docs: list[model.ClassDoc]) -> dict[str, Any]:
    classes = []
    for d in docs:
        fields: dict[str, Any] = {}
        for key, f in d.schema.fields.items():
            entry: dict[str, Any] = {"type": f.type}
            if f.target:
                entry["targetClass"] = f.target
            if f.targets:
                entry["targetClasses"] = list(f.targets)
            entry["required"] = f.required
            if f.default is not None:
                entry["defaultValue"] = f.default
            if d.fields.get(key):
                entry["description"] = d.fields[key]
            fields[key] = entry
        classes.append({"className": d.schema.name, "fields": fields})
    return {"classes": classes}


async def seed_export(backend: Backend, req: PageRequest) -> Result:
    return 200, orjson.dumps(seed_format(await model.classes(backend)), option=orjson.OPT_INDENT_2), [DOWNLOAD]


async def parse_export(backend: Backend, req: PageRequest) -> Result:
    docs = await model.classes(backend)
    body = {"results": [d.schema.to_json() for d in docs]}
    return 200, orjson.dumps(body, option=orjson.OPT_INDENT_2), [DOWNLOAD]


def _dictionary(doc: model.ClassDoc) -> str:
    s = doc.schema
    rows = []
    for key, f in s.fields.items():
        default = "" if f.default is None else escape(orjson.dumps(f.default).decode())
        rows.append(
            f"<tr><td><code>{escape(key)}</code></td><td>{escape(model.field_type(f))}</td>"
            f"<td>{'yes' if f.required else ''}</td><td>{default}</td><td>{escape(doc.fields.get(key, ''))}</td></tr>"
        )
    perms = "".join(f"<tr><th>{escape(op)}</th><td>{escape(who)}</td></tr>" for op, who in model.permissions(s).items())
    return (
        f'<section class="cls" id="class-{escape(s.name)}"><h3>{escape(s.name)}</h3><p>{escape(doc.description)}</p>'
        '<table class="fields"><thead><tr><th>Field</th><th>Type</th><th>Required</th><th>Default</th>'
        f"<th>Description</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        f'<details><summary>Permissions</summary><table class="perms">{perms}</table>'
        "<p>Class-level permissions; each object's ACL narrows them further.</p></details></section>"
    )


PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Schema · parsecrm</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>
body{font:14px system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1rem 1.5rem;color:#1d2330}
nav a{margin-right:1rem}h2{margin-top:2rem;border-bottom:1px solid #dde}.er{overflow:auto;border:1px solid #dde;
border-radius:6px;padding:.5rem;background:#fbfcfe}table{border-collapse:collapse;width:100%;margin:.4rem 0}
td,th{border-bottom:1px solid #e5e8ef;padding:.3rem .5rem;text-align:left;vertical-align:top}
.perms{width:auto}.perms th{font-weight:normal;color:#667}code{color:#7a3e9d}
pre{background:#f7f8fb;padding:.6rem;max-height:20rem;overflow:auto}.try{display:flex;gap:.5rem;align-items:center}
</style></head><body>
<nav><strong>parsecrm</strong> · <a href="#er">ER diagram</a><a href="#dictionary">Data dictionary</a>
<a href="#json">JSON schema</a><a href="__GRAPHQL__">GraphQL playground</a><a href="/api">REST explorer</a></nav>
<h1>Schema</h1><p>Drawn from the running server's classes (__COUNT__ classes). Arrows are pointers; dashed arrows are
relations; <code>*</code> marks required fields.</p>
<h2 id="er">ER diagram</h2><div class="er">__SVG__</div>
<h2 id="dictionary">Data dictionary</h2>__DICTIONARY__
<h2 id="json">JSON schema</h2>
<p><a href="/schema/classes.json" download>classes.json</a> (the seed's <code>{"classes": […]}</code> format) ·
<a href="/schema/schemas.json" download>schemas.json</a> (Parse's <code>/schemas</code> format, with permissions and
indexes)</p>
<div class="try"><label>Try a query: class <select id="cls">__OPTIONS__</select></label>
<label>session token <input id="token" size="36" placeholder="r:… (filled in when signed in to the app)"></label>
<button id="count">Count objects</button><output id="count-result"></output></div>
<pre id="export">__EXPORT__</pre>
<script>
const APP_ID = __APP_ID__, SERVER = __SERVER__;
try { const u = JSON.parse(localStorage.getItem('Parse/' + APP_ID + '/currentUser') || 'null');
      if (u && u.sessionToken) document.getElementById('token').value = u.sessionToken; } catch (e) {}
document.getElementById('count').onclick = async () => {
  const cls = document.getElementById('cls').value, token = document.getElementById('token').value.trim();
  const headers = {'X-Parse-Application-Id': APP_ID};
  if (token) headers['X-Parse-Session-Token'] = token;
  const path = cls === '_User' ? '/users' : cls === '_Role' ? '/roles' : '/classes/' + encodeURIComponent(cls);
  const r = await fetch(SERVER + path + '?count=1&limit=0', {headers});
  const body = await r.json();
  document.getElementById('count-result').textContent = r.ok ? cls + ': ' + body.count + ' objects' :
    'HTTP ' + r.status + ' ' + JSON.stringify(body);
};
</script></body></html>"""


async def page(backend: Backend, req: PageRequest) -> Result:
    docs = await model.classes(backend)
    by_name = {d.schema.name: d.schema for d in docs}
    diagram_classes = {k: v for k, v in by_name.items() if k not in ("_Session", "_Installation")}
    export = orjson.dumps(seed_format(docs), option=orjson.OPT_INDENT_2).decode()
    options = "".join(f"<option>{escape(d.schema.name)}</option>" for d in docs)
    s = backend.settings
    body = (
        PAGE.replace("__SVG__", svg(diagram_classes))
        .replace("__DICTIONARY__", "".join(_dictionary(d) for d in docs))
        .replace("__EXPORT__", escape(export))
        .replace("__OPTIONS__", options)
        .replace("__COUNT__", str(len(docs)))
        .replace("__GRAPHQL__", escape(s.graphql_path))
        .replace("__APP_ID__", orjson.dumps(s.app_id).decode().replace("<", "\\u003c"))
        .replace("__SERVER__", orjson.dumps(s.mount_path).decode())
    )
    return 200, body.encode(), HTML
