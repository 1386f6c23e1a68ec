"""lstm-sentiment's export stage: Keras model folder -> self-describing ONNX files."""
