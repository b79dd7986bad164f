"""``sage compare``: finished runs side by side, from their files alone (no torch)."""
