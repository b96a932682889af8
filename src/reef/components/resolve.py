"""Resolving a component and its requirements into one consistent set, and locking it.

The search is resolvelib's (the resolver pip uses): candidates are offered highest version
first, ties in repository priority order, and it backtracks when a choice leads to a conflict.
resolvelib accepts dependency cycles, so the resolved graph is checked for them afterwards.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PythonRequirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, ResolutionTooDeep
from resolvelib.structs import RequirementInformation

from reef.components.checksums import OUTSIDE_HINT
from reef.components.content import content_sha256
from reef.components.index import MANIFEST, Entry, catalog, refused
from reef.components.lockfile import LOCAL
from reef.components.lookup import ComponentRefused, parse_ref
from reef.components.repository import Repository, containing, repositories
from reef.components.resolver import resolver as incremental_resolver
from reef.errors import ComponentError, ReefError
from reef.meta.component import split_requirement
from reef.meta.lock import Lock, LockedComponent


class ResolutionError(ComponentError):
    """No consistent set of components satisfies the target."""


class UnknownComponent(ResolutionError):
    def __init__(self, message: str, name: str, required_by: str | None, hint: str) -> None:
        self.name = name
        self.required_by = required_by
        super().__init__(message, hint)


class DependencyCycle(ResolutionError):
    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle  # 'name version' of each step, the first repeated at the end
        super().__init__(
            "dependency cycle: " + " -> ".join(cycle),
            hint="components may not require themselves, directly or through others; "
            "remove one of these requirements",
        )


@dataclass(eq=False)
class Requirement:
    name: str
    specifier: SpecifierSet
    spec: str  # the constraint as written, for messages
    allowed: frozenset[Candidate] | None = None  # the candidates it accepts, once known

    def __str__(self) -> str:
        return f"{self.name} {self.spec}" if self.spec else self.name


@dataclass(eq=False)
class Candidate:
    """One entry; compared and hashed by identity: each entry has exactly one candidate."""

    entry: Entry
    version: Version
    _requires: list[Requirement] | None = None

    @property
    def name(self) -> str:
        return self.entry.name

    def __str__(self) -> str:
        return f"{self.entry.name} {self.entry.version}"

    def requirements(self) -> list[Requirement]:
        # Parsed on first use: a malformed string in an entry nothing reaches does no harm.
        if self._requires is None:
            out = []
            for text in self.entry.requires:
                try:
                    name, spec = split_requirement(text)
                except ValueError as exc:
                    raise ResolutionError(
                        f"{self.entry.manifest_path}: requires: {exc}",
                        hint="fix the manifest (`reef check` shows every problem), then "
                        "`reef repo update`",
                    ) from exc
                out.append(Requirement(name, _specifier(spec), spec))
            self._requires = out
        return self._requires


@functools.lru_cache(maxsize=4096)
def _specifier(spec: str) -> SpecifierSet:
    # A graph repeats a few constraints thousands of times: each is parsed once. Shared
    # between requirements, so never changed in place.
    return SpecifierSet(spec)


def _candidates(entries: Iterable[Entry]) -> dict[str, list[Candidate]]:
    """Every name's candidates, highest version first; among equal versions, priority order."""
    by_name: dict[str, list[Candidate]] = {}
    for entry in entries:
        try:
            version = Version(entry.version)
        except InvalidVersion as exc:
            raise ResolutionError(
                f"{entry.manifest_path}: version {entry.version!r} is not a version"
            ) from exc
        by_name.setdefault(entry.name, []).append(Candidate(entry, version))
    for candidates in by_name.values():
        candidates.sort(key=lambda c: c.version, reverse=True)  # stable: keeps priority order
    return by_name


