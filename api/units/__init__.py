"""The unit register (被督查单位名录, R-40): `/v1/units`."""
