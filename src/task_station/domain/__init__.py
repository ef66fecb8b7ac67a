"""Pure trading domain: no I/O, no Qt, no SQL, no HTTP."""
