"""The batcher's SLO controller (reef.serving.batcher.SloController), fed latencies it would
see: over the SLO it waits less, then makes batches smaller; well under it with batches
filling it makes them larger, up to the limit given; between the two it holds. And the
batcher with a model whose time grows with its batch: under a tight SLO its limits come down
and the p99 of later requests meets it."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from reef import api
from reef.serving.batcher import Batcher, SloController


def feed(controller: SloController, latency_s: float, rows: int, n: int = 100) -> None:
    for _ in range(n):
        controller.observe(latency_s, rows)


def test_over_the_slo_it_waits_less_then_batches_less() -> None:
    c = SloController(0.010, max_batch_size=32, max_delay_s=0.004)
    feed(c, 0.020, 32)
    assert (c.batch, c.delay_s) == (32, 0.002)
    for _ in range(6):
        feed(c, 0.020, 32)
    assert c.delay_s == 0.0 and c.batch < 32
    smallest = c.batch
    feed(c, 0.020, smallest, n=1000)
    assert c.batch == 1  # halved down to one row, never below


def test_well_under_it_batches_grow_to_the_limit_and_hold_between() -> None:
    c = SloController(0.050, max_batch_size=16, max_delay_s=0.002)
    c.batch, c.delay_s = 2, 0.0
    feed(c, 0.005, 2)  # batches full, far under the SLO: larger
    assert c.batch == 4
    for _ in range(5):
        feed(c, 0.005, c.batch)
    assert c.batch == 16  # the limit given, never above
    feed(c, 0.005, 3)  # batches not filling: wait a little longer for company
    assert 0 < c.delay_s <= 0.002
    held = (c.batch, c.delay_s, c.changes)
    feed(c, 0.045, 16, n=400)  # within the SLO, not far under it: held
    assert (c.batch, c.delay_s, c.changes) == held


class CostlyModel:
    """A model whose call takes 2 ms plus 1 ms a row."""

    name, version, platform = "costly", "1", "test"
    batchable = True

    def __init__(self) -> None:
        self.inputs = [api.TensorMetadata(name="x", datatype="FP32", shape=[-1, 1])]
        self.outputs = [api.TensorMetadata(name="y", datatype="FP32", shape=[-1, 1])]

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        time.sleep(0.002 + 0.001 * len(feeds["x"]))
        return {"y": feeds["x"] + 1}

    def close(self) -> None:
        pass


def test_a_tight_slo_brings_the_limits_down() -> None:
    """Requests keep arriving (as far as the batcher can tell), so each batch waits out its
    delay for company, and the p99 is over the SLO until the controller shortens it."""

    async def main() -> tuple[int, float, list[float]]:
        batcher = Batcher(
            CostlyModel(),  # type: ignore[arg-type]
            max_batch_size=64,
            max_delay_ms=20,
            slo_p99_ms=25,
            arriving=lambda: 1000,  # always more coming: every batch waits its delay out
        )
        await batcher.start()
        latencies: list[float] = []

        async def one(i: int) -> None:
            started = time.perf_counter()
            out = await batcher.infer({"x": np.full((1, 1), i, dtype=np.float32)}, 1)
            assert out["y"][0, 0] == i + 1  # its own row, whatever the batch
            latencies.append(time.perf_counter() - started)

        for _ in range(30):  # 30 waves of 16 concurrent requests
            await asyncio.gather(*(one(i) for i in range(16)))
        await batcher.stop()
        return batcher.max_batch_size, batcher.max_delay_s, latencies

    batch, delay, latencies = asyncio.run(main())
    assert delay < 0.020 or batch < 64
    late = sorted(latencies[-100:])
    assert late[98] <= 0.025 * 1.5, late[-5:]  # within the SLO, with room for a busy machine


def test_no_waiting_when_no_one_else_is_coming() -> None:
    """One request at a time: the batch goes at once, not after its delay."""

    async def main() -> float:
        batcher = Batcher(CostlyModel(), max_batch_size=64, max_delay_ms=200)  # type: ignore[arg-type]
        await batcher.start()
        started = time.perf_counter()
        for i in range(5):
            await batcher.infer({"x": np.full((1, 1), i, dtype=np.float32)}, 1)
        took = time.perf_counter() - started
        await batcher.stop()
        return took

    assert asyncio.run(main()) < 0.2  # five calls of 3 ms, not five waits of 200 ms


class ShortModel(CostlyModel):
    """A batchable model that answers one row fewer than a batch of several holds."""

    def predict(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        x = feeds["x"]
        return {"y": (x[:-1] if len(x) > 1 else x) + 1}


def test_a_batch_whose_answer_cannot_be_split_fails_its_requests_not_the_batcher() -> None:
    """A model answering fewer rows than it was given fails that batch's requests with why;
    the batcher's loop goes on answering (it died, and every later request waited forever)."""

    async def main() -> tuple[list[BaseException | dict[str, np.ndarray]], np.ndarray]:
        batcher = Batcher(
            ShortModel(),  # type: ignore[arg-type]
            max_batch_size=4,
            max_delay_ms=50,
            arriving=lambda: 1000,
        )
        await batcher.start()
        together = await asyncio.gather(
            *(batcher.infer({"x": np.full((1, 1), i, dtype=np.float32)}, 1) for i in range(2)),
            return_exceptions=True,
        )
        alone = await asyncio.wait_for(
            batcher.infer({"x": np.full((1, 1), 7, dtype=np.float32)}, 1), timeout=5
        )
        await asyncio.wait_for(batcher.stop(), timeout=5)
        return together, alone["y"]

    together, alone = asyncio.run(main())
    assert all(isinstance(r, ValueError) for r in together), together
    assert str(together[0]) == "the model answered 1 rows of 'y' for a batch of 2"
    assert alone.tolist() == [[8.0]]
