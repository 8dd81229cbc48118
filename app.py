"""Autoencoder Explorer: ``streamlit run app.py``."""
import streamlit as st

from explorer.ui import heap, shell

st.set_page_config(page_title="Autoencoder Explorer", page_icon=":material/hub:", layout="wide")
page = st.navigation(shell.pages())
shell.frame(page)
page.run()
shell.after_page(page)
heap.settle()  # the collector set for many sessions: the warm heap frozen (heap.py)
