"""Opening the app on a lesson link in AppTest, and reading what a link view shows: shared by the page tests."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_link(page: str, **query) -> AppTest:
    """A fresh session opened on ``/page?query`` (AppTest starts on the landing page, which forwards)."""
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params.update({name: str(value) for name, value in query.items()})
    return at.run().switch_page(f"explorer/ui/pages/{page}.py").run()


def copied_link(at: AppTest) -> str:
    """The view's lesson link, as the sidebar's "Copy lesson link" shows it."""
    return next(code.value for code in at.code if "lesson=1" in code.value)
