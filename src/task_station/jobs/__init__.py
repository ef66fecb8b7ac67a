"""Placeholder for the jobs layer (see ARCHITECTURE.md); later issues fill it."""
