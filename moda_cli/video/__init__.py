"""Video files in and out: I/O that sits just above the floor (atomic, errors, registry,
ffmpeg, machine) and below every stage.

``source``: is a file a video, what it holds, its frames (RGB or yuv420p) decoded at one
constant rate; ``yuv``: RGB <-> yuv420p (BT.709, limited range), the encoder's own format;
``formats``: the output formats by name; ``settings``: the encoder's settings
(``VideoSettings``, the preset's ``video:`` section); ``writer``: frames streamed into one
ffmpeg process, the file put in place only once it reads back whole.

Reading and writing live together because they share the pixel format and the frame-rate
arithmetic, and neither knows what a face, a motion or a render is: nothing here imports
face/, motion/, render/ or pipeline/ (``tests/test_layering.py``). So the stages that read
a video (face tracking, dubbing, a pose reference) import it downward, and the pipeline
writes through it.
"""
