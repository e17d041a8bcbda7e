"""Real measurements: llama.cpp runs, the results store, importers of published results."""
