"""The face contract, owned once: what the generator writes and the renderer reads.

* ``params``     the motion parameters: names, units, ranges, what each one means;
* ``basis``      the expression blendshapes that give each coefficient its geometry, in the
                 face's own frame, and the inner-lip gap of (jaw_open, lip_press);
* ``head``       the head rig: how the pose moves the face's points, and its inverse;
* ``inverse``    tracked meshes of a video read back into parameters (the rig and the
                 blendshapes run backwards);
* ``emotions``   the emotion vocabulary (labels in class order, the null class "none");
* ``vocabulary`` parameter names and emotion labels as a checkpoint stores and checks them;
* ``arkit``      Apple ARKit's 52 face blendshapes, head pose and gaze, and how the
                 parameters map onto them both ways (the motion files' CSV speaks it).

``motion/`` (the model, training, extraction from videos) and ``render/`` import this
package; neither imports the other to learn what a parameter means. Importing it is cheap:
the submodules load what they need.
"""
