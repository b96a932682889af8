"""A component version that one repository's copy hides in another (``lookup.shadowing``).

Kept apart from ``reef.components.lookup`` so that searching imports no pydantic: a shadow is
built only when two repositories hold the same version with different content.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, computed_field


class Shadow(BaseModel):
    """Two repositories hold the same component version with different content: every command
    that names it uses the copy in ``used`` (the repository listed first) and never sees the
    one in ``hidden``."""

    model_config = ConfigDict(frozen=True)

    kind: str
    component: str  # name@version
    used: str
    used_sha256: str
    hidden: str
    hidden_sha256: str

    @property
    def ref(self) -> str:
        """``name@version``, as an index entry names it."""
        return self.component

    @computed_field  # type: ignore[prop-decorator]
    @property
    def message(self) -> str:
        """The warning, one line."""
        return (
            f"{self.component} in repository {self.used!r} (content sha256 "
            f"{self.used_sha256[:16]}) shadows {self.component} in {self.hidden!r} (content "
            f"sha256 {self.hidden_sha256[:16]}), whose content differs: {self.component} now "
            f"means the one in {self.used!r}"
        )
