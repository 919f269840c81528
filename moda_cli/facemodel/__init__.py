"""The face contract, owned once: what the generator writes and the renderer reads.

* ``emotions``   the emotion vocabulary (labels in class order, the null class "none");
* ``vocabulary`` parameter names and emotion labels as a checkpoint stores and checks them.

``motion/`` (the model, training, extraction from videos) and ``render/`` import this
package; neither imports the other to learn what a parameter means. Importing it is cheap:
the submodules load what they need.
"""
