"""``browse`` switches between a case and its perturbed twins with ``t``."""

from __future__ import annotations

from pathlib import Path

import pytest

from courtgraph.evals import run_async
from courtgraph.evals.probing import probe_async
from courtgraph.graphs.registry import Roles
from courtgraph.view.runs import Run

pytest.importorskip("textual", reason="browse needs the optional textual extra")

from textual.widgets import RichLog

from courtgraph.view.browse_app import BrowseApp


async def test_t_shows_each_twin_then_the_case_again(tmp_path: Path) -> None:
    out = tmp_path / "run"
    await run_async("sample", ["single"], roles=Roles(model="sim:0.8:fooled=0.5"), out=out, limit=2, cache=None,
                    progress=False)
    await probe_async(out, "verbosity,bandwagon")

    def text(app: BrowseApp) -> str:
        return "\n".join(line.text for line in app.query_one("#transcript", RichLog).lines)

    with Run(out) as run:
        app = BrowseApp(run)
        async with app.run_test(size=(160, 60)) as pilot:
            await pilot.pause()
            assert "probe verbosity" not in text(app)
            await pilot.press("t")
            assert "probe verbosity" in text(app) and "To restate the question" in text(app)
            await pilot.press("t")
            assert "probe bandwagon" in text(app) and "%" in text(app)
            await pilot.press("t")
            assert "probe " not in app.title and "probe bandwagon" not in text(app)
            await pilot.press("q")
