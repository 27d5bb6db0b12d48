"""The ER diagram as inline SVG, drawn on the server from the live schema: one box per class (its fields and
types), an arrow per pointer (to each target of a polymorphic pointer, labelled with the field), dashed arrows for
relations. Layout: classes in columns by pointer depth (a class sits left of what it points to), users on the right."""

from __future__ import annotations

from html import escape

from ..storage.model import ClassSchema
from .model import field_type

BOX_W, LINE_H, HEAD_H, GAP_X, GAP_Y, PAD = 215, 16, 24, 70, 28, 16
SYSTEM_FIELDS = {"objectId", "createdAt", "updatedAt", "ACL"}


def _targets(schema: ClassSchema) -> list[tuple[str, str, bool]]:
    """(field, target class, is relation) for every link the class holds."""
    out = []
    for key, f in schema.fields.items():
        if f.type == "Pointer":
            out += [(key, t, False) for t in (f.targets or (f.target or "",))]
        elif f.type == "Relation" and f.target:
            out.append((key, f.target, True))
    return out


def _columns(classes: dict[str, ClassSchema]) -> list[list[str]]:
    depth: dict[str, int] = {}

    def rank(name: str, seen: frozenset[str]) -> int:
        if name in depth:
            return depth[name]
        if name.startswith("_"):
            return 0
        links = [t for _, t, _ in _targets(classes[name]) if t in classes and t not in seen and t != name]
        value = 0 if not links else 1 + max(rank(t, seen | {name}) for t in links)
        depth[name] = value
        return value

    plain = [n for n in classes if not n.startswith("_")]
    top = max((rank(n, frozenset()) for n in plain), default=0)
    cols: list[list[str]] = [[] for _ in range(top + 2)]
    for n in sorted(plain):
        cols[top - depth[n]].append(n)
    cols[-1] = sorted(n for n in classes if n.startswith("_"))
    return [c for c in cols if c]


def _height(schema: ClassSchema) -> int:
    return HEAD_H + LINE_H * sum(1 for k in schema.fields if k not in SYSTEM_FIELDS) + PAD


def svg(classes: dict[str, ClassSchema]) -> str:
    pos: dict[str, tuple[int, int, int]] = {}  # class → x, y, height
    cols = _columns(classes)
    for ci, col in enumerate(cols):
        y = 20
        for name in col:
            h = _height(classes[name])
            pos[name] = (20 + ci * (BOX_W + GAP_X), y, h)
            y += h + GAP_Y
    width = 40 + len(cols) * (BOX_W + GAP_X) - GAP_X
    height = 40 + max((p[1] + p[2] for p in pos.values()), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="Entity-relationship diagram" font-family="system-ui,sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#51607a"/></marker></defs>',
    ]
    parts += _edges(classes, pos)
    for name, (x, y, h) in pos.items():
        parts += _box(classes[name], x, y, h)
    parts.append("</svg>")
    return "\n".join(parts)


def _field_y(schema: ClassSchema, key: str, y: int) -> int:
    rows = [k for k in schema.fields if k not in SYSTEM_FIELDS]
    return y + HEAD_H + LINE_H * rows.index(key) + LINE_H // 2 + 4 if key in rows else y + HEAD_H // 2


def _edges(classes: dict[str, ClassSchema], pos: dict[str, tuple[int, int, int]]) -> list[str]:
    out = []
    for name, schema in classes.items():
        x, y, _ = pos[name]
        for key, target, relation in _targets(schema):
            if target not in pos:
                continue
            tx, ty, th = pos[target]
            sy = _field_y(schema, key, y)
            if tx > x:
                sx, ex = x + BOX_W, tx
            elif tx < x:
                sx, ex = x, tx + BOX_W
            else:  # same column: loop out to the right
                sx, ex = x + BOX_W, tx + BOX_W
            ey = ty + min(th // 2, HEAD_H)
            bend = max(abs(ex - sx) // 2, 50) * (1 if ex >= sx else -1)
            if ex == sx:
                bend = 60
            dash = ' stroke-dasharray="5,4"' if relation else ""
            colour = "#b4bfd3" if target.startswith("_") else "#51607a"  # links to users: many, so quieter
            title = f"{name}.{key} → {target}" + (" (relation)" if relation else "")
            c2 = ex + (bend if ex == sx else -bend)
            out.append(
                f'<path class="edge" d="M{sx},{sy} C{sx + bend},{sy} {c2},{ey} {ex},{ey}" '
                f'fill="none" stroke="{colour}" stroke-width="1.3"{dash} marker-end="url(#arrow)">'
                f"<title>{escape(title)}</title></path>"
            )
    return out


def _box(schema: ClassSchema, x: int, y: int, h: int) -> list[str]:
    system = schema.name.startswith("_")
    fill = "#eef1f6" if system else "#e8f0ff"
    out = [
        f'<g class="entity" data-class="{escape(schema.name)}">',
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{h}" rx="6" fill="#fff" stroke="#51607a"/>',
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{HEAD_H}" rx="6" fill="{fill}" stroke="#51607a"/>',
        f'<text x="{x + 10}" y="{y + 16}" font-weight="bold">{escape(schema.name)}</text>',
    ]
    row = 0
    for key, f in schema.fields.items():
        if key in SYSTEM_FIELDS:
            continue
        ty = y + HEAD_H + LINE_H * row + LINE_H // 2 + 8
        mark = "*" if f.required else ""
        out.append(f'<text x="{x + 10}" y="{ty}">{escape(key)}{mark}</text>')
        out.append(
            f'<text x="{x + BOX_W - 10}" y="{ty}" text-anchor="end" fill="#5b6b85">{escape(field_type(f))}</text>'
        )
        row += 1
    out.append("</g>")
    return out
