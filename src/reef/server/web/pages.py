"""The dashboard's pages, rendered on the server: home, runs, a run, compare, Pareto,
scoreboards, components and submissions, and the login form.

Every page is a GET whose URL carries its filters (a view is shared as a link). Pages read
as the REST API reads: anonymously where the server allows anonymous reads, else with a
token, which the login form (a POST) keeps in an HttpOnly cookie; an ``Authorization:
Bearer`` header works too. Every value from a run, a component or a request is escaped
(``reef.server.web.markup``); pages carry a Content-Security-Policy allowing the server's own
script and style sheet only.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from reef import api
from reef.api import dashboard
from reef.api.analysis import METRICS
from reef.errors import AuthError, Forbidden, ReefError
from reef.meta.choices import RUN_STATUS, SCENARIO
from reef.server.web import assets, charts
from reef.server.web.markup import Safe, html, join, number, options, segment, url

COOKIE = "reef_token"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "private, no-cache",
}
FILE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-cache",
}
FILTERS = ("model", "version", "scenario", "backend", "status", "tag", "since", "until", "text")
SORTS = ("created_at", "p50", "p90", "p99", "throughput", "accuracy", "model", "scenario", "status")
PAGE_SIZES = (20, 50, 100, 200)
DEFAULT_OBJECTIVES = ("latency_p90:min", "throughput:max")
MAX_COMPARED = 5
NAV = (
    ("/", "Home"),
    ("/runs", "Runs"),
    ("/compare", "Compare"),
    ("/pareto", "Pareto"),
    ("/board", "Scoreboards"),
    ("/components", "Components"),
    ("/submissions", "Submissions"),
    ("/evaluate", "Evaluate"),
)
VERIFICATION = (
    "A run is verified when an independent rerun reproduced it: the same configuration on "
    "the same hardware, submitted with another token, judged by reef reproduce's rule. "
    "Every run here was also checked when it was received, its figures re-derived from the "
    "LoadGen logs it came with."
)


class _Page:
    """What a page handler gives back: its title, body and HTTP status."""

    def __init__(self, title: str, body: Safe, status: int = 200) -> None:
        self.title, self.body, self.status = title, body, status


# --- authentication ---------------------------------------------------------------------------

_BEARER = re.compile(r"Bearer\s+(\S+)\s*", re.IGNORECASE)


def _viewer(request: Request) -> api.TokenInfo | None:
    """Who reads the page: their token (from the cookie the login form set, or an
    Authorization header), None for an anonymous reader where the server allows them.
    Counts the request against the rate limit, as the REST API does."""
    state = request.app.state
    client = request.client.host if request.client else None
    limiter = state.limiter
    header = request.headers.get("authorization")
    secret: str | None = request.cookies.get(COOKIE)
    if header is not None:
        match = _BEARER.fullmatch(header)
        secret = match.group(1) if match else ""
    token = None
    if secret is None:
        limiter.take(f"address {client}", f"address {client}")
    else:
        try:
            token = api.token_authenticate(secret, db=state.db)
        except AuthError:
            limiter.take(f"address {client}", f"address {client}")
            raise
        limiter.take(f"token {token.id}", f"token {token.id}")
    api.token_require(token, "read", anonymous=state.settings.anonymous_reads)
    return token


def _same_origin(request: Request) -> bool:
    """Whether a form POST comes from this server's own pages (by its Origin header, where
    the browser sends one)."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")


def _local(target: str | None) -> str:
    """A path on this server to go to after logging in: ``/`` for anything else (another
    host, ``//host``, a backslash or a control character that a browser would read as one)."""
    if not target or len(target) > 2048 or not _LOCAL_PATH.fullmatch(target):
        return "/"
    return target


# --- the page around every body -----------------------------------------------------------------


def _layout(request: Request, page: _Page, viewer: api.TokenInfo | None) -> Safe:
    from reef import __version__

    here = request.url.path
    links = join(
        html(
            '<a href="{}"{}>{}</a>',
            path,
            Safe(' class="here"')
            if (here == path or (path != "/" and here.startswith(path)))
            else Safe(""),
            label,
        )
        for path, label in NAV
    )
    if viewer is not None:
        who = html(
            '<form method="post" action="/logout"><span>{}</span> '
            '<button type="submit">Log out</button></form>',
            f"token {viewer.id} ({viewer.scope})",
        )
    else:
        who = html('<a href="{}">Log in</a>', url("/login", {"next": _here(request)}))
    return html(
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title} · Reef</title>"
        '<link rel="icon" href="data:,">'
        '<link rel="stylesheet" href="/static/reef.css?v={css}">'
        '<script src="/static/reef.js?v={js}" defer></script>'
        "</head><body><header><nav>"
        '<a class="brand" href="/">Reef</a>{links}<span class="who">{who}</span>'
        "</nav></header><main>{body}</main>"
        '<footer>Reef {version} · <a href="/docs">REST API</a> · '
        '<a href="/api/v1/health">health</a></footer></body></html>',
        title=page.title,
        css=assets.CSS_VERSION,
        js=assets.JS_VERSION,
        links=links,
        who=who,
        body=page.body,
        version=__version__,
    )


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _respond(request: Request, build: Callable[[], _Page]) -> Response:
    """The page ``build`` makes, for a reader allowed to read; the login form for one who
    is not; an error page for a ``ReefError``."""
    from reef.server.app import http_status

    viewer = None
    try:
        viewer = _viewer(request)
        page = build()
    except (AuthError, Forbidden) as exc:
        page = _login_page(request, exc, _here(request))
        response = _html(request, page, None)
        if request.cookies.get(COOKIE) is not None and isinstance(exc, AuthError):
            response.delete_cookie(COOKIE, path="/")
        return response
    except ReefError as exc:
        page = _Page("Error", _error(exc), http_status(exc))
        response = _html(request, page, viewer)
        if exc.__class__.__name__ == "RateLimited":
            response.headers["Retry-After"] = str(getattr(exc, "retry_after", 1))
        return response
    return _html(request, page, viewer)


def _html(request: Request, page: _Page, viewer: api.TokenInfo | None) -> Response:
    return Response(
        _layout(request, page, viewer),
        status_code=page.status,
        media_type="text/html; charset=utf-8",
        headers=PAGE_HEADERS,
    )


def _error(exc: ReefError) -> Safe:
    hint = html("<p>{}</p>", exc.hint) if exc.hint else Safe("")
    return html('<div class="error"><p><strong>{}</strong></p>{}</div>', exc.message, hint)


