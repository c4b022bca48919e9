"""nntrain: the student package of the assignment "Training Deep Neural Networks".

Import the modules you need, e.g. ``from nntrain import activations``; this file
imports nothing so that each module can be loaded and graded on its own.
"""
