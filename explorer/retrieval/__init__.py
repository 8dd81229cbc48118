"""Retrieval by latent code over a collection of any size: an index folder built by streaming a
collection through a model (``python -m explorer index``), searched by exact search, FAISS or a
Milvus vector database behind one :class:`~explorer.retrieval.base.Index` interface."""
