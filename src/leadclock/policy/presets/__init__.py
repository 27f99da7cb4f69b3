"""Preset policies shipped as YAML (resources of this package)."""
