"""One routes module per URL prefix."""
