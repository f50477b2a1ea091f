"""Learning-rate schedules: hand-computed values and serialization."""

import keras
import numpy as np
import pytest

from bert_tf.optimization import AdamWeightDecay, PhasedSchedule, WarmupPolynomialDecay


def rate(schedule, step):
    return float(schedule(step))


def test_bert_schedule_hand_computed_values():
    # The paper: peak 1e-4, 10k warm-up, linear decay to 0 at 1M, decay counted from step 0.
    s = WarmupPolynomialDecay(1e-4, warmup_steps=10_000, total_steps=1_000_000)
    expected = {
        0: 0.0,  # the first update does not move the weights (as the original)
        1: 1e-8,  # 1e-4 · 1 / 10,000
        5_000: 5e-5,  # half-way through warm-up
        9_999: 9.999e-5,
        10_000: 9.9e-5,  # peak · (1 − 10k/1M): the decay counts from step 0
        500_000: 5e-5,
        990_000: 1e-6,
        1_000_000: 0.0,  # end
        1_500_000: 0.0,  # stays at the end rate
    }
    for step, value in expected.items():
        np.testing.assert_allclose(rate(s, step), value, rtol=1e-5, atol=1e-12, err_msg=step)
    # Near the end float32 cancellation in 1 − step/total shows, exactly as in the original's
    # float32 `tf.train.polynomial_decay`: 1e-10 exactly would be 1.3 % away.
    f32 = np.float32
    original = f32(1e-4) * (f32(1.0) - f32(999_999) / f32(1_000_000))
    assert rate(s, 999_999) == pytest.approx(float(original), rel=1e-6)


def test_decay_from_warmup_end_reaches_the_peak():
    s = WarmupPolynomialDecay(2e-5, warmup_steps=100, total_steps=1100, decay_from_warmup_end=True)
    for step, value in {0: 0.0, 50: 1e-5, 100: 2e-5, 600: 1e-5, 1100: 0.0, 2000: 0.0}.items():
        np.testing.assert_allclose(rate(s, step), value, rtol=1e-6, atol=1e-12, err_msg=step)


def test_power_end_rate_no_warmup_and_offset():
    s = WarmupPolynomialDecay(1.0, warmup_steps=0, total_steps=10, end_learning_rate=0.1, power=2.0)
    # (1 − 0.1)·(1 − 5/10)² + 0.1 = 0.325
    for step, value in {0: 1.0, 5: 0.325, 10: 0.1, 20: 0.1}.items():
        np.testing.assert_allclose(rate(s, step), value, rtol=1e-6, err_msg=step)
    shifted = WarmupPolynomialDecay(1.0, warmup_steps=4, total_steps=8, step_offset=100)
    for step, value in {0: 0.0, 100: 0.0, 102: 0.5, 104: 0.5, 108: 0.0}.items():
        np.testing.assert_allclose(rate(shifted, step), value, rtol=1e-6, err_msg=step)


def test_phased_schedule_restarts_each_phase_on_its_local_step():
    phase1 = WarmupPolynomialDecay(6e-3, warmup_steps=20, total_steps=90)
    phase2 = WarmupPolynomialDecay(4e-3, warmup_steps=2, total_steps=10)
    s = PhasedSchedule([phase1, phase2], boundaries=[90])
    expected = {
        0: 0.0,
        10: 3e-3,
        20: 6e-3 * (1 - 20 / 90),
        89: 6e-3 * (1 - 89 / 90),
        90: 0.0,  # phase 2, local step 0: its own warm-up starts
        91: 2e-3,
        95: 4e-3 * (1 - 5 / 10),
        100: 0.0,
        150: 0.0,
    }
    for step, value in expected.items():
        np.testing.assert_allclose(rate(s, step), value, rtol=1e-5, atol=1e-12, err_msg=step)


def test_one_schedule_across_two_phases_is_the_continuing_optimizer_step():
    """The paper's recipe: phase 2 continues the one schedule (no reset) at the restored step."""
    s = WarmupPolynomialDecay(1e-4, warmup_steps=10, total_steps=100)
    optimizer = AdamWeightDecay(s)
    optimizer.iterations.assign(90)  # what restoring phase 1's checkpoint does
    np.testing.assert_allclose(float(optimizer.learning_rate), 1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "schedule",
    [
        WarmupPolynomialDecay(1e-4, 7, 70, end_learning_rate=1e-6, power=0.5, step_offset=3),
        WarmupPolynomialDecay(1e-4, 7, 70, decay_from_warmup_end=True),
        PhasedSchedule(
            [WarmupPolynomialDecay(6e-3, 5, 30), WarmupPolynomialDecay(4e-3, 2, 10)], [30]
        ),
    ],
    ids=["polynomial", "from_warmup_end", "phased"],
)
def test_schedules_round_trip_through_keras_serialization(schedule):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    for step in range(0, 45, 3):
        assert rate(restored, step) == rate(schedule, step)


def test_bad_schedule_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="total_steps must be >= 1"):
        WarmupPolynomialDecay(1e-4, 10, 0)
    with pytest.raises(ValueError, match="warmup_steps must be an integer"):
        WarmupPolynomialDecay(1e-4, 1.5, 10)
    with pytest.raises(ValueError, match="decay_from_warmup_end needs"):
        WarmupPolynomialDecay(1e-4, 10, 10, decay_from_warmup_end=True)
    with pytest.raises(ValueError, match="2 schedules need 1 boundaries"):
        PhasedSchedule([WarmupPolynomialDecay(1, 1, 2)] * 2, [])
    with pytest.raises(ValueError, match="boundaries must increase"):
        PhasedSchedule([WarmupPolynomialDecay(1, 1, 2)] * 3, [5, 5])
