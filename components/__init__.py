"""The spine of inference-ra: the typed stack spec, the catalogs, and the platform composition."""
