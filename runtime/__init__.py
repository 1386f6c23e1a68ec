"""lstm-sentiment's runtime: the text contract and everything needed to score reviews.

It depends on numpy and onnxruntime only; it never imports TensorFlow, Keras or tf2onnx.
"""

__version__ = "0.1.0"
