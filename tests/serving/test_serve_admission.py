"""The body budget of ``reef serve --max-inflight-mb``: what a request takes, what it gives
back, and a request the budget cannot take leaves it as it was."""

from __future__ import annotations

from reef.serving.admission import BodyBudget


def test_requests_take_and_give_back_their_bytes() -> None:
    budget = BodyBudget(100)
    first, second = budget.hold(), budget.hold()
    assert first.take(60) and first.take(10)  # a chunked upload takes as it streams in
    assert budget.held == 70
    assert not second.take(31)  # past the limit: nothing taken
    assert budget.held == 70 and second.size == 0
    assert second.take(30) and budget.held == 100
    first.release()
    assert budget.held == 30 and first.size == 0
    first.release()  # twice is harmless (the handler's finally after an early answer)
    assert budget.held == 30
    second.release()
    assert budget.held == 0


def test_the_refusal_says_what_is_held_and_the_option() -> None:
    budget = BodyBudget(2 << 20)
    holder = budget.hold()
    assert holder.take(3 << 19)
    said = budget.hold().busy()
    assert "1.5 MiB" in said and "2.0 MiB" in said and "--max-inflight-mb" in said
