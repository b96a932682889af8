"""Portable workflows: solution steps, their cache, the tracker, checks and reproduce."""
