"""One screen per step of the tunewise app."""
