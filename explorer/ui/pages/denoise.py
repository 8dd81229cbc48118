"""Denoise: damage test images, then let the current model, PCA and a plain AE repair them."""
import streamlit as st

from explorer.noise import NOISE_TYPES
from explorer.ui import denoise_panels as panels
from explorer.ui import side_jobs, state

st.title("Denoise")
st.caption("Each method encodes the damaged image and decodes the code; PSNR and SSIM compare the "
           f"result with the clean image (means over {panels.SAMPLE_SIZE} test images). A denoising "
           "autoencoder was trained for exactly this; the others only learned to copy clean images.")
NOISE_HELP = "  \n".join(f"**{name.replace('_', ' ')}**: {t.description}" for name, t in NOISE_TYPES.items())
current = side_jobs.need_model("Denoise")
if current is not None:
    dataset = state.dataset()
    noise_col, level_col, image_col = st.columns([2, 3, 2])
    noise = noise_col.selectbox("Noise", list(NOISE_TYPES), format_func=lambda n: n.replace("_", " "),
                                key="denoise.noise", help=NOISE_HELP)
    with level_col:
        level = panels.level_slider(noise)
    n_test = len(dataset.x_test)
    first = image_col.number_input("First test image", 0, max(0, n_test - 8), 0, step=8, key="denoise.first")
    shown = tuple(range(int(first), min(int(first) + 8, n_test)))

    methods = panels.methods(current, dataset)
    everything = [panels.noisy_method(), *methods]
    columns = st.columns(len(everything) + 1)
    panels.image_column(columns[0], "clean", dataset.x_test[list(shown)], None)
    for column, method in zip(columns[1:], everything):
        images = panels.repaired(method.key, dataset.fingerprint, shown, noise, level, method, dataset)
        quality = panels.scores(method.key, dataset.fingerprint, noise, level, method, dataset)
        panels.image_column(column, method.label, images, quality)
    if panels.plain_ae(dataset, current.model.latent_dim) is None:
        panels.offer_plain_ae(dataset, current.model.latent_dim)

    panels.warm_curves(everything, dataset)  # every noise type's curve: switching type later is instant
    labels = [m.label for m in everything]
    chosen = st.multiselect("Methods on the curve", labels, default=labels, key="denoise.curve_methods")
    panels.curve_chart(everything, chosen, dataset, noise, level)
