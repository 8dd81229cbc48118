"""The Streamlit front end: the only package that imports streamlit. Pages stay thin over the core."""
