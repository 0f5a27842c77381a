"""The bundled samples, installed as the package `tunewise_samples` (see advisor.project.samples)."""
