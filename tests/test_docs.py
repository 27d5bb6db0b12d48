"""The docs tell the truth about the code: every setting is documented, every route group is listed."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme() -> None:
    source = (ROOT / "src/parsecrm/settings.py").read_text()
    names = set(re.findall(r'e\.get\("([A-Z_]+)"', source))
    readme = (ROOT / "README.md").read_text()
    missing = sorted(n for n in names if f"`{n}`" not in readme)
    assert not missing, f"settings missing from README: {missing}"
    assert len(names) > 20


def test_every_route_is_in_the_protocol_doc() -> None:
    from parsecrm.protocol.routes import ROUTES

    doc = (ROOT / "docs/protocol.md").read_text()
    heads = {re.match(r"[A-Za-z]+", route.pattern).group(0) for route in ROUTES}  # type: ignore[union-attr]
    assert len(heads) > 15
    table = doc.split("## Implemented", 1)[1].split("##", 1)[0]
    missing = sorted(h for h in heads if not re.search(rf"[ `,]{h}\b", table))
    assert not missing, f"routes missing from docs/protocol.md: {missing}"


def test_readme_starts_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text()[:800]
    assert "make run" in head and "make test" in head
