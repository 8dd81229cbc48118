"""A minimal Streamlit client over the app's websocket (``/_stcore/stream``), for the classroom load test:
what a browser tab sends and waits for, without the browser. Thirty Chromium tabs would spend this
2-core machine's CPU on drawing; thirty of these cost the server the same script runs and messages.

The protocol, as Streamlit 1.x speaks it: the client sends ``BackMsg.rerun_script`` with the page's
hash, the URL's query string and its widgets' values; the server answers with ``ForwardMsg`` s (the
page's elements as deltas, the navigation, fragment timers) and ends each run with ``script_finished``.
A run can end early for a rerun (``st.rerun``), and the run that follows belongs to the same interaction.
A page's ``st.fragment(run_every=…)`` asks for ``auto_rerun``: the client reruns that fragment alone
on the interval, as the browser does; :meth:`Session.poll` sends one such rerun.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

FINISHED, EARLY_FOR_RERUN, FRAGMENT_FINISHED = 0, 2, 3
RUN_TIMEOUT_S = 120.0


@dataclass
class Run:
    """What one interaction drew (the elements of its last run) and how long it took."""
    seconds: float
    widgets: dict[str, object] = field(default_factory=dict)   # user key -> widget proto
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (format: error/warning/info/success, body)
    progress: list[str] = field(default_factory=list)          # progress bars' texts
    exceptions: list[str] = field(default_factory=list)

    def text(self, kind: str) -> list[str]:
        return [body for format_, body in self.alerts if format_ == kind]


def user_key(widget_id: str) -> str:
    """``$$ID-<hash>-<key>`` -> ``<key>`` (the widget's key in the app)."""
    return widget_id.split("-", 2)[2] if widget_id.startswith("$$ID-") else widget_id


class Session:
    """One browser tab's worth of Streamlit session over ``websockets``; not thread-safe (one task each)."""

    def __init__(self, port: int):
        self.url = f"ws://127.0.0.1:{port}/_stcore/stream"
        self.pages: dict[str, str] = {}       # url path ("latent") -> page script hash
        self.page_hash, self.query = "", ""
        self.fragments: dict[str, float] = {}  # fragment id -> rerun interval (s), this page's timers
        self._socket = None

    async def open(self, query: str = "") -> Run:
        import websockets
        self._socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None,
                                                open_timeout=RUN_TIMEOUT_S, ping_interval=None)
        self.query = query
        return await self.rerun()

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()

    async def goto(self, page: str) -> Run:
        """Open a page from the sidebar (``"latent"``; ``"model"`` for the first page)."""
        self.page_hash = self.pages[page]
        return await self.rerun()

    async def click(self, run: Run, key: str, values: dict[str, int] | None = None) -> Run:
        """Press the button keyed ``key`` in ``run``, with the number inputs keyed in ``values`` set first
        (a form's fields travel with its submit button)."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        states = [WidgetState(id=run.widgets[key].id, trigger_value=True)]
        states += [WidgetState(id=run.widgets[name].id, int_value=value) for name, value in (values or {}).items()]
        return await self.rerun(states)

    async def poll(self) -> Run | None:
        """Rerun the page's timed fragment once, as the browser does on its interval; None when there is none."""
        if not self.fragments:
            return None
        return await self.rerun(fragment_id=next(iter(self.fragments)))

    async def rerun(self, widget_states: list | None = None, fragment_id: str = "") -> Run:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        message = BackMsg()
        state = message.rerun_script
        state.query_string, state.page_script_hash = self.query, self.page_hash
        state.widget_states.widgets.extend(widget_states or [])
        if fragment_id:
            state.fragment_id, state.is_auto_rerun = fragment_id, True
        else:
            self.fragments.clear()  # a full run registers the page's timers afresh
        start = time.perf_counter()
        await self._socket.send(message.SerializeToString())
        run = await asyncio.wait_for(self._read_run(), RUN_TIMEOUT_S)
        run.seconds = time.perf_counter() - start
        return run

    async def _read_run(self) -> Run:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        run = Run(0.0)
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self._socket.recv())
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                self._read_element(message.delta.new_element, run)
            elif kind == "navigation":
                self.pages = {page.url_pathname or "model": page.page_script_hash
                              for page in message.navigation.app_pages if page.url_pathname}
            elif kind == "page_info_changed":
                self.query = message.page_info_changed.query_string
            elif kind == "auto_rerun":
                self.fragments[message.auto_rerun.fragment_id] = message.auto_rerun.interval
            elif kind == "script_finished":
                if message.script_finished == EARLY_FOR_RERUN:
                    run = Run(0.0, exceptions=run.exceptions)  # the next run redraws the page
                    self.fragments.clear()
                    continue
                if message.script_finished not in (FINISHED, FRAGMENT_FINISHED):
                    run.exceptions.append(f"script finished with status {message.script_finished}")
                return run

    @staticmethod
    def _read_element(element, run: Run) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            run.exceptions.append(f"{element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert":
            run.alerts.append((("", "error", "warning", "info", "success")[element.alert.format], element.alert.body))
        elif kind == "progress":
            run.progress.append(element.progress.text)
        elif kind is not None and getattr(getattr(element, kind), "id", ""):
            widget = getattr(element, kind)
            run.widgets[user_key(widget.id)] = widget
