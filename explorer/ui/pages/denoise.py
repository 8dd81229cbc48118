"""Denoise: damage test images, then let the current model, a denoising AE, a plain AE and PCA repair them."""
import streamlit as st

from explorer import denoise
from explorer.ui import denoise_panels as panels
from explorer.ui import lesson, side_jobs, state

st.title("Denoise")
st.caption("Damage test images, then let each method repair them: it encodes the damaged image and decodes "
           "the code. Each repair is compared with the clean image, over the same "
           f"{denoise.SAMPLE_SIZE} test images: **PSNR** (peak signal-to-noise ratio, in dB; higher is better, "
           "and 3 dB more means half the squared error) and **SSIM** (structural similarity; 1 means it looks "
           "the same). A denoising autoencoder was trained to undo one kind of damage; the others only learned "
           "to copy clean images. The page opens on the damage the denoising autoencoder was trained on.")
current = side_jobs.need_model("Denoise", code="retrieval")
if current is not None:
    dataset = state.dataset()
    methods = panels.methods(current, dataset)
    opening = panels.reset_on_new_model(methods[1:])  # methods[0] is the noisy input, [1] the current model
    noise_col, level_col, image_col = st.columns([2, 3, 2])
    noise = panels.noise_box(noise_col, opening)
    with level_col:
        level = panels.level_slider(noise, opening)
    n_test = len(dataset.x_test)
    last = max(0, n_test - 8)
    first = image_col.number_input("First test image", 0, last, lesson.setting("first", 0, within=(0, last)), step=8,
                                   key="denoise.first")
    shown = tuple(range(int(first), min(int(first) + 8, n_test)))

    scores = panels.scores(methods, dataset, noise, level)
    columns = st.columns(len(methods) + 1)
    panels.image_column(columns[0], "clean", dataset.x_test[list(shown)], None)
    for column, score, images in zip(columns[1:], scores, panels.repairs(methods, dataset, shown, noise, level)):
        panels.image_column(column, score.label, images, score.quality)
    lesson.shows(noise=noise, level=level, first=int(first))
    lesson.notice(denoise.lesson(scores, noise, level))
    panels.offer_helpers(dataset, current.model.latent_dim, current)
    panels.curve_chart(methods, dataset, noise, level)  # last: the page is drawn before the curve is scored
