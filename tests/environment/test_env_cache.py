"""Issue 14, item 6: a run that finds its provisioned environment takes a lease on it (so
`reef cache clean` keeps it while the run lives) and marks it used; an environment removed
meanwhile is not found."""

from __future__ import annotations

import json
import os
import time

from reef.components.resolve import resolve
from reef.environment import cache as envs
from reef.environment import provision


def test_finding_an_environment_leases_it() -> None:
    lock = resolve("digits-classifier")
    digest = provision.environment_hash(lock, provision._lock_key(lock))
    env = provision.envs_dir() / digest
    python = provision.env_python(env)
    python.parent.mkdir(parents=True)
    python.write_text("")
    (env / "lib").mkdir()
    marker = env / provision.MARKER
    marker.write_text(json.dumps({"hash": digest, "site": "lib", "reef_stamp": "old"}))
    long_ago = time.time() - 30 * 86400
    os.utime(marker, (long_ago, long_ago))

    found = provision.find_provisioned(lock)
    assert found is not None and found.path == env
    assert envs.users(env) == (os.getpid(),)
    assert marker.stat().st_mtime > long_ago  # its last use is now
    assert sorted(p.name for p in provision.envs_dir().iterdir()) == [digest]

    assert envs.remove(env) is False  # this process uses it
    for lease in env.glob(".use-*"):
        lease.unlink()
    assert envs.remove(env) is True
    assert provision.find_provisioned(lock) is None
