"""Schemas: model and dataset manifests, benchmark settings, and the run record."""

from reef.meta.dataset import DatasetManifest
from reef.meta.model import ModelManifest
from reef.meta.run import FORMAT_VERSION, RunRecord, load_record
from reef.meta.settings import SCENARIOS, BenchSettings

__all__ = [
    "FORMAT_VERSION",
    "SCENARIOS",
    "BenchSettings",
    "DatasetManifest",
    "ModelManifest",
    "RunRecord",
    "load_record",
]