def _login_page(request: Request, problem: ReefError | None, target: str) -> _Page:
    anonymous = request.app.state.settings.anonymous_reads
    told = _error(problem) if problem is not None else Safe("")
    why = (
        "This server lets anyone read; log in to read with a token of yours."
        if anonymous
        else "This server needs a token to read its pages."
    )
    body = html(
        '<div class="login"><h1>Log in</h1>{}<p>{} Paste a token '
        "(<code>reef token create --scope read</code> makes one); the browser keeps it in a "
        "cookie that scripts cannot read, until you log out.</p>"
        '<form method="post" action="/login"><p><label>Token<br>'
        '<input type="password" name="token" autocomplete="off" required></label></p>'
        '<input type="hidden" name="next" value="{}">'
        '<p><button type="submit">Log in</button></p></form></div>',
        told,
        why,
        _local(target),
    )
    status = 200 if problem is None else (403 if isinstance(problem, Forbidden) else 401)
    return _Page("Log in", body, status)


# --- shared pieces ------------------------------------------------------------------------------


def _when(moment: datetime | str | None) -> str:
    if moment is None:
        return "-"
    if isinstance(moment, str):
        return moment[:19].replace("T", " ")
    return f"{moment:%Y-%m-%d %H:%M}"


def _status(status: str) -> Safe:
    return html('<span class="status status-{}">{}</span>', status, status)


def _run_link(run_id: str, text: str | None = None) -> Safe:
    return html('<a class="mono" href="/runs/{}">{}</a>', segment(run_id), text or run_id[:12])


def _model(name: str, version: str | None) -> str:
    return f"{name}@{version}" if version else name


def _tags(tags: Iterable[str]) -> Safe:
    return join(html('<span class="tag">{}</span>', t) for t in tags)


def _filter_values(request: Request, without: tuple[str, ...] = ()) -> dict[str, str]:
    query = request.query_params
    return {n: query.get(n, "").strip() for n in FILTERS if n not in without}


def _run_filter(values: Mapping[str, str]) -> api.RunFilter:
    return api.RunFilter().merged(**{k: (v or None) for k, v in values.items()})


def _select(name: str, label: str, values: Iterable[str], chosen: str, any_label: str) -> Safe:
    listed = list(values)
    if chosen and chosen not in listed:
        listed.append(chosen)
    return html(
        '<label>{}<select name="{}">{}</select></label>',
        label,
        name,
        options([("", any_label), *((v, v) for v in listed)], chosen),
    )


def _text(name: str, label: str, value: str, placeholder: str = "") -> Safe:
    return html(
        '<label>{}<input type="text" name="{}" value="{}" placeholder="{}"></label>',
        label,
        name,
        value,
        placeholder,
    )


def _filter_fields(values: Mapping[str, str], choices: Mapping[str, list[str]]) -> Safe:
    fields: list[Safe] = []
    for name in FILTERS:
        if name not in values:
            continue
        value = values[name]
        if name == "model":
            fields.append(_select(name, "model", choices["models"], value, "any"))
        elif name == "scenario":
            fields.append(_select(name, "scenario", SCENARIO.values, value, "any"))
        elif name == "backend":
            fields.append(_select(name, "backend", choices["backends"], value, "any"))
        elif name == "status":
            fields.append(_select(name, "status", RUN_STATUS.values, value, "any"))
        elif name == "tag":
            fields.append(_select(name, "solution or tag", choices["tags"], value, "any"))
        elif name == "version":
            fields.append(_text(name, "version", value, "1.2 or >=1.2,<2"))
        elif name == "since":
            fields.append(_text(name, "since", value, "7d or 2025-03-01"))
        elif name == "until":
            fields.append(_text(name, "until", value, "a date or age"))
        else:
            fields.append(
                html(
                    '<label>text<input type="search" name="text" value="{}" '
                    'placeholder="words in the run"></label>',
                    value,
                )
            )
    return join(fields)


def _filters_form(
    action: str,
    values: Mapping[str, str],
    choices: Mapping[str, list[str]],
    extra: Safe = Safe(""),
) -> Safe:
    return html(
        '<form class="filters" method="get" action="{}">{}{}'
        '<button type="submit">Apply</button> <a href="{}">clear</a></form>',
        action,
        extra,
        _filter_fields(values, choices),
        action,
    )


def _try(build: Callable[[], Safe]) -> Safe:
    """A section of a page; a ``ReefError`` (no runs, a bad filter) is said in its place."""
    try:
        return build()
    except ReefError as exc:
        return _error(exc)


NO_RUNS = html('<p class="note">{}</p>', "No runs stored yet: `reef submit` sends some.")


def _analysis_status(exc: ReefError) -> int:
    """The status of a page whose analysis failed: 200 where the filters selected no run
    (an empty result, said on the page), else the error's own."""
    from reef.server.app import http_status

    return 200 if type(exc).__name__ == "NoRunsMatch" else http_status(exc)


def _db(request: Request) -> api.ServerDatabase:
    db: api.ServerDatabase = request.app.state.db
    return db


def _files_root(request: Request) -> Path | None:
    root = getattr(request.app.state.settings, "files_root", None)
    return Path(root) if root is not None else None


def _registry_root(request: Request) -> Path | None:
    root = getattr(request.app.state, "registry_root", None)
    return Path(root) if root is not None else None


# --- runs tables --------------------------------------------------------------------------------

_COLUMNS = (
    # heading, sort field (None: not sortable), numeric
    ("run", None, False),
    ("created", "created_at", False),
    ("model", "model", False),
    ("scenario", "scenario", False),
    ("backend", None, False),
    ("status", "status", False),
    ("p50 ms", "p50", True),
    ("p90 ms", "p90", True),
    ("p99 ms", "p99", True),
    ("samples/s", "throughput", True),
    ("accuracy", "accuracy", True),
    ("hardware", None, False),
    ("tags", None, False),
)


def _runs_table(
    rows: list[dashboard.RunRow],
    *,
    sort: str | None = None,
    params: Mapping[str, Any] | None = None,
    select: bool = False,
) -> Safe:
    if not rows:
        return html('<p class="muted">{}</p>', "No runs.")
    heads: list[Safe] = [Safe("<th></th>")] if select else []
    for heading, field, numeric in _COLUMNS:
        cls = Safe(' class="num"') if numeric else Safe("")
        if field is None or sort is None or params is None:
            heads.append(html("<th{}>{}</th>", cls, heading))
            continue
        current = sort.lstrip("-")
        if current == field:
            flipped = field if sort.startswith("-") else f"-{field}"
            arrow = " ▼" if sort.startswith("-") else " ▲"
        else:
            flipped = f"-{field}" if numeric or field == "created_at" else field
            arrow = ""
        link = url("/runs", {**params, "sort": flipped, "cursor": None})
        heads.append(html('<th{}><a href="{}">{}{}</a></th>', cls, link, heading, arrow))
    body = []
    for r in rows:
        accuracy = (
            f"{r.accuracy_metric} {number(r.accuracy_value)}"
            if r.accuracy_value is not None
            else "-"
        )
        check = (
            html(
                '<td><input type="checkbox" name="run" value="{}" form="compare" '
                'aria-label="compare {}"></td>',
                r.id,
                r.id[:12],
            )
            if select
            else Safe("")
        )
        body.append(
            html(
                '<tr data-run="{id}">{check}<td class="id">{link}</td>'
                '<td class="when">{created}</td>'
                "<td>{model}</td><td>{scenario}</td><td>{backend}</td><td>{status}</td>"
                '<td class="num">{p50}</td><td class="num">{p90}</td><td class="num">{p99}</td>'
                '<td class="num">{qps}</td><td class="num">{acc}</td><td>{hw}</td>'
                "<td>{tags}</td></tr>",
                id=r.id,
                check=check,
                link=_run_link(r.id),
                created=_when(r.created_at),
                model=_model(r.model, r.version),
                scenario=r.scenario,
                backend=r.backend or "-",
                status=_status(r.status),
                p50=number(r.p50_ms),
                p90=number(r.p90_ms),
                p99=number(r.p99_ms),
                qps=number(r.throughput_qps),
                acc=accuracy,
                hw=r.hardware or "-",
                tags=_tags(r.tags),
            )
        )
    return html(
        '<div class="table-wrap"><table class="runs"><thead><tr>{}</tr></thead>'
        "<tbody>{}</tbody></table></div>",
        join(heads),
        join(body),
    )


