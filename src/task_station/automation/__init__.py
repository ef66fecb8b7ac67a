"""Placeholder for the automation layer (see ARCHITECTURE.md); later issues fill it."""
