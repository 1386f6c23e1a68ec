"""lstm-sentiment's training toolchain: IMDb loading, Keras training and evaluation.

Needs the ``train`` extra (TensorFlow/Keras, matplotlib) except for the data commands.
"""
