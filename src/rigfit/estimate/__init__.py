"""Physics of memory, speed and cost: small documented functions with units and sources."""