# --- the pages ----------------------------------------------------------------------------------


def _home(request: Request) -> _Page:
    db = _db(request)
    recent = dashboard.dashboard_runs(limit=10, db=db)
    solutions = dashboard.dashboard_solutions(db)
    boards: list[Safe] = []
    groups: list[tuple[str, str | None]] = [(f"solution {s}", s) for s in solutions[:8]]
    if not groups:
        groups = [("all runs", None)]
    for heading, tag in groups:
        boards.append(
            html(
                '<section class="board"><h3>{}</h3>{}<p><a href="{}">the full board</a></p>'
                "</section>",
                heading,
                _try(functools.partial(_board_tables, request, tag, limit=12)),
                url("/board", {"tag": tag}),
            )
        )
    more = (
        html('<p class="muted">{} more solutions: see the scoreboards.</p>', len(solutions) - 8)
        if len(solutions) > 8
        else Safe("")
    )
    body = html(
        "<h1>Reef results</h1><p>{total} runs stored. "
        '<a href="/runs">All runs</a> · <a href="/board">scoreboards</a> · '
        '<a href="/pareto">Pareto frontier</a></p>'
        "<h2>Recent runs</h2>{recent}"
        "<h2>Boards per solution and hardware</h2>"
        '<p class="muted">The best valid run per model, scenario and hardware, ranked by '
        "MLPerf's metric of each scenario.</p>{boards}{more}",
        total=f"{recent.total:,}",
        recent=_runs_table(recent.runs),
        boards=join(boards),
        more=more,
    )
    return _Page("Home", body)


def _runs(request: Request) -> _Page:
    db = _db(request)
    query = request.query_params
    values = _filter_values(request)
    sort = query.get("sort", "-created_at") or "-created_at"
    try:
        limit = int(query.get("limit", "50"))
    except ValueError:
        limit = 50
    limit = limit if limit in PAGE_SIZES else 50
    cursor = query.get("cursor") or None
    choices = dashboard.dashboard_choices(db)
    params: dict[str, Any] = {**values, "sort": None if sort == "-created_at" else sort}
    params["limit"] = None if limit == 50 else limit
    sort_options = [(f"-{s}", f"{s} ▼") for s in SORTS] + [(s, f"{s} ▲") for s in SORTS]
    extra = html(
        '<label>sort<select name="sort">{}</select></label>'
        '<label>per page<select name="limit">{}</select></label>',
        options(sort_options, sort),
        options([(str(n), str(n)) for n in PAGE_SIZES], str(limit)),
    )
    form = _filters_form("/runs", values, choices, extra)
    status = 200
    try:
        page = dashboard.dashboard_runs(
            _run_filter(values), sort=sort, limit=limit, cursor=cursor, db=db
        )
    except ReefError as exc:
        from reef.server.app import http_status

        body = html("<h1>Runs</h1>{}{}", form, _error(exc))
        return _Page("Runs", body, http_status(exc))
    pager: list[Safe] = []
    if cursor:
        pager.append(html('<a href="{}">⇤ first page</a>', url("/runs", params)))
    if page.next_cursor:
        pager.append(
            html(
                '<a rel="next" href="{}">next page →</a>',
                url("/runs", {**params, "cursor": page.next_cursor}),
            )
        )
    shown = f"{page.total:,} runs match" if page.total != 1 else "1 run matches"
    body = html(
        "<h1>Runs</h1>{form}"
        '<form id="compare" method="get" action="/compare"></form>'
        '<div class="pager"><span class="count">{shown}</span>'
        '<button type="submit" form="compare">Compare runs</button>{pager}</div>'
        "{table}"
        '<div class="pager">{pager}</div>',
        form=form,
        shown=shown,
        pager=join(pager, " "),
        table=_runs_table(page.runs, sort=sort, params=params, select=True),
    )
    return _Page("Runs", body, status)


def _flatten(data: Any, prefix: str = "", limit: int = 400) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []

    def walk(value: Any, at: str) -> None:
        if len(rows) >= limit:
            return
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(inner, f"{at}.{key}" if at else str(key))
        elif isinstance(value, list) and value and any(isinstance(v, dict | list) for v in value):
            for i, inner in enumerate(value):
                walk(inner, f"{at}[{i}]")
        else:
            if isinstance(value, list):
                shown = ", ".join(str(v) for v in value)
            elif value is None:
                shown = "-"
            else:
                shown = str(value)
            rows.append((at, shown))

    walk(data, prefix)
    return rows


def _facts(rows: Iterable[tuple[str, object]]) -> Safe:
    return html(
        '<dl class="facts">{}</dl>',
        join(html("<dt>{}</dt><dd>{}</dd>", k, v) for k, v in rows),
    )


