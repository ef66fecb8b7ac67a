"""Helpers the test packages share (real components only)."""
