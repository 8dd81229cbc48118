// Hover images for the Latent page's maps (explorer/ui/hover.py). Plotly's hover labels hold text only and
// st.plotly_chart sends no hover events to Python, so this runs in the page: a custom component v2 is
// mounted in the page's own document (no iframe), finds the map charts (the plotly divs whose layout.meta
// is data.meta), listens to their plotly_hover / plotly_unhover, and shows the hovered test image, cut
// from one sprite of the shown images (explorer/sprites.py), in a box that follows the pointer without
// covering it or the hovered point. No server round trip: a hover costs the browser alone.
const STATE = (window.__explorerHover = window.__explorerHover || {
  data: null, cellOf: null, sprite: null, spriteUri: null, tip: null, observer: null, pointer: [0, 0],
  shownAt: 0, paintedAt: 0,
});
const GAP = 18;  // px between the pointer and the box's nearest corner

function tip() {
  if (STATE.tip && STATE.tip.isConnected) return STATE.tip;
  const box = document.createElement("div");
  box.className = "explorer-hover-image";
  box.setAttribute("data-testid", "map-hover-image");
  Object.assign(box.style, {
    position: "fixed", zIndex: "100000", pointerEvents: "none", display: "none", background: "#fff",
    border: "1px solid #333", borderRadius: "6px", padding: "6px", boxShadow: "0 2px 10px rgba(0,0,0,.35)",
    color: "#111", textAlign: "center", fontFamily: "sans-serif", lineHeight: "1.25",
  });
  const canvas = document.createElement("canvas");
  canvas.style.display = "block";
  canvas.style.imageRendering = "pixelated";
  const name = document.createElement("div");
  name.className = "explorer-hover-class";
  name.style.font = "700 18px sans-serif";
  const index = document.createElement("div");
  index.className = "explorer-hover-index";
  index.style.font = "13px sans-serif";
  box.append(canvas, name, index);
  document.body.appendChild(box);
  STATE.tip = box;
  return box;
}

function place(x, y) {
  // Above-left of the pointer; flipped right or down where the window ends. Plotly's own label sits
  // beside the point at its height, so the box covers neither the pointer, the point nor that label.
  const box = STATE.tip;
  if (!box || box.style.display === "none") return;
  const w = box.offsetWidth, h = box.offsetHeight;
  let left = x - GAP - w, top = y - GAP - h;
  if (left < 4) left = x + GAP;
  if (top < 4) top = y + GAP;
  box.style.left = `${Math.min(left, window.innerWidth - w - 4)}px`;
  box.style.top = `${Math.min(top, window.innerHeight - h - 4)}px`;
}

function show(testIndex) {
  const d = STATE.data;
  const cell = STATE.cellOf ? STATE.cellOf.get(testIndex) : undefined;
  if (!d || cell === undefined || !STATE.sprite || !STATE.sprite.complete) return hide();
  const box = tip();
  const [canvas, name, index] = box.children;
  const w = d.cell_width * d.scale, h = d.cell_height * d.scale;
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const context = canvas.getContext("2d");
  context.imageSmoothingEnabled = false;
  const column = cell % d.columns, row = Math.floor(cell / d.columns);
  context.drawImage(STATE.sprite, column * d.cell_width, row * d.cell_height, d.cell_width, d.cell_height, 0, 0, w, h);
  const label = d.labels ? d.labels[cell] : null;
  name.textContent = label === null ? "" : d.classes[label];
  index.textContent = `test image ${testIndex}`;
  box.dataset.index = String(testIndex);
  box.dataset.label = name.textContent;
  box.style.display = "block";
  place(...STATE.pointer);
  STATE.shownAt = performance.now();
  // after the frame that draws it: when a viewer can see it (benchmarks/map_interaction.py reads this)
  requestAnimationFrame(() => requestAnimationFrame(() => { STATE.paintedAt = performance.now(); }));
}

function hide() {
  if (STATE.tip) { STATE.tip.style.display = "none"; delete STATE.tip.dataset.index; }
}

function pointOf(event) {
  const point = event && event.points && event.points[0];
  if (!point || point.customdata === undefined || point.customdata === null) return null;
  return Number(Array.isArray(point.customdata) ? point.customdata[0] : point.customdata);
}

function attach(chart) {
  if (chart.__explorerHover || !chart.on) return;
  chart.__explorerHover = true;
  chart.on("plotly_hover", (event) => {
    if (event.event) STATE.pointer = [event.event.clientX, event.event.clientY];
    const testIndex = pointOf(event);
    if (testIndex === null) hide(); else show(testIndex);
  });
  chart.on("plotly_unhover", hide);
  chart.addEventListener("mousemove", (event) => { STATE.pointer = [event.clientX, event.clientY]; place(event.clientX, event.clientY); });
  chart.addEventListener("mouseleave", hide);
}

function scan() {
  if (!STATE.data) return;
  for (const chart of document.querySelectorAll(".js-plotly-plot")) {
    if (chart.layout && chart.layout.meta === STATE.data.meta) attach(chart);
  }
}

export default function (component) {
  const data = component.data;
  STATE.data = data;
  STATE.cellOf = new Map(data.indices.map((testIndex, cell) => [testIndex, cell]));
  if (STATE.spriteUri !== data.sprite) {
    const sprite = new Image();
    sprite.src = data.sprite;
    sprite.decode().catch(() => {});  // decoded once here, not on the first hover
    STATE.sprite = sprite;
    STATE.spriteUri = data.sprite;
  }
  if (!STATE.observer) {
    // charts mount and remount after this component (each rerun that changes a figure remounts it)
    let queued = false;
    STATE.observer = new MutationObserver(() => {
      if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; scan(); }); }
    });
    STATE.observer.observe(document.body, { childList: true, subtree: true });
  }
  scan();
  return () => {
    // the page was left: charts elsewhere keep their listeners, which do nothing without data
    STATE.data = null;
    hide();
    if (STATE.observer) { STATE.observer.disconnect(); STATE.observer = null; }
  };
}
