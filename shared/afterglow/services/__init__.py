"""Use cases: each one a function the handlers call, taking the stores it needs as parameters."""
