"""Inspection rounds (明查暗访督查, R-40): `/v1/inspections`."""
