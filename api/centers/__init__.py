"""Complaint centers by level (R-46): the register, routing at intake, who sees which case,
forwarding (R-12) and appeals to the parent center (R-28)."""