class _Provider(AbstractProvider[Requirement, Candidate, str]):
    def __init__(self, candidates: dict[str, list[Candidate]], pinned: dict[str, Candidate]):
        self.candidates = candidates
        self.pinned = pinned  # a target given by path: the only candidate for its name
        self.depth: dict[str, int] = {}  # distance from the target, as first met
        self.order: dict[str, tuple[int, str]] = {}  # (depth, name): _key less the conflict
        self.accepts: dict[tuple[str, str], frozenset[Candidate]] = {}  # by (name, spec)

    def _pool(self, name: str) -> list[Candidate]:
        pinned = self.pinned.get(name)
        return [pinned] if pinned is not None else self.candidates.get(name, [])

    def _allowed(self, requirement: Requirement) -> frozenset[Candidate]:
        # resolvelib asks the same questions every round: answer each constraint on each name
        # once, however many requirements repeat it.
        allowed = requirement.allowed
        if allowed is None:
            key = (requirement.name, requirement.spec)
            allowed = self.accepts.get(key)
            if allowed is None:
                allowed = frozenset(
                    c
                    for c in self._pool(requirement.name)
                    if requirement.specifier.contains(c.version, prereleases=True)
                )
                self.accepts[key] = allowed
            requirement.allowed = allowed
        return allowed

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.name

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]],
    ) -> Iterable[str]:
        # Choosing the one name here, rather than through get_preference, spares resolvelib a
        # call per name per round. This runs every round over every unsatisfied name, so the
        # key of _key is compared as a cached (depth, name), among the names a conflict
        # involves when any are listed.
        names = list(identifiers)
        order = self.order
        for name in names:
            if name not in order:
                self._depth(name, information)  # in the order given: a parent's may come first
        hot = _involved(backtrack_causes).intersection(names)
        return [min(hot or names, key=order.__getitem__)]

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]],
    ) -> tuple[bool, int, str]:
        return self._key(identifier, information, _involved(backtrack_causes))

    def _key(
        self,
        name: str,
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
        involved: set[str],
    ) -> tuple[bool, int, str]:
        # After a conflict, the names involved in it first: that is where the next choice
        # matters. Then breadth first, so that everything that constrains a name is usually
        # pinned before it and a conflict backjumps straight to its cause rather than through
        # unrelated pins. The name breaks ties: the same input always takes the same path.
        return name not in involved, self._depth(name, information), name

    def _depth(
        self,
        name: str,
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
    ) -> int:
        depth = self.depth.get(name)
        if depth is None:
            depth = min(
                0 if i.parent is None else self.depth.get(i.parent.name, 0) + 1
                for i in information[name]
            )
            self.depth[name] = depth
            self.order[name] = (depth, name)
        return depth

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        allowed = [self._allowed(r) for r in requirements[identifier]]
        bad = set(incompatibilities[identifier])
        return [
            c for c in self._pool(identifier) if c not in bad and all(c in ok for ok in allowed)
        ]

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        # resolvelib calls this for every requirement of every name, every round.
        allowed = requirement.allowed
        return candidate in (self._allowed(requirement) if allowed is None else allowed)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        return candidate.requirements()


def _involved(causes: Sequence[RequirementInformation[Requirement, Candidate]]) -> set[str]:
    names = {c.requirement.name for c in causes}
    return names | {c.parent.name for c in causes if c.parent is not None}


def resolve(target: str, *, entries: list[Entry] | None = None) -> Lock:
    """Lock ``target`` (a component reference, or a component's folder or reef.yaml) and
    everything it requires, transitively, at the highest versions that fit together."""
    root, mapping = _solve(target, catalog() if entries is None else entries)
    return _lock(target, root, mapping)


def resolve_entries(target: str, entries: list[Entry]) -> dict[str, Entry]:
    """The resolved set, by name, without locking it (nothing is hashed or loaded)."""
    return {name: c.entry for name, c in _solve(target, entries)[1].items()}


def _solve(target: str, entries: list[Entry]) -> tuple[str, dict[str, Candidate]]:
    root_req, root_entry = _root(target, entries)
    if root_entry is not None and root_entry.repository == LOCAL:
        entries = [*entries, root_entry]
    candidates = _candidates(entries)
    pinned: dict[str, Candidate] = {}
    if root_entry is not None:
        pinned[root_req.name] = next(c for c in candidates[root_req.name] if c.entry is root_entry)
    provider = _Provider(candidates, pinned)
    fast = _without_backtracking(root_req, provider)
    if fast is not None:
        _check_cycles(fast[root_req.name], fast)
        return root_req.name, fast
    resolver = incremental_resolver(provider, BaseReporter())
    # Every round pins one name, and backtracking takes more: give it room in proportion.
    rounds = 100 + 20 * len(candidates)
    try:
        result = resolver.resolve([root_req], max_rounds=rounds)
    except ResolutionImpossible as exc:
        causes: list[RequirementInformation[Requirement, Candidate]] = list(exc.causes)
        raise _impossible(target, causes, candidates) from exc
    except ResolutionTooDeep as exc:
        raise ResolutionError(
            f"cannot resolve {target!r}: gave up after {rounds} rounds of backtracking",
            hint="pin some requirements more tightly (e.g. 'name ==1.2.0') to narrow the search",
        ) from exc
    mapping: dict[str, Candidate] = dict(result.mapping)
    _check_cycles(mapping[root_req.name], mapping)
    return root_req.name, mapping