def _run(request: Request, run_id: str) -> _Page:
    db = _db(request)
    record = api.server_run(run_id, db=db)
    files = dashboard.dashboard_run_files(record, files_root=_files_root(request))
    t = record.target
    title = f"{_model(t.name, t.version)} {record.scenario}"
    extra_tags = (t.model_extra or {}).get("tags")
    tags = [str(x) for x in extra_tags] if isinstance(extra_tags, list) else []
    head = html(
        '<h1>Run <span class="mono">{}</span></h1><p>{} · {} · {} · recorded {} UTC{}</p>',
        record.id,
        _model(t.name, t.version),
        record.scenario,
        _status(record.status),
        _when(record.created_at),
        html(" · tags {}", _tags(tags)) if tags else Safe(""),
    )
    # The verdict
    lg = record.loadgen
    verdict: list[Safe] = []
    if lg is not None:
        verdict.append(
            html(
                '<p>LoadGen {}: <strong class="{}">{}</strong></p>',
                lg.version,
                lg.result or "",
                lg.result or "no result",
            )
        )
    reasons = list(record.reasons)
    if reasons:
        verdict.append(html("<ul>{}</ul>", join(html("<li>{}</li>", r) for r in reasons)))
    if lg is not None:
        for label, items in (("errors", lg.errors), ("warnings", lg.warnings)):
            if items:
                verdict.append(
                    html(
                        "<p>{}</p><ul>{}</ul>",
                        f"LoadGen {label}:",
                        join(html("<li>{}</li>", i) for i in items),
                    )
                )
        if lg.effective:
            verdict.append(
                html(
                    "<details><summary>LoadGen's effective settings</summary>{}</details>",
                    _facts(_flatten(lg.effective)),
                )
            )
    # Figures
    figures: list[tuple[str, object]] = []
    perf = record.performance
    if perf is not None:
        lat = perf.latency_ms
        for name in ("min", "mean", "p50", "p90", "p95", "p99", "max"):
            figures.append((f"latency {name} (ms)", number(getattr(lat, name, None))))
        figures += [
            ("throughput (samples/s)", number(perf.throughput_qps)),
            ("queries", f"{perf.queries:,}"),
            ("samples", f"{perf.samples:,}"),
            ("duration (s)", number(perf.duration_s)),
        ]
        if perf.early_stopping:
            figures.append(("early stopping", "; ".join(perf.early_stopping)))
    acc = record.accuracy
    if acc is not None:
        if acc.value is None:
            figures.append(("accuracy", acc.note or "not measured"))
        else:
            passed = "" if acc.passed is None else (" pass" if acc.passed else " FAIL")
            figures.append(
                (
                    f"accuracy ({acc.metric})",
                    f"{number(acc.value)} (reference {number(acc.reference)}, threshold "
                    f"{number(acc.threshold)}){passed}",
                )
            )
    # Latencies
    dist = dashboard.dashboard_latencies(record.id, db=db)
    if dist is None:
        charts_html = html('<p class="muted">{}</p>', "This run kept no raw latencies.")
    else:
        marks: dict[str, float] = {
            k: dist.percentiles[k] for k in ("p50", "p90", "p99") if k in dist.percentiles
        }
        charts_html = html(
            '<div class="grid2"><figure>{}<figcaption>CDF of {} raw latencies</figcaption>'
            "</figure><figure>{}<figcaption>{}</figcaption></figure></div>",
            charts.cdf(dist.cdf, marks, dist.count),
            f"{dist.count:,}",
            charts.histogram(dist.edges, dist.counts),
            f"Histogram up to the 99.5th percentile ({number(dist.edges[-1])} ms); "
            f"{dist.above:,} slower queries not drawn"
            if dist.above
            else "Histogram",
        )
    # Settings, predictor, components, environment
    settings = _flatten(record.settings.model_dump(mode="json"))
    predictor = (
        _facts(
            [
                ("backend", f"{record.predictor.name} {record.predictor.version}"),
                ("providers", ", ".join(record.predictor.providers) or "-"),
                *_flatten(record.predictor.options, "options"),
            ]
        )
        if record.predictor
        else html('<p class="muted">{}</p>', "no predictor recorded")
    )
    components = (
        html(
            "<table><tr><th>kind</th><th>name</th><th>version</th></tr>{}</table>",
            join(
                html(
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    c.kind,
                    c.name,
                    c.version or "-",
                )
                for c in record.components
            ),
        )
        if record.components
        else Safe("")
    )
    environment = _flatten(record.environment)
    fingerprint = str(record.environment.get("hash", "-"))[:12]
    solution = (
        _facts(_flatten(record.solution.model_dump(mode="json"))) if record.solution else Safe("")
    )
    # Files
    if files.files:
        listed = join(
            html(
                '<li><a href="/runs/{}/files/{}" download>{}</a> '
                '<span class="muted">{}</span></li>',
                segment(record.id),
                "/".join(segment(p) for p in f.path.split("/")),
                f.path,
                f"{f.size:,} bytes",
            )
            for f in files.files
        )
        logs = html("<ul>{}</ul>", listed)
        if files.submitter or files.received_at:
            logs = html(
                "<p>Submitted by {} at {}. Verification: {}.</p>{}",
                files.submitter or "an unknown submitter",
                _when(files.received_at),
                _verification(api.server_submission(record.id, db=db)),
                logs,
            )
    else:
        logs = html('<p class="muted">{}</p>', "The server keeps no files with this run.")
    if files.trace:
        trace = html(
            '<p><a href="/runs/{}/files/{}" download>Download the trace</a> and open it in '
            '<a href="https://ui.perfetto.dev" rel="noopener noreferrer">Perfetto</a> '
            "(Open trace file).</p>",
            segment(record.id),
            "/".join(segment(p) for p in files.trace.split("/")),
        )
    elif record.trace is not None:
        trace = html(
            '<p class="muted">{}</p>',
            f"The run was traced ({record.trace.level}, {record.trace.events:,} events), but "
            "the server does not keep its trace file: submitted bundles leave traces out.",
        )
    else:
        trace = html('<p class="muted">{}</p>', "The run was not traced.")
    body = html(
        "{head}"
        '<p><a href="{others}">other runs of this model and scenario</a> · '
        '<a href="{compare}">compare it with others</a> · '
        '<a href="/api/v1/runs/{id}">the record as JSON</a></p>'
        "<h2>Verdict</h2>{verdict}"
        "<h2>Figures</h2>{figures}"
        "<h2>Latency distribution</h2>{charts}"
        '<div class="grid2"><section><h2>Settings</h2>{settings}</section>'
        "<section><h2>Predictor</h2>{predictor}{components}{solution}</section></div>"
        "<h2>Environment</h2><details open><summary>{env_count}</summary>{environment}</details>"
        "<h2>LoadGen's logs</h2>{logs}"
        "<h2>Trace</h2>{trace}",
        head=head,
        others=url("/runs", {"model": t.name, "scenario": record.scenario}),
        compare=url("/compare", {"run": record.id}),
        id=segment(record.id),
        verdict=join(verdict) or html('<p class="muted">{}</p>', "no LoadGen verdict"),
        figures=_facts(figures) if figures else html('<p class="muted">{}</p>', "no figures"),
        charts=charts_html,
        settings=_facts(settings),
        predictor=predictor,
        components=components,
        solution=solution,
        env_count=f"{len(environment)} facts, fingerprint {fingerprint}",
        environment=_facts(environment),
        logs=logs,
        trace=trace,
    )
    return _Page(title, body)


