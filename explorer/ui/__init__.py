"""The Gradio app. The only part of the package that imports gradio."""