def _without_backtracking(root: Requirement, provider: _Provider) -> dict[str, Candidate] | None:
    """resolvelib's own path when it never has to go back, taken in linear time.

    resolvelib re-checks every pin against every requirement each round, so its time grows
    with the square of the number of names: seconds for a thousand. Most graphs need no
    backtracking, and then its choices can be replayed directly: names in the same order
    (breadth first, then by name, as ``_Provider._key`` orders them), each pinned to the
    first candidate whose requirements leave every required name some candidate, as
    ``_attempt_to_pin_criterion`` does. At the first point where resolvelib would backtrack
    or re-pin (no candidate fits, or a new requirement rejects an existing pin) this gives
    up, returning None, and resolvelib does the whole resolution itself.
    """
    matches = {root.name: [c for c in provider._pool(root.name) if c in provider._allowed(root)]}
    depth = {root.name: 0}
    queue = [(0, root.name)]
    mapping: dict[str, Candidate] = {}
    while queue:
        level, name = heapq.heappop(queue)
        narrowed: dict[str, list[Candidate]] = {}
        for candidate in matches[name]:
            narrowed = {}
            for r in candidate.requirements():
                pool = narrowed.get(r.name) or matches.get(r.name) or provider._pool(r.name)
                allowed = provider._allowed(r)
                fits = [c for c in pool if c in allowed]
                if not fits:
                    break
                narrowed[r.name] = fits
            else:
                break
        else:
            return None  # every candidate conflicts: resolvelib would backtrack
        mapping[name] = candidate
        for r in candidate.requirements():
            matches[r.name] = narrowed[r.name]
            pin = mapping.get(r.name)
            if pin is not None and pin not in provider._allowed(r):
                return None  # a pin no longer fits: resolvelib would re-pin it
            if r.name not in depth:
                depth[r.name] = level + 1
                heapq.heappush(queue, (level + 1, r.name))
    return mapping


def _root(target: str, entries: list[Entry]) -> tuple[Requirement, Entry | None]:
    """The root requirement, and for a target given by path, the entry it must take."""
    path = Path(target).expanduser()
    if path.is_dir():
        path = path / MANIFEST
    if path.is_file():
        entry = _entry_for_path(path.resolve(), entries)
        return Requirement(entry.name, SpecifierSet(), ""), entry
    if "/" in target or path.suffix.lower() in (".yaml", ".yml"):
        raise ResolutionError(f"{target}: no such component folder or reef.yaml")
    name, specifier = parse_ref(target)
    return Requirement(name, specifier, split_requirement(target)[1]), None


def _entry_for_path(manifest: Path, entries: list[Entry]) -> Entry:
    """The index entry of a manifest inside a repository, or a 'local' entry for one outside."""
    if containing(manifest) is not None:
        for entry in entries:
            if entry.manifest_path.resolve() == manifest:
                return entry
    # Reading it the way the index does keeps the implied requirements (a model's dataset).
    from reef.components.index import entry_from_manifest

    folder = manifest.parent
    local = Repository(LOCAL, "folder", str(folder), trusted=True)
    entry = entry_from_manifest(local, manifest.name)
    # Outside every repository it is the user's own folder, trusted like a script they run.
    return replace(entry, repository=LOCAL, root=str(folder), trusted=True)


def _available(name: str, candidates: dict[str, list[Candidate]]) -> str:
    pool = sorted(candidates.get(name, []), key=lambda c: c.version)
    if not pool:
        return f"{name}: none"
    listed = dict.fromkeys(f"{c.entry.version} ({c.entry.repository})" for c in pool)
    return f"{name} " + ", ".join(listed)


def _impossible(
    target: str,
    causes: list[RequirementInformation[Requirement, Candidate]],
    candidates: dict[str, list[Candidate]],
) -> ReefError:
    """An error naming who requires what, and which versions exist."""
    for cause in causes:
        name = cause.requirement.name
        if name in candidates:
            continue
        why = refused(name)
        if why:
            # It is in a repository, but may not be used: say why, not that it is unknown.
            required = "" if cause.parent is None else f"{cause.parent} requires {name!r}: "
            return ComponentRefused(f"cannot resolve {target!r}: {required}{why[0]}", OUTSIDE_HINT)
        if cause.parent is None:
            known = sorted(candidates)
            shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
            return UnknownComponent(
                f"no component named {name!r}",
                name,
                None,
                hint=f"known components: {shown}; `reef search` finds by text",
            )
        return UnknownComponent(
            f"cannot resolve {target!r}: {cause.parent} requires {name!r}, "
            "which is in no repository",
            name,
            str(cause.parent),
            hint=f"add the repository that holds {name!r} (`reef repo add`), or "
            "`reef repo update` if it was added there recently",
        )
    said = dict.fromkeys(
        f"{c.parent if c.parent is not None else 'the target'} requires {c.requirement}"
        for c in causes
    )
    names = dict.fromkeys(c.requirement.name for c in causes)
    available = "; ".join(_available(n, candidates) for n in names)
    return ResolutionError(
        f"cannot resolve {target!r}: {', '.join(said)}; available: {available}",
        hint="relax one of these constraints, or add a repository with a version that "
        "satisfies them all",
    )


