"""What bounds the face stage's input: the largest portrait side ever read.

Its own module, not ``image_io``'s: the preset schema (``render.max_side``'s bound) reads
it when the CLI starts, before numpy and Pillow, which ``image_io`` loads, are needed.
"""

MAX_SIDE = 4096  # the most render.max_side may be; larger portraits are always downscaled
