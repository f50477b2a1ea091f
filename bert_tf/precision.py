"""Choosing a Keras mixed-precision policy for the hardware a run executes on.

bfloat16 pays only where the hardware multiplies it natively: TPUs, NVIDIA GPUs from Ampere
(compute capability 8.0) on, and CPUs with AVX512_BF16 or AMX. Elsewhere TensorFlow converts
every bfloat16 matmul to float32 and back, which is slower than float32 throughout. float16
needs tensor cores (compute capability 7.0) or AVX512_FP16, and a loss scale.
`mixed_precision: auto` picks from these facts (float16 only on GPUs, where the loss scale is
the established recipe), and an explicit policy the hardware cannot run fast earns a warning.
"""

from __future__ import annotations

import typing
import warnings

import tensorflow as tf

# The config field type (`runtime.mixed_precision`, `training.mixed_precision`) and its values.
MixedPrecision = typing.Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"]
MIXED_PRECISION_CHOICES: tuple[str, ...] = typing.get_args(MixedPrecision)

# /proc/cpuinfo flags of the x86 instructions that multiply bfloat16 (Cooper Lake, Sapphire
# Rapids and later Xeons; AMD Zen 4 and later) and float16 (Sapphire Rapids and later).
CPU_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")
CPU_FLOAT16_FLAGS = ("avx512_fp16", "amx_fp16")


class PrecisionWarning(UserWarning):
    """An explicitly chosen precision that the hardware cannot run fast."""


def cpu_flags(cpuinfo_path: str = "/proc/cpuinfo") -> frozenset[str] | None:
    """The CPU's feature flags from `/proc/cpuinfo`, or None where that file is unreadable."""
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        return None
    return frozenset()


def cpu_has_native_bfloat16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU multiplies bfloat16 natively (False where its flags cannot be read)."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags) and any(flag in flags for flag in CPU_BFLOAT16_FLAGS)


def cpu_has_native_float16(flags: frozenset[str] | None = None) -> bool:
    """Whether the CPU multiplies float16 natively (False where its flags cannot be read)."""
    flags = cpu_flags() if flags is None else flags
    return bool(flags) and any(flag in flags for flag in CPU_FLOAT16_FLAGS)


def accelerator_kind(strategy: tf.distribute.Strategy | None = None) -> str:
    """`tpu`, `gpu` or `cpu`: the devices `strategy` (or, without one, TensorFlow) computes on."""
    if strategy is not None and isinstance(strategy, tf.distribute.TPUStrategy):
        return "tpu"
    if strategy is not None:
        try:
            devices = tuple(strategy.extended.worker_devices)
        except (AttributeError, RuntimeError, NotImplementedError):
            devices = ()  # the default strategy lists none: fall through to what is visible
        if devices:
            return "cpu" if all("CPU" in device.upper() for device in devices) else "gpu"
    return "gpu" if tf.config.list_physical_devices("GPU") else "cpu"


def gpu_compute_capability() -> tuple[int, int] | None:
    """The lowest compute capability of the visible GPUs, or None when it is not reported."""
    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability is None:
            return None
        capabilities.append(tuple(capability))
    return min(capabilities) if capabilities else None


def auto_policy(kind: str, *, gpu_capability: tuple[int, int] | None = None,
                cpu_bfloat16: bool = False) -> str:
    """The fastest accurate policy for `kind` (`tpu` | `gpu` | `cpu`) and its capabilities."""
    if kind == "tpu":
        return "mixed_bfloat16"
    if kind == "gpu":
        if gpu_capability is not None and gpu_capability >= (8, 0):
            return "mixed_bfloat16"
        if gpu_capability is not None and gpu_capability >= (7, 0):
            return "mixed_float16"
        return "float32"
    if kind == "cpu":
        return "mixed_bfloat16" if cpu_bfloat16 else "float32"
    raise ValueError(f"unknown accelerator kind {kind!r}: expected tpu, gpu or cpu")


def resolve_mixed_precision(requested: str, strategy: tf.distribute.Strategy | None = None,
                            *, cpu_bfloat16: bool | None = None) -> str:
    """The Keras dtype policy to run with: `requested` itself, or the choice for `auto`.

    Args:
        requested: `auto`, `float32`, `mixed_bfloat16` or `mixed_float16`.
        strategy: the run's distribution strategy (decides between TPU, GPU and CPU).
        cpu_bfloat16: whether the CPU multiplies bfloat16 natively; read from
            `/proc/cpuinfo` when None.

    Returns:
        `float32`, `mixed_bfloat16` or `mixed_float16`.

    Raises:
        ValueError: `requested` is not one of the four choices.

    Warns (`PrecisionWarning`) when a mixed policy is asked for on a CPU that has no native
    kernels for it: the run works, but is slower than float32.
    """
    if requested not in MIXED_PRECISION_CHOICES:
        raise ValueError(f"mixed_precision must be one of {', '.join(MIXED_PRECISION_CHOICES)}; "
                         f"got {requested!r}")
    kind = accelerator_kind(strategy)
    if kind == "cpu" and cpu_bfloat16 is None:
        cpu_bfloat16 = cpu_has_native_bfloat16()
    if requested == "auto":
        capability = gpu_compute_capability() if kind == "gpu" else None
        return auto_policy(kind, gpu_capability=capability, cpu_bfloat16=bool(cpu_bfloat16))
    if kind == "cpu" and requested == "mixed_bfloat16" and not cpu_bfloat16:
        warnings.warn(
            "mixed_bfloat16 on a CPU without AVX512_BF16 or AMX: TensorFlow emulates bfloat16 "
            "matmuls there, which is slower than float32; use mixed_precision: auto (float32 "
            "on this CPU) or float32", PrecisionWarning, stacklevel=2)
    elif kind == "cpu" and requested == "mixed_float16" and not cpu_has_native_float16():
        warnings.warn(
            "mixed_float16 on a CPU without AVX512_FP16 or AMX-FP16: float16 matmuls are "
            "emulated there, which is slower than float32; use mixed_precision: auto or "
            "float32", PrecisionWarning, stacklevel=2)
    return requested
