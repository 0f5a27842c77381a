"""Widgets of the tunewise app: they render what a screen gives them and post messages; screens decide."""