def _compare(request: Request) -> _Page:
    db = _db(request)
    query = request.query_params
    refs = [r.strip() for r in query.getlist("run") if r.strip()]
    metric = query.get("metric", "p50") or "p50"
    inputs = [refs[i] if i < len(refs) else "" for i in range(max(MAX_COMPARED, len(refs)))]
    form = html(
        '<form class="filters" method="get" action="/compare">{}'
        '<label>metric<select name="metric">{}</select></label>'
        '<button type="submit">Compare</button></form>',
        join(
            html(
                '<label>{}<input type="text" name="run" value="{}" placeholder="run id"></label>',
                "baseline" if i == 0 else f"run {chr(65 + i)}",
                value,
            )
            for i, value in enumerate(inputs)
        ),
        options([(m, m) for m in ("p50", "p90", "p95", "p99", "mean", "min", "max")], metric),
    )
    if len(refs) < 2:
        note = html(
            '<p class="note">{}</p>',
            "Give 2 to 5 runs (ids or unique prefixes; the first is the baseline), or tick "
            "them in the runs table.",
        )
        return _Page("Compare", html("<h1>Compare runs</h1>{}{}", form, note))
    if len(refs) > MAX_COMPARED:
        note = html('<div class="error">{}</div>', f"At most {MAX_COMPARED} runs at once.")
        return _Page("Compare", html("<h1>Compare runs</h1>{}{}", form, note), 422)
    try:
        result = api.server_compare(refs, metric=metric, db=db)
    except ReefError as exc:
        from reef.server.app import http_status

        return _Page(
            "Compare", html("<h1>Compare runs</h1>{}{}", form, _error(exc)), http_status(exc)
        )
    return _Page("Compare", html("<h1>Compare runs</h1>{}{}", form, _comparison(result)))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, float):
        return number(value)
    return str(value)


def _comparison(c: Any) -> Safe:
    runs = c.runs
    heads = join(
        html(
            "<th>{}{}<br>{}</th>",
            r.label,
            " (baseline)" if i == c.baseline else "",
            _run_link(r.id),
        )
        for i, r in enumerate(runs)
    )
    rows: list[Safe] = [
        html("<tr><th>model</th>{}</tr>", join(html("<td>{}</td>", r.model) for r in runs)),
        html("<tr><th>scenario</th>{}</tr>", join(html("<td>{}</td>", r.scenario) for r in runs)),
        html(
            "<tr><th>recorded</th>{}</tr>",
            join(html("<td>{}</td>", _when(r.created_at)) for r in runs),
        ),
        html(
            "<tr><th>status</th>{}</tr>", join(html("<td>{}</td>", _status(r.status)) for r in runs)
        ),
        html(
            "<tr><th>raw latencies</th>{}</tr>",
            join(
                html("<td>{}</td>", "none" if r.raw_latencies is None else f"{r.raw_latencies:,}")
                for r in runs
            ),
        ),
    ]
    for s in c.settings:
        rows.append(
            html(
                '<tr class="{}"><th>{}</th>{}</tr>',
                "differs" if s.differs else "",
                s.name + (" *" if s.differs else ""),
                join(html("<td>{}</td>", _cell(v)) for v in s.values),
            )
        )
    for m in c.metrics:
        cells = []
        for i, (value, ratio) in enumerate(zip(m.values, m.ratios, strict=True)):
            text = number(value)
            if i != c.baseline and ratio is not None:
                text += f" ({ratio:.2f}x)"
            cells.append(html('<td class="num">{}</td>', text))
        rows.append(
            html(
                '<tr><th>{} <span class="muted">{}, {} is better</span></th>{}</tr>',
                m.name,
                m.unit,
                m.better,
                join(cells),
            )
        )
    by_label = {v.label: v for v in c.versus}
    env_cells = []
    for i, r in enumerate(runs):
        if i == c.baseline:
            env_cells.append(Safe("<td>-</td>"))
            continue
        brief = by_label[r.label].environment
        if brief.identical:
            env_cells.append(Safe("<td>identical</td>"))
            continue
        lines = [
            f"{name} {group.count}: {', '.join(group.keys)}"
            + (", …" if group.count > len(group.keys) else "")
            for name, group in brief.groups.items()
        ]
        env_cells.append(html("<td>{}</td>", join(html("{}<br>", ln) for ln in lines)))
    rows.append(
        html("<tr><th>environment vs {}</th>{}</tr>", runs[c.baseline].label, join(env_cells))
    )
    verdicts = []
    base = runs[c.baseline].label
    for v in c.versus:
        d = v.decision
        verdicts.append(
            html(
                '<div class="versus"><p><strong>{} vs {}</strong>: '
                '<strong class="verdict verdict-{}">{}</strong></p>'
                '<p class="muted">{}</p>{}{}{}</div>',
                v.label,
                base,
                d.verdict,
                d.sentence,
                d.detail,
                html("<ul>{}</ul>", join(html("<li>{}</li>", x) for x in d.causes))
                if d.causes
                else Safe(""),
                html("<p>What to do: {}</p>", d.advice) if d.advice else Safe(""),
                join(html('<p class="muted">note: {}</p>', x) for x in d.caveats),
            )
        )
    warnings = join(html('<p class="warning">warning: {}</p>', w) for w in c.warnings)
    return html(
        "<h2>Verdicts</h2>{}{}<h2>Side by side</h2>"
        '<div class="table-wrap"><table class="compare"><thead><tr><th></th>{}</tr></thead>'
        "<tbody>{}</tbody></table></div>"
        '<p class="muted">* the setting differs between the runs</p>',
        join(verdicts),
        warnings,
        heads,
        join(rows),
    )


def _objective_options() -> list[tuple[str, str]]:
    found = []
    for name, metric in METRICS.items():
        unit = f" ({metric.unit})" if metric.unit else ""
        for direction in ("min", "max"):
            found.append((f"{name}:{direction}", f"{name}{unit} {direction}"))
    return found


