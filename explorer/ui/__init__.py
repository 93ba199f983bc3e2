"""The Gradio app. The only part of the package that imports gradio."""

# Every live render of every tab (sliders, seeds, presets, pickers) shares one concurrency group:
# at most RENDER_SLOTS run at once, one torch thread each, and the rest wait in the queue in order.
# Per-endpoint limits let 4 endpoints x 2 renders share 2 cores, each then 4x slower for everyone;
# bench/load_app.py measures it.
RENDER_SLOTS = 2
RENDER = dict(concurrency_limit=RENDER_SLOTS, concurrency_id="render")
LIVE = dict(**RENDER, trigger_mode="always_last", show_progress="hidden")