def _check_cycles(root: Candidate, mapping: dict[str, Candidate]) -> None:
    """Raise DependencyCycle naming the first cycle a depth-first walk from ``root`` meets."""

    def children(c: Candidate) -> Iterator[str]:
        return iter(sorted({r.name for r in c.requirements() if r.name in mapping}))

    done: set[str] = set()
    stack: list[tuple[Candidate, Iterator[str]]] = [(root, children(root))]
    on_path = {root.name}
    # Iterative, so that a long chain of requirements cannot hit the recursion limit.
    while stack:
        node, rest = stack[-1]
        name = next(rest, None)
        if name is None:
            stack.pop()
            on_path.discard(node.name)
            done.add(node.name)
        elif name in on_path:
            start = next(i for i, (c, _) in enumerate(stack) if c.name == name)
            raise DependencyCycle([str(c) for c, _ in stack[start:]] + [str(mapping[name])])
        elif name not in done:
            on_path.add(name)
            stack.append((mapping[name], children(mapping[name])))


def _lock(target: str, root: str, mapping: dict[str, Candidate]) -> Lock:
    import reef
    from reef.meta.common import Source
    from reef.meta.load import read_yaml

    repos = {r.name: r for r in repositories()}
    locations = {name: r.location for name, r in repos.items()}
    components = []
    for name in sorted(mapping):
        candidate = mapping[name]
        entry = candidate.entry
        repo = repos.get(entry.repository)
        if repo is not None and repo.kind == "server":
            # Its files, not only its manifest, before it is hashed: the pack is downloaded
            # and checked here (see reef.components.remote).
            from reef.components.remote import materialise

            materialise(repo, entry.name, entry.version)
        # The index validated the manifest; only its sources are read again (the whole
        # schema of a model, every processing step, costs more than the rest of a resolve).
        data = read_yaml(entry.manifest_path)
        sources = [Source.model_validate(s) for s in data.get("sources") or []]
        pins = {f"{r.name}=={mapping[r.name].entry.version}" for r in candidate.requirements()}
        location = entry.root if entry.repository == LOCAL else locations.get(entry.repository)
        components.append(
            LockedComponent(
                kind=entry.kind,
                name=entry.name,
                version=entry.version,
                repository=entry.repository,
                repository_location=location or entry.root,
                path=Path(entry.path).as_posix(),
                sha256=content_sha256(entry.directory),
                sources=sources,
                requires=sorted(pins),
                python=list(entry.python),
            )
        )
    return Lock(
        target=target,
        root=root,
        components=components,
        python=merge_python(r for c in components for r in c.python),
        reef_version=reef.__version__,
    )


def merge_python(requirements: Iterable[str]) -> list[str]:
    """One requirement per package and marker: specifiers intersected, extras united; sorted."""
    merged: dict[tuple[str, str, str], tuple[set[str], SpecifierSet]] = {}
    for text in requirements:
        try:
            req = PythonRequirement(text)
        except InvalidRequirement as exc:
            raise ResolutionError(f"{text!r} is not a Python requirement: {exc}") from exc
        key = (canonicalize_name(req.name), str(req.marker or ""), req.url or "")
        extras, specifier = merged.get(key, (set(), SpecifierSet()))
        extras = extras | {canonicalize_name(e) for e in req.extras}
        merged[key] = (extras, specifier & req.specifier)
    out = []
    for (name, marker, url), (extras, specifier) in merged.items():
        text = name + (f"[{','.join(sorted(extras))}]" if extras else "")
        # PEP 508 needs a space between a URL and the ';' of its marker.
        text += f" @ {url}" if url else str(specifier)
        if marker:
            text += f" ; {marker}" if url else f"; {marker}"
        out.append(text)
    return sorted(out)
