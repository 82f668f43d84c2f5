"""Adapters that run the suite's reference checks against external diffusion codebases.

One module per target; each imports its target lazily, so this package imports without torch
or diffusers installed.
"""
