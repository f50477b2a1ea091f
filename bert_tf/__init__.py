"""bert_tf: BERT (Devlin et al., 2018) in TensorFlow 2 + Keras 3."""

import os as _os
import platform as _platform
import sys as _sys

__version__ = "0.1.0"

# TensorFlow's x86 wheels use oneDNN kernels by default only on CPUs with AVX-512 deep-learning
# extensions (VNNI, BF16, AMX). Elsewhere, e.g. on AVX2 CPUs such as AMD Zen 3, they fall back
# to Eigen, whose large matmuls ran at half oneDNN's speed there (4096² fp32: 81 against 157
# GFLOP/s; a BERT-Mini pre-training step 1.4x faster with oneDNN). TensorFlow reads the switch
# once, when it loads, so it is set here, before any bert_tf module imports TensorFlow, and
# only as a default: `TF_ENABLE_ONEDNN_OPTS=0` keeps the Eigen kernels (docs/model.md). Other
# architectures (aarch64: oneDNN over Arm's compute library) keep TensorFlow's own choice.
if "tensorflow" not in _sys.modules and _platform.machine().lower() in ("x86_64", "amd64"):
    _os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