def _pareto(request: Request) -> _Page:
    db = _db(request)
    query = request.query_params
    given = [o.strip() for o in query.getlist("objective") if o.strip()]
    chosen = given or list(DEFAULT_OBJECTIVES)
    values = _filter_values(request)
    choices = dashboard.dashboard_choices(db)
    known = _objective_options()
    selects = []
    for i in range(3):
        value = chosen[i] if i < len(chosen) else ""
        listed = known if not value or value in dict(known) else [*known, (value, value)]
        selects.append(
            html(
                '<label>{}<select name="objective">{}</select></label>',
                ("x axis", "y axis", "third objective (optional)")[i],
                options(([("", "none")] if i == 2 else []) + listed, value),
            )
        )
    form = _filters_form("/pareto", values, choices, join(selects))
    if not choices["models"]:
        return _Page("Pareto", html("<h1>Pareto frontier</h1>{}{}", form, NO_RUNS))
    try:
        result = api.server_pareto(chosen, run_filter=_run_filter(values), db=db)
    except ReefError as exc:
        body = html("<h1>Pareto frontier</h1>{}{}", form, _error(exc))
        return _Page("Pareto", body, _analysis_status(exc))
    names = [
        f"{o.name} ({o.direction}{', ' + o.unit if o.unit else ''})" for o in result.objectives
    ]

    short = [n.split(" ")[0] for n in names]

    def caption(run_id: str, *values: float) -> str:
        shown = ", ".join(f"{n} {number(v)}" for n, v in zip(short, values, strict=False))
        return f"{run_id[:12]}: {shown}"

    front = [
        charts.Point(
            r.id, r.values[0], r.values[1], f"{r.model} {r.scenario} " + caption(r.id, *r.values)
        )
        for r in result.frontier
    ]
    dominated = result.dominated
    scatter = charts.scatter(front, dominated, caption, names[0], names[1])
    heads = join(html('<th class="num">{}</th>', n) for n in names)
    frontier_rows = join(
        html(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            _run_link(r.id),
            r.model,
            r.scenario,
            r.backend or "-",
            _status(r.status),
            join(html('<td class="num">{}</td>', number(v)) for v in r.values),
        )
        for r in result.frontier
    )
    shown_dominated = result.dominated[:20]
    dominated_rows = join(
        html(
            "<tr><td>{}</td>{}<td>{}</td></tr>",
            _run_link(d.id),
            join(html('<td class="num">{}</td>', number(v)) for v in d.values),
            join((_run_link(i) for i in d.dominated_by), ", "),
        )
        for d in shown_dominated
    )
    dense = (
        html(
            '<p class="muted">{}</p>',
            f"{len(dominated):,} dominated runs are drawn as their density (grey squares, "
            f"darker where more); the frontier's points open their runs.",
        )
        if len(dominated) > charts.MAX_POINTS
        else html('<p class="muted">{}</p>', "Click a point to open its run.")
    )
    body = html(
        "<h1>Pareto frontier</h1>{form}"
        "<p>{count}</p>{warnings}<figure>{scatter}</figure>{dense}"
        '<h2>Frontier</h2><div class="table-wrap"><table><thead><tr><th>run</th><th>model</th>'
        "<th>scenario</th><th>backend</th><th>status</th>{heads}</tr></thead>"
        "<tbody>{frontier}</tbody></table></div>"
        '<h2>Dominated runs</h2><p class="muted">{dominated_note}</p>'
        '<div class="table-wrap"><table><thead><tr><th>run</th>{heads}<th>dominated by</th>'
        "</tr></thead><tbody>{dominated}</tbody></table></div>",
        form=form,
        count=f"{len(result.frontier):,} runs on the frontier of {result.considered:,} "
        f"({result.selected:,} selected).",
        warnings=join(html('<p class="warning">warning: {}</p>', w) for w in result.warnings),
        scatter=scatter,
        dense=dense,
        heads=heads,
        frontier=frontier_rows,
        dominated_note=f"{len(result.dominated):,} runs; the first {len(shown_dominated)} "
        "in the frontier's order.",
        dominated=dominated_rows,
    )
    return _Page("Pareto", body)


def _board_tables(
    request: Request,
    tag: str | None = None,
    *,
    metric: str = "auto",
    values: Mapping[str, str] | None = None,
    hardware: str | None = None,
    limit: int | None = None,
    verified: bool = False,
) -> Safe:
    db = _db(request)
    wanted = dict(values or {})
    if tag is not None:
        wanted["tag"] = tag
    run_filter = _run_filter(wanted)
    if verified:
        run_filter = run_filter.merged(verified=True)
    board = api.server_board(metric, run_filter=run_filter, hardware=hardware or None, db=db)
    single = board.metric != "auto"
    by_hardware: dict[str, list[Any]] = {}
    for row in board.rows:
        by_hardware.setdefault(row.hardware, []).append(row)
    sections = []
    shown = 0
    for label, rows in by_hardware.items():
        if limit is not None and shown >= limit:
            break
        if limit is not None:
            rows = rows[: limit - shown]
        shown += len(rows)
        body = join(
            html(
                '<tr><td>{}</td><td>{}</td><td class="num">{}</td><td class="num">{}</td>'
                '<td class="num">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
                row.model,
                row.scenario,
                ("" if single else row.metric.removeprefix("latency_") + " ")
                + number(row.value)
                + (f" {row.unit}" if row.unit else ""),
                number(row.median) + (f" {row.unit}" if row.unit else ""),
                row.runs,
                _run_link(row.run_id),
                row.version or "-",
                row.backend or "-",
                _when(row.created_at)[:10],
            )
            for row in rows
        )
        sections.append(
            html(
                '<h3>{}</h3><div class="table-wrap"><table><thead><tr><th>model</th>'
                '<th>scenario</th><th class="num">best</th><th class="num">median</th>'
                '<th class="num">runs</th><th>run</th><th>version</th><th>backend</th>'
                "<th>date</th></tr></thead><tbody>{}</tbody></table></div>",
                label,
                body,
            )
        )
    warnings = join(html('<p class="warning">warning: {}</p>', w) for w in board.warnings)
    title = board.metric if single else "the MLPerf metric of each scenario"
    return html(
        '<p class="muted">{}</p>{}{}',
        f"Ranked by {title}: {board.considered:,} valid runs, {len(board.rows):,} groups.",
        warnings,
        join(sections),
    )


def _board(request: Request) -> _Page:
    db = _db(request)
    query = request.query_params
    values = _filter_values(request, without=("status",))
    metric = query.get("metric", "auto") or "auto"
    hardware = query.get("hardware", "").strip()
    verified = query.get("verified") == "1"
    choices = dashboard.dashboard_choices(db)
    metrics = [("auto", "auto (MLPerf's per scenario)")] + [(m, m) for m in METRICS]
    if metric not in dict(metrics):
        metrics.append((metric, metric))
    extra = html(
        '<label>metric<select name="metric">{}</select></label>{}'
        '<label class="check"><input type="checkbox" name="verified" value="1"{}> '
        "verified runs only</label>",
        options(metrics, metric),
        _select("hardware", "hardware", choices["hardware"], hardware, "any"),
        Safe(" checked") if verified else Safe(""),
    )
    form = _filters_form("/board", values, choices, extra)
    note = html('<p class="note">{}</p>', VERIFICATION)
    status = 200
    try:
        if choices["models"]:
            tables = _board_tables(
                request, metric=metric, values=values, hardware=hardware, verified=verified
            )
        else:
            tables = NO_RUNS
    except ReefError as exc:
        tables, status = _error(exc), _analysis_status(exc)
    body = html(
        "<h1>Scoreboards</h1><p>The best valid run per model, scenario and hardware; pick a "
        "solution (or tag) for its board.</p>{}{}{}",
        form,
        note,
        tables,
    )
    return _Page("Scoreboards", body, status)


COMPONENTS_PAGE = 50  # versions a page of /components


