"""The renderer: portrait + face mesh + one joint-motion row -> one RGB frame
(``renderer.Renderer``), set by ``settings.RenderSettings``.

Nothing is imported here: the preset schema reads ``render.settings`` when the CLI starts,
and that must not load the renderer's OpenCV, SciPy and MediaPipe.
"""
