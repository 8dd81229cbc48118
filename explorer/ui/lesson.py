"""Lesson links in the app: the page's settings read from its URL (:mod:`explorer.lessons`), the controls
and the sidebar hidden under ``lesson=1``, the presenter's larger fonts and images, the "What to notice"
box and the "Copy lesson link" button.

A page reads a setting with :func:`setting` (the link's value, else the page's default) as its widget's
starting value, and tells what it shows with :func:`shows`; the link is built from those after the page
has drawn. The settings are read once per page a session opens, so a widget moved afterwards keeps its
new value.
"""
from __future__ import annotations

from urllib.parse import urlparse

import streamlit as st

from explorer import lessons
from explorer.ui import state

NOTICE_KEY = "notice"   # the "What to notice" box's container: class ``st-key-notice`` in the page
PRESENTER_KEY = "presenter"
CONTROLS = ("stSlider", "stSelectbox", "stNumberInput", "stRadio", "stMultiSelect", "stTextInput", "stTextArea",
            "stCheckbox", "stButton", "stDownloadButton", "stFileUploader", "stButtonGroup", "stPopover",
            "stColorPicker", "stDateInput")
# lesson=1: no sidebar (nor the button that opens it), no control in the page's body and no expander (they
# hold uploads and exports, asides to a lesson).
LOCKED_CSS = ('[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], '
              '[data-testid="stExpandSidebarButton"], [data-testid="stMain"] [data-testid="stExpander"] '
              '{display: none !important}\n'
              + ", ".join(f'[data-testid="stMain"] [data-testid="stElementContainer"]:has([data-testid="{name}"])'
                          for name in CONTROLS) + " {display: none !important}")
# Plotly sizes its text in pixels inside the chart's SVG, so the rem rule below leaves it alone: in presenter
# mode its tick labels, axis titles, legend and title get their own pixel sizes, about a quarter above plotly's
# defaults (12, 14, 12, 17 px); the charts' margins were computed for the smaller text, which the larger still fits.
PLOTLY_PRESENTER_CSS = "\n".join(
    ", ".join(f'[data-testid="stPlotlyChart"] .main-svg {part}' for part in parts) + f" {{font-size: {px}px !important}}"
    for parts, px in (((".xtick text", ".ytick text"), 15), ((".g-xtitle text", ".g-ytitle text"), 17),
                      ((".legendtext",), 15), ((".gtitle",), 20), ((".annotation-text",), 15)))
# presenter=1: text a quarter larger (Streamlit sizes its fonts in rem) and images as wide as their column,
# their pixels kept square-edged, for a projector at 1024x768; the page's side margins (also in rem, 100 px
# each at 1024 once enlarged) shrink to 24 px so the larger text does not narrow the images.
PRESENTER_CSS = ('html {font-size: 125%}\n'
                 '[data-testid="stMainBlockContainer"] {padding-left: 24px !important; '
                 'padding-right: 24px !important}\n'
                 '[data-testid="stMain"] [data-testid="stImage"] img {width: 100% !important; height: auto; '
                 'image-rendering: pixelated}\n'
                 + PLOTLY_PRESENTER_CSS)


def start(page: str) -> None:
    """Read the lesson settings of ``page`` from the URL, once per page opened in this session (each
    refused value said once, in one line), then hide or enlarge what the link asks."""
    if st.session_state.get("lesson.page") != page:
        read, refused = lessons.parse(page, st.query_params.to_dict())
        st.session_state.update({"lesson.page": page, "lesson": read})
        for line in refused:
            state.flash("warning", line)
    st.session_state["lesson.shown"] = {}
    if locked():
        st.html(f"<style>{LOCKED_CSS}</style>")
    if presenting():
        st.html(f"<style>{PRESENTER_CSS}</style>")


def _read() -> lessons.Lesson:
    return st.session_state.get("lesson") or lessons.Lesson({})


def locked() -> bool:
    return _read().locked


def presenting() -> bool:
    """The sidebar's presenter toggle, which starts from the link's ``presenter``."""
    return bool(st.session_state.get(PRESENTER_KEY, _read().presenter))


def presenter_toggle() -> None:
    with st.sidebar:
        st.toggle("Presenter mode", value=_read().presenter, key=PRESENTER_KEY,
                  help="Larger text and images, for a projector (1024x768).")


def setting(name: str, default, within=None):
    """The value the link gave ``name`` on this page, else ``default``. ``within``: the values this view
    allows, a (low, high) pair or a collection; a value outside them is said once, in one line, and the
    default used."""
    value = _read().settings.get(name, default)
    if within is None or value == default or _inside(value, within):
        return value
    said = st.session_state.setdefault("lesson.said", set())
    if name not in said:
        said.add(name)
        shown = f"{within[0]:g} to {within[1]:g}" if isinstance(within, tuple) else ", ".join(map(str, within))
        st.warning(f"The link's `{name}={value}` is not possible in this view ({shown}): the page's default is used.")
    return default


def _inside(value, within) -> bool:
    return within[0] <= value <= within[1] if isinstance(within, tuple) else value in within


def shows(**settings) -> None:
    """The page's current settings, for its lesson link."""
    st.session_state.setdefault("lesson.shown", {}).update(settings)


def notice(text: str) -> None:
    """The page's "What to notice" box: two to four sentences from the core, numbers and lesson."""
    with st.container(key=NOTICE_KEY):
        st.info(f"**What to notice.** {text}", icon=":material/lightbulb:")


def current_link(page: str) -> str:
    """The lesson link of the view on screen: the page, the session's model and every setting it shows."""
    model = state.current()
    chosen = {"dataset": state.dataset_name(), "variant": state.variant(),
              "code": model.model.latent_dim if model is not None else None}
    url = urlparse(st.context.url or "")
    path = url.path.rstrip("/")
    path = path[:-len(page) - 1] if path.endswith(f"/{page}") else path   # the app's own base path stays
    base = f"{url.scheme}://{url.netloc}{path}" if url.netloc else ""
    return lessons.link(page, chosen, st.session_state.get("lesson.shown", {}), base, presenter=presenting())


def link_button(page: str) -> None:
    """"Copy lesson link" in the sidebar: the link in a code box, whose icon copies it."""
    if locked():
        return
    with st.sidebar.popover("Copy lesson link", icon=":material/link:", width="stretch"):
        st.caption("Opens this page with this model and these settings, controls and sidebar hidden. "
                   "The icon at the box's right copies it.")
        st.code(current_link(page), language=None, wrap_lines=True)
