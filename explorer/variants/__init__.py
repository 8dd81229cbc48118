"""One module per autoencoder variant; each registers itself with :func:`explorer.registry.register`."""
