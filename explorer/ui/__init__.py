"""The Gradio app. The only part of the package that imports gradio."""

# Every live render of every tab (sliders, seeds, presets, pickers) shares one concurrency group:
# at most RENDER_SLOTS run at once, one torch thread each, and the rest wait in the queue in order
# (per-endpoint limits let 4 endpoints x 2 renders pile onto 2 cores). A render also waits on
# encoding and file I/O, so 4 slots keep 2 cores busier than 2: 8 simulated users for 120 s on
# 2 cores with a job training (bench/load_app.py), p95 0.92-1.43 s with 4 slots, 0.96-1.68 s with 2.
# Since live renders send only the pictures that changed (shown.py) and the users fetch pictures as a
# page does: p95 0.65-0.92 s for every endpoint at 64x64, 1,400-1,630 requests, 0 errors (four runs).
RENDER_SLOTS = 4
RENDER = dict(concurrency_limit=RENDER_SLOTS, concurrency_id="render")
LIVE = dict(**RENDER, trigger_mode="always_last", show_progress="hidden")
