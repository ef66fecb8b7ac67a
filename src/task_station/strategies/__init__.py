"""Strategies: the base class, the context they see, parameters, built-ins."""
