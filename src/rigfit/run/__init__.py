"""``rigfit run``: fetch the GGUF a plan names, launch llama.cpp with the plan's settings, verify at load.

Three steps, each usable without the CLI:

* :mod:`rigfit.run.fetch` — resolve a model reference to a GGUF on disk: a path, a file already in
  the Hugging Face cache, LM Studio's folder or the Ollama store, or a Hugging Face repo
  (``org/repo:QUANT``, ``org/repo/file.gguf``) downloaded resumably with a sha256 check and a
  free-disk check before the first byte.
* :mod:`rigfit.run.launch` — the exact llama-server argument list of a plan (ctx, ngl or
  ``--n-cpu-moe``, ``-ot`` overrides, FA, KV types, ``-np``, threads) and an OpenAI-compatible server
  in a child process group (the bundled ``xllamacpp`` server or the user's ``llama-server``).
* :mod:`rigfit.run.verify` — the buffers llama.cpp allocated (parsed from its log) against the plan,
  per device and buffer; which buffer was wrong; re-planned settings when they do not fit.
"""
