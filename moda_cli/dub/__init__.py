"""Dubbing a video: the same performance, speaking new audio.

    from moda_cli.dub import DubJob, Dubber
    result = Dubber(engine).dub(DubJob(Path("talk.mp4"), Path("talk_de.wav"), Path("out.mp4"),
                                       load_preset()))

A job runs as numbered stages:

1. check inputs: the video by its content (``video.source``), the audio's header, the
   output, before any model loads;
2. audio: decoded (a file without speech fails here);
3. track: the source decoded once (yuv420p, only the mesh's crop converted to RGB), the
   face followed frame by frame (``face.track``);
   only the meshes are kept, and a few mouth crops for the mouth library. Meanwhile a
   thread featurises the audio at the motion model's own frame rate and loads the
   model (both import torch);
4. plan: per shot, the source's own motion read back from its meshes (the face model
   run backwards, ``facemodel.inverse``); per frame, how much of the dub it takes (none
   without a usable face, ramped over ``RAMP_FRAMES`` at the edges of such spans); the
   output's timeline (``--fit``, ping-pong);
5. render and encode: the motion model samples the new audio's mouth window by window in
   a thread, with the source's head, eyes and brows given as the output shows them, while
   the source is decoded again as a stream, in the encoder's yuv420p; each frame's lower
   face box converted to RGB and warped from the source's mouth to the generated one
   (``render.dub``), the interior from the source's own open mouths, and converted back;
   frames streamed to the encoder beside the audio, the rest of each as decoded.

Only the mouth channels of the motion (``LIP_NAMES``) are used: head pose, blinks, brows,
smiles, hands, cuts and the background stay the source's own pixels.

The package's modules follow those stages: ``job`` (1), ``source`` (4, the source's own
motion per shot), ``timing`` (the output's frames and sound track), ``engine`` (the
passes), ``clock`` (where the time went).
"""

from .engine import Dubber
from .job import DubJob, DubResult, check_dub
from .source import covered, ramp, read_source, usable
from .timing import MOTION_FPS, GeneratedLips, given_motion

__all__ = [
    "MOTION_FPS",
    "DubJob",
    "DubResult",
    "Dubber",
    "GeneratedLips",
    "check_dub",
    "covered",
    "given_motion",
    "ramp",
    "read_source",
    "usable",
]
