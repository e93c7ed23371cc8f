"""Public disclosure of concluded cases and unit figures (投诉信息公开, R-47)."""
