"""Placeholder for the ai layer (see ARCHITECTURE.md); later issues fill it."""
