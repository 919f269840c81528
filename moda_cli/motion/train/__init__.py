"""Training-side code: synthetic speech, viseme targets, corpus, augmentation, dataset.

Nothing here is imported by inference code (``moda_cli.motion.prior`` is the one module
shared with the baseline generator, and it lives outside this package on purpose).
"""
