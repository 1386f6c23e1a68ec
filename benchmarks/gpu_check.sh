#!/usr/bin/env bash
# The GPU check, from a fresh clone on a machine with an NVIDIA GPU (about 5 minutes):
#
#   benchmarks/gpu_check.sh [PATH/TO/aclImdb_v1.tar.gz]     # default: ../shared/data/...
#
# It installs the package in .venv-gpu with the GPU build of onnxruntime in place of the
# CPU one (the same version), then runs benchmarks/gpu_check.py: node placement of every
# shipped file on CUDA, |dp| against CPU fp32 on the test split, and scorer batch reviews/s
# on CUDA against the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
archive="${1:-${LSTM_SENTIMENT_IMDB:-../shared/data/aclImdb_v1.tar.gz}}"
python3 -m venv .venv-gpu
.venv-gpu/bin/pip install -q .
version="$(.venv-gpu/bin/python -c 'import onnxruntime; print(onnxruntime.__version__)')"
.venv-gpu/bin/pip uninstall -y -q onnxruntime
# The cuda and cudnn extras bring the CUDA 12 and cuDNN libraries as wheels, so the machine
# needs only the NVIDIA driver.
.venv-gpu/bin/pip install -q "onnxruntime-gpu[cuda,cudnn]==${version}"
exec .venv-gpu/bin/python -m benchmarks.gpu_check --data "$archive"
