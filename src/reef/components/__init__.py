"""Components: the built-in repository, checksums, and (later) repositories and resolution."""
