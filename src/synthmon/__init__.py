"""synthmon: ScholarshipAI's synthetic monitor and canary release gate."""

from synthmon.samples import Sample

__all__ = ["Sample"]
__version__ = "0.1.0"
