"""Apple ARKit's face vocabulary: the 52 blendshapes the joint motion space is made of.

ARKit's 52 face blendshapes (``ARFaceAnchor.BlendShapeLocation``) are the expression
vocabulary that face-capture apps (Live Link Face), MetaHuman, Blender add-ons, VRM tools
and game engines share. Each is a coefficient 0..1: 0 the neutral face, 1 the full action
of that shape. Names are Apple's lowerCamel (``eyeBlinkLeft``); Live Link Face's CSV
writes them in UpperCamel (``EyeBlinkLeft``, ``upper_camel``). Left and Right are
the subject's own sides (``eyeBlinkLeft`` is the subject's left eye, on the image's right).

They are columns 6.. of the joint motion space (``params.py``), in Apple's order below.
What the renderer shows of each is ``basis.RENDERED`` (the shapes with a displacement
field, and ``mouthClose``, which seals the lips over ``jawOpen``); the others are carried
through motion files unrendered. How the model's compact core channels fill them is
``core.py`` (``LINKS``).

Gaze is the eight ``eyeLook*`` shapes: 1.0 is the eye turned ``EYE_LOOK_DEG`` that way
(an approximation: Apple documents no angle; people rarely turn their eyes further than
about 30 degrees before the head follows), which is how Live Link Face's eye yaw and
pitch are written from them (``motion/livelink.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


def upper_camel(name: str) -> str:
    """``eyeBlinkLeft`` -> ``EyeBlinkLeft``, as Live Link Face's CSV names a channel."""
    return name[0].upper() + name[1:]


@dataclass(frozen=True)
class BlendShape:
    name: str  # Apple's lowerCamel, e.g. "eyeBlinkLeft"
    doc: str  # what 1.0 means


# Apple's documented order: left eye, right eye, mouth and jaw, brows, cheeks and nose,
# tongue.
BLENDSHAPES: tuple[BlendShape, ...] = (
    BlendShape("eyeBlinkLeft", "left eyelids closed"),
    BlendShape("eyeLookDownLeft", "left eye looks down (lids follow)"),
    BlendShape("eyeLookInLeft", "left eye looks towards the nose"),
    BlendShape("eyeLookOutLeft", "left eye looks away from the nose"),
    BlendShape("eyeLookUpLeft", "left eye looks up (lids follow)"),
    BlendShape("eyeSquintLeft", "lower left lid raised, eye narrowed"),
    BlendShape("eyeWideLeft", "left eye wide open, upper lid raised"),
    BlendShape("eyeBlinkRight", "right eyelids closed"),
    BlendShape("eyeLookDownRight", "right eye looks down (lids follow)"),
    BlendShape("eyeLookInRight", "right eye looks towards the nose"),
    BlendShape("eyeLookOutRight", "right eye looks away from the nose"),
    BlendShape("eyeLookUpRight", "right eye looks up (lids follow)"),
    BlendShape("eyeSquintRight", "lower right lid raised, eye narrowed"),
    BlendShape("eyeWideRight", "right eye wide open, upper lid raised"),
    BlendShape("jawForward", "jaw pushed forward"),
    BlendShape("jawLeft", "jaw moved to the left"),
    BlendShape("jawRight", "jaw moved to the right"),
    BlendShape("jawOpen", "jaw fully open (about 45 mm between the incisors)"),
    BlendShape("mouthClose", "lips closed whatever the jaw (used with jawOpen)"),
    BlendShape("mouthFunnel", "lips flared into an open O"),
    BlendShape("mouthPucker", "lips pursed, narrowed and pushed forward"),
    BlendShape("mouthLeft", "both lips moved to the left"),
    BlendShape("mouthRight", "both lips moved to the right"),
    BlendShape("mouthSmileLeft", "left mouth corner up and back"),
    BlendShape("mouthSmileRight", "right mouth corner up and back"),
    BlendShape("mouthFrownLeft", "left mouth corner down"),
    BlendShape("mouthFrownRight", "right mouth corner down"),
    BlendShape("mouthDimpleLeft", "left mouth corner drawn back, dimpling"),
    BlendShape("mouthDimpleRight", "right mouth corner drawn back, dimpling"),
    BlendShape("mouthStretchLeft", "left mouth corner stretched sideways"),
    BlendShape("mouthStretchRight", "right mouth corner stretched sideways"),
    BlendShape("mouthRollLower", "lower lip rolled in over the teeth"),
    BlendShape("mouthRollUpper", "upper lip rolled in over the teeth"),
    BlendShape("mouthShrugLower", "lower lip pushed up (chin raised)"),
    BlendShape("mouthShrugUpper", "upper lip pushed up"),
    BlendShape("mouthPressLeft", "lips pressed together on the left"),
    BlendShape("mouthPressRight", "lips pressed together on the right"),
    BlendShape("mouthLowerDownLeft", "lower lip pulled down on the left"),
    BlendShape("mouthLowerDownRight", "lower lip pulled down on the right"),
    BlendShape("mouthUpperUpLeft", "upper lip raised on the left"),
    BlendShape("mouthUpperUpRight", "upper lip raised on the right"),
    BlendShape("browDownLeft", "outer left brow down"),
    BlendShape("browDownRight", "outer right brow down"),
    BlendShape("browInnerUp", "inner ends of both brows up"),
    BlendShape("browOuterUpLeft", "outer left brow up"),
    BlendShape("browOuterUpRight", "outer right brow up"),
    BlendShape("cheekPuff", "both cheeks puffed out"),
    BlendShape("cheekSquintLeft", "left cheek raised, lower lid pushed up"),
    BlendShape("cheekSquintRight", "right cheek raised, lower lid pushed up"),
    BlendShape("noseSneerLeft", "left nostril and side of the nose raised"),
    BlendShape("noseSneerRight", "right nostril and side of the nose raised"),
    BlendShape("tongueOut", "tongue out"),
)
BLENDSHAPE_NAMES: tuple[str, ...] = tuple(b.name for b in BLENDSHAPES)
NUM_BLENDSHAPES = len(BLENDSHAPES)  # 52

EYE_LOOK_DEG = 30.0  # an eyeLook shape at 1.0: the eye turned this far (degrees)
