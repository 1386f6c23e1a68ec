"""Measuring tools: each prints its figures and ratios, measured side by side in one run.

Run from the repository's root with the package installed (``pip install -e ".[train]"``):

    python -m benchmarks.speed runs/release --baseline runs/textbook-models   # reviews/s
    python -m benchmarks.scale --files 8 --repeats 3          # local vs Ray engine
    python -m benchmarks.recipes --textbook runs/textbook-models --release runtime/models
    python -m benchmarks.quantize runtime/models/lstm-sentiment-fp32.onnx      # int8 options
    python -m benchmarks.teachers                             # n-gram teachers

They live outside the installed package: the package is the pipeline, these measure it.
"""
