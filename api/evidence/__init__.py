"""Evidence files of a case (证据材料, R-03, R-21) and who may see them (R-32)."""