def _components(request: Request) -> _Page:
    query = request.query_params
    text = query.get("q", "").strip()
    kind = query.get("kind", "").strip()
    yanked = query.get("yanked") == "1"
    cursor = query.get("cursor") or None
    page = api.registry_page(
        text or None,
        kind=kind or None,
        yanked=yanked,
        limit=COMPONENTS_PAGE,
        cursor=cursor,
        root=_registry_root(request),
    )
    hits = page.components
    kinds = ["model", "dataset", "solution", "program", "package", "env"]
    form = html(
        '<form class="filters" method="get" action="/components">'
        '<label>text<input type="search" name="q" value="{}" placeholder="name, description, '
        'tags"></label>{}<label class="check"><input type="checkbox" name="yanked" value="1"{}>'
        ' yanked too</label><button type="submit">Search</button> '
        '<a href="/components">clear</a></form>',
        text,
        _select("kind", "kind", kinds, kind, "any"),
        Safe(" checked") if yanked else Safe(""),
    )
    rows = join(
        html(
            '<tr><td><a href="/components/{}">{}</a></td><td><a href="/components/{}/{}">{}</a>'
            "{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            '<td><a href="/components/{}/{}/pack" download>pack</a> '
            '<span class="muted">{}</span></td></tr>',
            segment(h.name),
            h.name,
            segment(h.name),
            segment(h.version),
            h.version,
            " (yanked)" if h.yanked else "",
            h.kind,
            h.description,
            _tags(h.tags),
            _when(h.published_at),
            h.publisher,
            segment(h.name),
            segment(h.version),
            f"{h.size:,} bytes",
        )
        for h in hits
    )
    table = (
        html(
            "<table><thead><tr><th>name</th><th>version</th><th>kind</th><th>description</th>"
            "<th>tags</th><th>published</th><th>by</th><th>download</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )
        if hits
        else html('<p class="muted">{}</p>', "No published component matches.")
    )
    kept = {"q": text, "kind": kind, "yanked": "1" if yanked else ""}
    pages = join(
        [
            html('<a href="{}">First page</a>', url("/components", kept)) if cursor else Safe(""),
            html(
                '<a rel="next" href="{}">Next page</a>',
                url("/components", kept | {"cursor": page.next_cursor}),
            )
            if page.next_cursor
            else Safe(""),
        ],
        " ",
    )
    body = html(
        "<h1>Components</h1><p>The server's component registry (<code>reef publish</code> "
        'adds to it).</p>{}{}<p class="pages">{}</p>',
        form,
        table,
        pages,
    )
    return _Page("Components", body)


def _runs_of(request: Request, name: str, version: str, limit: int = 20) -> Safe:
    """The runs whose target is this component version, and a link to all of them."""
    link = url("/runs", {"model": name, "version": version})
    try:
        page = dashboard.dashboard_runs(
            api.RunFilter(model=name, version=version), limit=limit, db=_db(request)
        )
    except ReefError:
        # A version that is not PEP 440 cannot be a run filter: runs of the name, then.
        page = dashboard.dashboard_runs(api.RunFilter(model=name), limit=limit, db=_db(request))
        page = page.model_copy(update={"runs": [r for r in page.runs if r.version == version]})
        link = url("/runs", {"model": name})
    return html(
        '<p>{} runs used it. <a href="{}">All of them</a></p>{}',
        f"{page.total:,}",
        link,
        _runs_table(page.runs),
    )


def _component(request: Request, name: str) -> _Page:
    entries = api.registry_versions(name, root=_registry_root(request))
    db = _db(request)
    rows = []
    for e in reversed(entries):
        try:
            count = dashboard.dashboard_runs(
                api.RunFilter(model=name, version=e.version), limit=1, db=db
            ).total
            runs = html(
                '<a href="{}">{}</a>',
                url("/runs", {"model": name, "version": e.version}),
                f"{count:,}",
            )
        except ReefError:
            runs = html("{}", "-")
        rows.append(
            html(
                '<tr><td><a href="/components/{}/{}">{}</a></td><td>{}</td><td>{}</td>'
                '<td>{}</td><td class="num">{}</td>'
                '<td><a href="/components/{}/{}/pack" download>pack</a></td></tr>',
                segment(name),
                segment(e.version),
                e.version,
                "yanked " + _when(e.yanked_at) if e.yanked else "",
                _when(e.published_at),
                e.publisher,
                runs,
                segment(name),
                segment(e.version),
            )
        )
    kind = entries[-1].kind if entries else ""
    body = html(
        '<h1>{} <span class="muted">{}</span></h1><p>{}</p>'
        "<table><thead><tr><th>version</th><th></th><th>published</th><th>by</th>"
        '<th class="num">runs</th><th>download</th></tr></thead><tbody>{}</tbody></table>',
        name,
        kind,
        entries[-1].description if entries else "",
        join(rows),
    )
    return _Page(name, body)


def _component_version(request: Request, name: str, version: str) -> _Page:
    m = api.registry_manifest(name, version, root=_registry_root(request))
    facts = _facts(
        [
            ("kind", m.kind),
            ("description", m.description or "-"),
            ("tags", ", ".join(m.tags) or "-"),
            ("requires", ", ".join(m.requires) or "-"),
            ("python", ", ".join(m.python) or "-"),
            ("published", f"{_when(m.published_at)} by {m.publisher}"),
            ("yanked", _when(m.yanked_at) if m.yanked else "no"),
            ("pack", f"{m.size:,} bytes, sha256 {m.sha256}"),
            ("content sha256", m.content_sha256),
        ]
    )
    body = html(
        '<h1><a href="/components/{}">{}</a> {}</h1>{}'
        '<p><a href="/components/{}/{}/pack" download>Download the pack</a> · '
        "<code>reef install</code> checks it</p>"
        "<h2>Manifest</h2><pre>{}</pre><h2>Runs</h2>{}",
        segment(name),
        name,
        version,
        facts,
        segment(name),
        segment(version),
        m.manifest,
        _try(lambda: _runs_of(request, name, version)),
    )
    return _Page(f"{name} {version}", body)


def _verification(submission: api.Submission | None) -> Safe:
    """A submitted run's standing: verified by which runs, else unverified with the verdicts
    it had; ``-`` for a run stored without a submission."""
    if submission is None:
        return Safe("-")
    if submission.verified_by:
        return html(
            '<span class="verdict verdict-reproduced">verified</span> by {}',
            join((_run_link(run_id) for run_id in submission.verified_by), ", "),
        )
    judged = [v.verdict for v in submission.verifications]
    if not judged:
        return html('<span class="muted">{}</span>', "unverified")
    counts = ", ".join(f"{judged.count(v)} {v}" for v in dict.fromkeys(judged))
    return html('<span class="muted">{}</span>', f"unverified ({counts})")


def _submissions(request: Request) -> _Page:
    db = _db(request)
    query = request.query_params
    values = _filter_values(request)
    cursor = query.get("cursor") or None
    verified = query.get("verified") == "1"
    choices = dashboard.dashboard_choices(db)
    extra = html(
        '<label class="check"><input type="checkbox" name="verified" value="1"{}> '
        "verified runs only</label>",
        Safe(" checked") if verified else Safe(""),
    )
    form = _filters_form("/submissions", values, choices, extra)
    run_filter = _run_filter(values).merged(verified=True if verified else None)
    try:
        page = dashboard.dashboard_runs(run_filter, limit=50, cursor=cursor, db=db)
    except ReefError as exc:
        from reef.server.app import http_status

        body = html("<h1>Submissions</h1>{}{}", form, _error(exc))
        return _Page("Submissions", body, http_status(exc))
    root = _files_root(request)
    rows = []
    for r in page.runs:
        files = dashboard.dashboard_run_files(r.id, files_root=root)
        logs = join(
            (
                html(
                    '<a href="/runs/{}/files/{}" download>{}</a>',
                    segment(r.id),
                    "/".join(segment(p) for p in f.path.split("/")),
                    f.path.rsplit("/", 1)[-1],
                )
                for f in files.files
                if f.path not in (dashboard.BUNDLE_FILE, "record.json")
            ),
            " · ",
        )
        rows.append(
            html(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td><td>{}</td></tr>",
                _run_link(r.id),
                _model(r.model, r.version),
                r.scenario,
                _status(r.status),
                files.submitter or "-",
                _when(files.received_at),
                logs or "-",
                _verification(api.server_submission(r.id, db=db)),
            )
        )
    params = {**values, **({"verified": "1"} if verified else {})}
    pager: list[Safe] = []
    if cursor:
        pager.append(html('<a href="{}">⇤ first page</a>', url("/submissions", params)))
    if page.next_cursor:
        pager.append(
            html(
                '<a rel="next" href="{}">next page →</a>',
                url("/submissions", {**params, "cursor": page.next_cursor}),
            )
        )
    table = (
        html(
            '<div class="table-wrap"><table><thead><tr><th>run</th><th>model</th>'
            "<th>scenario</th><th>status</th><th>submitter</th><th>received</th>"
            "<th>LoadGen's logs</th><th>verification</th></tr></thead><tbody>{}</tbody>"
            "</table></div>",
            join(rows),
        )
        if rows
        else html('<p class="muted">{}</p>', "No runs.")
    )
    body = html(
        '<h1>Submissions</h1>{}<p class="note">{}</p>'
        '<div class="pager"><span class="count">{}</span>{}</div>{}',
        form,
        VERIFICATION,
        f"{page.total:,} runs, newest first",
        join(pager, " "),
        table,
    )
    return _Page("Submissions", body)


# --- files --------------------------------------------------------------------------------------

_MEDIA = {
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".log": "text/plain; charset=utf-8",
}


def _download(path: Path, name: str) -> FileResponse:
    media = _MEDIA.get(path.suffix.lower(), "application/octet-stream")
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:200] or "file"
    return FileResponse(
        path,
        media_type=media,
        filename=safe_name,
        content_disposition_type="attachment",
        headers=FILE_HEADERS,
    )


