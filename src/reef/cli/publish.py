"""reef publish COMPONENT --server URL"""

from __future__ import annotations

import typer

from reef.cli._common import emit_json, stderr, stdout


def publish(
    component: str = typer.Argument(
        ..., help="NAME[@VERSION], a component's folder or reef.yaml, or a lock file"
    ),
    server: str = typer.Option(
        ..., "--server", help="the Reef server, e.g. https://reef.example.com:8000/"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Pack a component and publish it to a Reef server (a token of scope publish in
    REEF_TOKEN). A published version never changes: the same content again changes nothing."""
    import os

    from reef.api.registry import publish as publish_pack
    from reef.cli.progress import DownloadProgress

    with DownloadProgress() as progress:
        published = publish_pack(component, server, os.environ.get("REEF_TOKEN"), progress=progress)
    if json_out:
        emit_json(published.model_dump(mode="json"))
        return
    ref = f"{published.name}@{published.version}"
    if published.status == "unchanged":
        stdout.print(f"{ref} is already published on {server} with this content: nothing changed")
    else:
        stdout.print(f"published {published.kind} {ref} on {server}")
    stderr.print(f"pack sha256 {published.sha256} ({published.size:,} bytes)")
