"""resolvelib's resolution, with the bookkeeping of each round kept instead of redone.

Each round, resolvelib asks which names are unsatisfied by checking every pin against every
requirement, and after a pin checks them all again: its time grows with the square of the
number of names (seconds for a thousand names that need backtracking). A pin changes only the
criteria of the names its candidate requires, so ``Resolution`` below re-checks only those and
keeps the answer with each state: a backjump continues from an earlier state and takes its
answer, and only a rollback of optimistic backjumping (resolvelib copies those states) checks
everything once. Everything else is resolvelib's own code, in the same order, so the choices,
and the result, are resolvelib's.

The loop mirrors ``Resolution.resolve`` of resolvelib 1.2, and reaches into its private
methods: ``resolver()`` hands out the stock resolver for any other version.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from typing import Any, Generic

import resolvelib
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, Resolver
from resolvelib.resolvers import Criterion, RequirementsConflicted, ResolutionTooDeep
from resolvelib.resolvers import Resolution as _Resolution
from resolvelib.resolvers.abstract import Result
from resolvelib.structs import CT, KT, RT, DirectedGraph, IteratorMapping, State

# The versions whose Resolution.resolve this loop mirrors (checked by the tests, which compare
# both on random graphs that backtrack).
MIRRORED = ("1.2.",)


def resolver(
    provider: AbstractProvider[RT, CT, KT], reporter: BaseReporter[RT, CT, KT]
) -> Resolver[RT, CT, KT]:
    """The incremental resolver where this resolvelib's loop is the mirrored one."""
    if resolvelib.__version__.startswith(MIRRORED):
        return _IncrementalResolver(provider, reporter)
    return Resolver(provider, reporter)


class _IncrementalResolver(Resolver[RT, CT, KT]):
    def resolve(  # type: ignore[override]
        self, requirements: Iterable[RT], max_rounds: int = 100
    ) -> Result[RT, CT, KT]:
        state = Resolution(self.provider, self.reporter).resolve(requirements, max_rounds)
        return _result(state)


def _result(state: State[RT, CT, KT]) -> Result[RT, CT, KT]:
    """resolvelib's ``_build_result``: the pins that a route of requirements from the root
    reaches, and the graph of those routes. Walked breadth first: resolvelib's recursive walk
    never ends on a cycle of pins (left by an earlier choice) whose first parents are each
    other, and fails with RecursionError where a result exists."""
    keys: dict[int, KT] = {id(pin): name for name, pin in state.mapping.items()}
    edges: dict[KT | None, list[KT]] = {}
    for name, criterion in state.criteria.items():
        for parent in criterion.iter_parent():
            if parent is None:
                edges.setdefault(None, []).append(name)
            elif id(parent) in keys:
                edges.setdefault(keys[id(parent)], []).append(name)
    graph: DirectedGraph[KT | None] = DirectedGraph()
    graph.add(None)  # the root requirements' parent, as resolvelib has it
    queue: list[KT | None] = [None]
    while queue:
        reached = queue.pop()
        for name in edges.get(reached, ()):
            if name not in graph:
                graph.add(name)
                queue.append(name)
            graph.connect(reached, name)
    mapping = {k: v for k, v in state.mapping.items() if k in graph}
    return Result(mapping=mapping, graph=graph, criteria=state.criteria)


class _Pins(dict[Any, Any]):
    """A state's mapping, carrying the names its state leaves unsatisfied (None: not known).

    A state below the top of the stack no longer changes, so a backjump, which continues from
    a copy of one of them (its criteria patched with incompatibilities, which never changes
    which pins satisfy them), takes its set as it is.
    """

    __slots__ = ("unsatisfied",)

    def __init__(self, pins: Mapping[Any, Any], unsatisfied: set[Any] | None) -> None:
        super().__init__(pins)
        self.unsatisfied = unsatisfied


