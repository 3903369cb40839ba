"""Developer tooling that runs beside the portal (never shipped in the image)."""
