"""What a run ran on: detection and fingerprints."""