# --- the router ---------------------------------------------------------------------------------


def router() -> APIRouter:
    """The dashboard's routes: its pages, the login form, its script and style sheet."""
    routes = APIRouter(include_in_schema=False)

    @routes.get("/")
    def home(request: Request) -> Response:
        return _respond(request, lambda: _home(request))

    @routes.get("/runs")
    def runs(request: Request) -> Response:
        return _respond(request, lambda: _runs(request))

    @routes.get("/runs/{run_id}")
    def run(request: Request, run_id: str) -> Response:
        return _respond(request, lambda: _run(request, run_id))

    @routes.get("/runs/{run_id}/files/{path:path}")
    def run_file(request: Request, run_id: str, path: str) -> Response:
        found: list[Path] = []

        def build() -> _Page:
            found.append(
                dashboard.dashboard_run_file(run_id, path, files_root=_files_root(request))
            )
            return _Page("", Safe(""))

        response = _respond(request, build)
        if not found:
            return response
        return _download(found[0], path.rsplit("/", 1)[-1])

    @routes.get("/compare")
    def compare(request: Request) -> Response:
        return _respond(request, lambda: _compare(request))

    @routes.get("/pareto")
    def pareto(request: Request) -> Response:
        return _respond(request, lambda: _pareto(request))

    @routes.get("/board")
    def board(request: Request) -> Response:
        return _respond(request, lambda: _board(request))

    @routes.get("/components")
    def components(request: Request) -> Response:
        return _respond(request, lambda: _components(request))

    @routes.get("/components/{name}")
    def component(request: Request, name: str) -> Response:
        return _respond(request, lambda: _component(request, name))

    @routes.get("/components/{name}/{version}")
    def component_version(request: Request, name: str, version: str) -> Response:
        return _respond(request, lambda: _component_version(request, name, version))

    @routes.get("/components/{name}/{version}/pack")
    def component_pack(request: Request, name: str, version: str) -> Response:
        found: list[Path] = []

        def build() -> _Page:
            root = _registry_root(request)
            entry = api.registry_manifest(name, version, root=root)
            found.append(api.registry_pack_path(entry.sha256, root=root))
            return _Page("", Safe(""))

        response = _respond(request, build)
        if not found:
            return response
        return FileResponse(
            found[0],
            media_type="application/gzip",
            filename=re.sub(r"[^A-Za-z0-9._-]", "_", f"{name}-{version}.reef.tar.gz"),
            headers=FILE_HEADERS,
        )

    @routes.get("/submissions")
    def submissions(request: Request) -> Response:
        return _respond(request, lambda: _submissions(request))

    @routes.get("/login")
    def login_form(request: Request) -> Response:
        target = _local(request.query_params.get("next"))
        return _html(request, _login_page(request, None, target), None)

    @routes.post("/login")
    async def login(request: Request) -> Response:
        from fastapi.concurrency import run_in_threadpool

        if not _same_origin(request):
            page = _Page("Log in", _error(Forbidden("the form came from another site")), 403)
            return _html(request, page, None)
        raw = await request.body()
        fields = parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
        secret = (fields.get("token") or [""])[0].strip()
        target = _local((fields.get("next") or ["/"])[0])
        client = request.client.host if request.client else None
        try:
            request.app.state.limiter.take(f"address {client}", f"address {client}")
            token = await run_in_threadpool(api.token_authenticate, secret, db=_db(request))
            api.token_require(token, "read")
        except ReefError as exc:
            return _html(request, _login_page(request, exc, target), None)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            secret,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @routes.post("/logout")
    def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        if _same_origin(request):
            response.delete_cookie(COOKIE, path="/")
        return response

    @routes.get("/static/reef.css")
    def css() -> Response:
        return Response(
            assets.CSS,
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    @routes.get("/static/reef.js")
    def js() -> Response:
        return Response(
            assets.JS,
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
        )

    from reef.server.web import evaluate

    evaluate.routes(routes)
    return routes


__all__ = ["COOKIE", "CSP", "router"]
