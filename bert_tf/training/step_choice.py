"""`runtime.jit_compile: auto`: time the training step with and without XLA, keep the faster.

Whether XLA speeds a CPU training step depends on the model and the machine more than any
rule can say: on a 2-core AVX2 VM it made the BERT-Mini update (seq 128) 1.14-1.4× faster and
the BERT-Small update at seq 512 1.2× slower (docs/pretraining.md). So `auto` measures, the
way cuDNN's autotuner does: both compiled step functions run real updates at the start of every
phase (each phase has its own shapes), and the faster one trains the rest of the phase.

Nothing is wasted: every timed call is an ordinary update on the next batches. The cost is
one extra compilation per phase.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

TrainFunction = Callable[[Any, tf.Tensor], Mapping[str, tf.Tensor]]


def resolve_jit_compile(requested: bool | str, strategy: tf.distribute.Strategy,
                        deterministic: bool) -> tuple[bool | str, str | None]:
    """(`True`, `False` or `"auto"`, why `auto` was turned into a fixed choice or None).

    `auto` times the two step functions in this process, so it needs every replica to be
    driven by this process (one device or MirroredStrategy): workers of a multi-worker run
    could time differently and run different collectives. With `deterministic` the choice
    must not depend on timing either. TPUs compile every step anyway.
    """
    if requested != "auto":
        return bool(requested), None
    if deterministic:
        return False, "runtime.deterministic needs a choice that does not depend on timing"
    if isinstance(strategy, tf.distribute.TPUStrategy):
        return False, "TPUStrategy compiles every step with XLA anyway"
    # MultiWorkerMirroredStrategy is not a MirroredStrategy: it is refused here.
    if not isinstance(strategy, (tf.distribute.OneDeviceStrategy, tf.distribute.MirroredStrategy)):
        return False, f"{type(strategy).__name__} needs the same choice on every worker"
    return "auto", None


class StepChooser:
    """Calls `candidates[name](iterator, num_steps)` like one train function, choosing by time.

    Schedule: one untimed call of each candidate (tracing, XLA compilation), then `trials`
    timed calls of each in A B B A … order (so a drift of the machine's speed hits both
    alike); from then on the candidate with the smaller median seconds per step runs.
    `restart()` (at a new phase: new shapes) measures again.

    Args:
        candidates: name → train function returning a dict of scalar tensors.
        trials: timed calls per candidate.
        on_choice: called with (chosen name, {name: median seconds per step}).
        clock: monotonic seconds (tests inject a fake one).
    """

    def __init__(self, candidates: Mapping[str, TrainFunction], trials: int = 3,
                 on_choice: Callable[[str, dict[str, float]], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        if len(candidates) < 2 or trials < 1:
            raise ValueError("StepChooser needs two or more candidates and trials >= 1")
        self.candidates = dict(candidates)
        self.trials = trials
        self.on_choice = on_choice
        self.clock = clock
        self.choices: list[tuple[str, dict[str, float]]] = []
        self.restart()

    def restart(self) -> None:
        """Measures again from the next call (e.g. a phase with a new sequence length)."""
        names = list(self.candidates)
        self._schedule = [(name, False) for name in names]
        for k in range(self.trials):
            order = names if k % 2 == 0 else names[::-1]
            self._schedule += [(name, True) for name in order]
        self._times: dict[str, list[float]] = {name: [] for name in names}
        self.chosen: str | None = None

    def __call__(self, iterator, num_steps: tf.Tensor) -> dict[str, Any]:
        if self.chosen is not None:
            return self.candidates[self.chosen](iterator, num_steps)
        name, timed = self._schedule.pop(0)
        start = self.clock()
        # .numpy() waits for the updates, so the interval covers them.
        stats = {k: v.numpy() for k, v in self.candidates[name](iterator, num_steps).items()}
        if timed:
            self._times[name].append((self.clock() - start) / max(int(num_steps), 1))
        if not self._schedule:
            medians = {n: statistics.median(t) for n, t in self._times.items()}
            self.chosen = min(medians, key=medians.get)
            self.choices.append((self.chosen, medians))
            if self.on_choice:
                self.on_choice(self.chosen, medians)
        return stats
