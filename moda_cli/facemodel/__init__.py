"""The face contract, owned once: what the generator writes and the renderer reads.

* ``params``     the joint motion space: head pose and ARKit's 52 blendshapes, units,
                 ranges, what each one means;
* ``arkit``      Apple ARKit's 52 face blendshapes: names, order, what 1.0 of each means;
* ``core``       the 17 core channels: speech's and the prior's actions, which the
                 training data and the baseline are made in, and their lift into the
                 joint space (and back);
* ``basis``      the displacement field of each rendered blendshape, in the face's own
                 frame, and the inner-lip gap of (jawOpen, the lips' press);
* ``shapes``     the fields of the shapes the core channels do not drive;
* ``head``       the head rig: how the pose moves the face's points, and its inverse;
* ``inverse``    tracked meshes of a video read back into the joint space (the rig and
                 the fields run backwards);
* ``emotions``   the emotion vocabulary (labels in class order, the null class "none");
* ``vocabulary`` channel names and emotion labels as a checkpoint stores and checks them.

``motion/`` (the model, training, extraction from videos) and ``render/`` import this
package; neither imports the other to learn what a parameter means. Importing it is cheap:
the submodules load what they need.
"""
