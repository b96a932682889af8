"""Pre- and post-processing steps: built-ins, and plugins from the ``reef.steps`` group."""

from reef.predictors.steps.registry import StepError, build_pipeline, build_step, known_steps

__all__ = ["StepError", "build_pipeline", "build_step", "known_steps"]
