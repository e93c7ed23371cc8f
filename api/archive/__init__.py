"""The archive of case files (R-35): `/v1/archive`."""
