"""egov: secure e-government platform."""
