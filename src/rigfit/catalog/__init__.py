"""Catalogs shipped inside the package: hardware, models, quantization types."""
