"""The built-in detectors, one module per family; registered under ``reef.detectors``."""