class Resolution(_Resolution[RT, CT, KT], Generic[RT, CT, KT]):
    def _satisfies(self, name: KT, criterion: Criterion[RT, CT]) -> bool:
        """resolvelib's ``_is_current_pin_satisfying``."""
        pin = self.state.mapping.get(name)
        if pin is None:
            return False
        return all(
            self._p.is_satisfied_by(requirement=r, candidate=pin)
            for r in criterion.iter_requirement()
        )

    def _unsatisfied(self) -> set[KT]:
        pins = self.state.mapping
        unsatisfied: set[KT] | None = getattr(pins, "unsatisfied", None)
        if unsatisfied is None:
            # The first state, or one restored by a rollback (resolvelib copies those).
            unsatisfied = {k for k, c in self.state.criteria.items() if not self._satisfies(k, c)}
            if isinstance(pins, _Pins):
                pins.unsatisfied = unsatisfied
        return unsatisfied

    def _push_new_state(self) -> None:
        base = self.state
        pins = _Pins(base.mapping, getattr(base.mapping, "unsatisfied", None))
        # A plain dict (under _Pins) keeps the order and the popitem() that backjumping needs,
        # and copies ten times faster than resolvelib's OrderedDict, once a round.
        state = State(pins, base.criteria.copy(), base.backtrack_causes[:])
        self._states.append(state)

    def _drop_information(self, criteria: dict[KT, Criterion[RT, CT]], parents: set[KT]) -> set[KT]:
        """``_remove_information_from_criteria``, replacing only the criteria it changes, whose
        names it returns."""
        changed = set()
        identify = self._p.identify
        for key, criterion in criteria.items():
            kept = [
                i
                for i in criterion.information
                if i.parent is None or identify(i.parent) not in parents
            ]
            if len(kept) != len(criterion.information):
                criteria[key] = Criterion(criterion.candidates, kept, criterion.incompatibilities)
                changed.add(key)
        return changed

    def _narrow(self, unsatisfied: set[KT]) -> KT:
        if len(unsatisfied) == 1:
            return next(iter(unsatisfied))
        state = self.state
        # In the criteria's order, as resolvelib lists them: a provider may depend on it.
        names = list(filter(unsatisfied.__contains__, state.criteria))
        narrowed = list(
            self._p.narrow_requirement_selection(
                identifiers=names,
                resolutions=state.mapping,
                candidates=IteratorMapping(state.criteria, operator.attrgetter("candidates")),
                information=IteratorMapping(state.criteria, operator.attrgetter("information")),
                backtrack_causes=state.backtrack_causes,
            )
        )
        if not narrowed:
            raise RuntimeError("narrow_requirement_selection returned 0 names")
        if len(narrowed) > 1:
            return min(narrowed, key=self._get_preference)
        return narrowed[0]

    def resolve(self, requirements: Iterable[RT], max_rounds: int) -> State[RT, CT, KT]:
        if self._states:
            raise RuntimeError("already resolved")
        self._r.starting()
        pins: Any = _Pins({}, None)
        self._states = [State(mapping=pins, criteria={}, backtrack_causes=[])]
        for r in requirements:
            try:
                self._add_to_criteria(self.state.criteria, r, parent=None)
            except RequirementsConflicted as e:
                raise ResolutionImpossible(e.criterion.information) from e
        self._push_new_state()

        optimistic_rounds_cutoff: int | None = None
        optimistic_backjumping_start_round: int | None = None

        for round_index in range(max_rounds):
            self._r.starting_round(index=round_index)

            if self._optimistic_backjumping_ratio and self._save_states is not None:
                if optimistic_backjumping_start_round is None:
                    optimistic_backjumping_start_round = round_index
                    optimistic_rounds_cutoff = int(
                        (max_rounds - round_index) * self._optimistic_backjumping_ratio
                    )
                    if optimistic_rounds_cutoff <= 0:
                        self._rollback_states()
                        continue
                elif (
                    optimistic_rounds_cutoff is not None
                    and round_index - optimistic_backjumping_start_round >= optimistic_rounds_cutoff
                ):
                    self._rollback_states()
                    continue

            unsatisfied = self._unsatisfied()
            if not unsatisfied:
                self._r.ending(state=self.state)
                return self.state

            name = self._narrow(unsatisfied)
            failure_criterion = self._attempt_to_pin_criterion(name)

            if failure_criterion:
                causes = self._extract_causes(failure_criterion)
                self._r.resolving_conflicts(causes=causes)
                try:
                    success = self._backjump(causes)
                except ResolutionImpossible:
                    if self._optimistic_backjumping_ratio and self._save_states:
                        failed_optimistic_backjumping = True
                    else:
                        raise
                else:
                    failed_optimistic_backjumping = bool(
                        not success and self._optimistic_backjumping_ratio and self._save_states
                    )
                if failed_optimistic_backjumping and self._save_states:
                    self._rollback_states()
                else:
                    self.state.backtrack_causes[:] = causes
                    if not success:
                        raise ResolutionImpossible(self.state.backtrack_causes)
            else:
                pins = self.state.mapping
                unsatisfied = self._after_pin(name, unsatisfied)
                if isinstance(pins, _Pins):
                    pins.unsatisfied = unsatisfied
                self._push_new_state()

            self._r.ending_round(index=round_index, state=self.state)

        raise ResolutionTooDeep(max_rounds)

    def _after_pin(self, name: KT, unsatisfied: set[KT]) -> set[KT]:
        """The unsatisfied names once ``name`` is pinned, with the information of pins that
        the new requirements invalidate dropped, as resolvelib's loop does."""
        state = self.state
        criteria = state.criteria
        pinned = state.mapping[name]
        # Only the criteria of the names the new pin requires changed.
        required = {self._p.identify(r) for r in self._p.get_dependencies(pinned)}
        newly = {
            k
            for k in required
            if k != name
            and k in state.mapping
            and k not in unsatisfied
            and not self._satisfies(k, criteria[k])
        }
        changed = required | {name}
        if newly:
            changed |= self._drop_information(criteria, newly)
        out = set(unsatisfied)
        for k in changed:
            if self._satisfies(k, criteria[k]):
                out.discard(k)
            else:
                out.add(k)
        return out
