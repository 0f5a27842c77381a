"""The tunewise terminal app (Textual): project → interview → data → recommendation → run."""
