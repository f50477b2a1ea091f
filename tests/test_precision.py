"""`mixed_precision: auto` and the warnings for policies the hardware cannot run fast."""

from __future__ import annotations

import warnings

import keras
import pytest
import tensorflow as tf

from bert_tf import precision
from bert_tf.config import ConfigError
from bert_tf.config.schema import from_dict
from bert_tf.precision import (
    PrecisionWarning,
    auto_policy,
    cpu_flags,
    cpu_has_native_bfloat16,
    resolve_mixed_precision,
)
from bert_tf.training.pretrain_config import PretrainConfig

SAPPHIRE_RAPIDS = "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile avx512_fp16\n"
ZEN3 = "processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma\n"


@pytest.mark.parametrize("kind, capability, cpu_bf16, expected", [
    ("tpu", None, False, "mixed_bfloat16"),
    ("gpu", (8, 6), False, "mixed_bfloat16"),   # Ampere: bfloat16 tensor cores, no loss scale
    ("gpu", (7, 0), False, "mixed_float16"),    # Volta: float16 tensor cores only
    ("gpu", (6, 1), False, "float32"),          # Pascal: no tensor cores
    ("gpu", None, False, "float32"),            # capability not reported: the safe choice
    ("cpu", None, True, "mixed_bfloat16"),
    ("cpu", None, False, "float32"),
])
def test_auto_policy_per_device(kind, capability, cpu_bf16, expected):
    assert auto_policy(kind, gpu_capability=capability, cpu_bfloat16=cpu_bf16) == expected


def test_auto_policy_rejects_an_unknown_device_kind():
    with pytest.raises(ValueError, match="unknown accelerator kind 'npu'"):
        auto_policy("npu")


def test_cpu_flags_read_from_cpuinfo(tmp_path):
    spr, zen3 = tmp_path / "spr", tmp_path / "zen3"
    spr.write_text(SAPPHIRE_RAPIDS)
    zen3.write_text(ZEN3)
    assert cpu_has_native_bfloat16(cpu_flags(str(spr)))
    assert not cpu_has_native_bfloat16(cpu_flags(str(zen3)))
    assert cpu_flags(str(tmp_path / "missing")) is None
    assert not cpu_has_native_bfloat16(frozenset())


@pytest.mark.parametrize("native, expected", [(True, "mixed_bfloat16"), (False, "float32")])
def test_auto_on_this_cpu_only_machine(native, expected):
    assert resolve_mixed_precision("auto", cpu_bfloat16=native) == expected
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    assert resolve_mixed_precision("auto", strategy, cpu_bfloat16=native) == expected


def test_bfloat16_on_a_cpu_without_it_warns_but_is_kept():
    with pytest.warns(PrecisionWarning, match="without AVX512_BF16 or AMX"):
        assert resolve_mixed_precision("mixed_bfloat16", cpu_bfloat16=False) == "mixed_bfloat16"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_mixed_precision("mixed_bfloat16", cpu_bfloat16=True) == "mixed_bfloat16"
        assert resolve_mixed_precision("float32", cpu_bfloat16=False) == "float32"


def test_float16_on_a_cpu_without_it_warns(monkeypatch):
    monkeypatch.setattr(precision, "cpu_has_native_float16", lambda: False)
    with pytest.warns(PrecisionWarning, match="without AVX512_FP16"):
        assert resolve_mixed_precision("mixed_float16", cpu_bfloat16=False) == "mixed_float16"


def test_unknown_precision_is_an_error():
    with pytest.raises(ValueError, match="mixed_precision must be one of auto, float32"):
        resolve_mixed_precision("bfloat16")


def test_config_accepts_auto_and_names_the_choices_otherwise():
    config = from_dict(PretrainConfig, {"runtime": {"mixed_precision": "auto"}})
    assert config.runtime.mixed_precision == "auto"
    with pytest.raises(ConfigError, match="runtime.mixed_precision"):
        from_dict(PretrainConfig, {"runtime": {"mixed_precision": "bf16"}})


@pytest.mark.parametrize("native, expected", [(False, "float32"), (True, "mixed_bfloat16")])
def test_pretraining_run_resolves_auto_and_records_the_choice(shared_data, tmp_path, monkeypatch,
                                                              native, expected):
    from bert_tf.training.pretrain_loop import PretrainingRun
    from tests.pretraining.conftest import tiny_config

    monkeypatch.setattr(precision, "cpu_has_native_bfloat16", lambda: native)
    values = tiny_config(shared_data)
    values["runtime"].update(mixed_precision="auto", deterministic=False,
                             run_dir=str(tmp_path / "run"))
    previous = keras.config.dtype_policy()
    try:
        run = PretrainingRun(from_dict(PretrainConfig, values))
        assert run.config.runtime.mixed_precision == expected
        assert keras.config.dtype_policy().name == expected
        block = run.model.encoder.transformer_blocks[0]
        assert block.compute_dtype == ("bfloat16" if native else "float32")
    finally:
        keras.config.set_dtype_policy(previous)
