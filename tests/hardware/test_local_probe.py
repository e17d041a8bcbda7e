"""Local detection beyond NVIDIA, on fake sysfs / proc / etc trees (never this machine's values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigfit.hardware.local import LocalFacts, build_local_machine
from rigfit.hardware.probe import parse_dmidecode, pci_names, read_board, read_drm_gpus

GIB = 1024**3

PCI_IDS = """\
# fake excerpt in the hwdata pci.ids layout
1002  Advanced Micro Devices, Inc. [AMD/ATI]
\t744c  Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]
\t\t1002 0e3b  Radeon RX 7900 GRE
\t1586  Strix Halo [Radeon Graphics / Radeon 8050S / Radeon 8060S]
8086  Intel Corporation
\t56a0  DG2 [Arc A770]
\t7d55  Meteor Lake-P [Intel Arc Graphics]
"""

DMIDECODE = """\
# dmidecode 3.5
Handle 0x0040, DMI type 17, 92 bytes
Memory Device
\tSize: 32 GB
\tType: DDR5
\tSpeed: 5600 MT/s
\tConfigured Memory Speed: 4800 MT/s

Handle 0x0041, DMI type 17, 92 bytes
Memory Device
\tSize: No Module Installed
\tType: Unknown

Handle 0x0042, DMI type 17, 92 bytes
Memory Device
\tSize: 32 GB
\tType: DDR5
\tSpeed: 5600 MT/s
\tConfigured Memory Speed: 4800 MT/s
"""


def _card(sys_root: Path, n: int, vendor: str, device: str, **files: str) -> None:
    dev = sys_root / "class" / "drm" / f"card{n}" / "device"
    dev.mkdir(parents=True)
    (dev / "vendor").write_text(vendor + "\n")
    (dev / "device").write_text(device + "\n")
    for name, text in files.items():
        (dev / name).write_text(text + "\n")
    (sys_root / "class" / "drm" / f"card{n}-DP-1").mkdir()  # a connector, not a card


@pytest.fixture
def trees(tmp_path):
    sys_root, share = tmp_path / "sys", tmp_path / "share"
    (share / "hwdata").mkdir(parents=True)
    (share / "hwdata" / "pci.ids").write_text(PCI_IDS)
    return sys_root, share


def test_pci_names_from_the_database(trees):
    _, share = trees
    assert pci_names("0x1002", "0x744c", share) == [
        "Radeon RX 7900 XT",
        "Radeon RX 7900 XTX",
        "Radeon RX 7900 GRE",
        "Radeon RX 7900M",
    ]
    assert pci_names("0x8086", "0x56a0", share) == ["Arc A770"]
    assert pci_names("0x1002", "0xffff", share) == []
    assert pci_names("0x1002", "0x744c", share / "missing") == []


def test_amd_discrete_gpu_from_sysfs(trees):
    sys_root, share = trees
    _card(
        sys_root, 0, "0x1002", "0x744c", mem_info_vram_total=str(24 * GIB), mem_info_gtt_total=str(31 * GIB)
    )
    _card(sys_root, 1, "0x8086", "0x7d55")  # an Intel iGPU next to it
    gpus = read_drm_gpus(sys_root, share)
    assert [g.card for g in gpus] == ["card0", "card1"]
    amd = gpus[0]
    assert amd.vendor == "AMD" and amd.vram_total_bytes == 24 * GIB and amd.gtt_total_bytes == 31 * GIB
    m = build_local_machine(
        LocalFacts(
            cpu_brand="AMD Ryzen 7 7700X 8-Core Processor",
            cpu_flags={"avx2", "avx512f"},
            ram_bytes=64 * GIB,
            drm_gpus=gpus,
        )
    )
    gpu = m.accelerators[0]
    assert gpu.name.startswith("Radeon RX 7900 XTX")  # the 24 GB variant of the pci.ids names
    assert gpu.memory_bytes == 24 * GIB and gpu.status["memory_bytes"] == "detected"
    assert "mem_info_vram_total" in gpu.sources["memory_bytes"]
    assert len(m.accelerators) == 1  # the Intel iGPU is not a plan device
    detected = m.sources["detected"]
    assert "card0" in detected and "Radeon RX 7900 XTX" in detected and "card1" in detected


def test_unidentified_gpu_is_left_out_with_a_note(trees):
    sys_root, share = trees
    _card(sys_root, 0, "0x1002", "0x9999", mem_info_vram_total=str(32 * GIB))
    m = build_local_machine(
        LocalFacts(
            cpu_brand="Intel(R) Core(TM) i9-14900K",
            ram_bytes=64 * GIB,
            drm_gpus=read_drm_gpus(sys_root, share),
        )
    )
    assert not m.accelerators
    assert any("not identified" in n and "GB/s GPU" in n for n in m.notes)


def test_strix_halo_vram_and_gtt_as_llama_cpp_sees_them(trees):
    sys_root, share = trees
    _card(
        sys_root, 0, "0x1002", "0x1586", mem_info_vram_total=str(64 * GIB), mem_info_gtt_total=str(30 * GIB)
    )
    m = build_local_machine(
        LocalFacts(
            cpu_brand="AMD RYZEN AI MAX+ 395 w/ Radeon 8060S",
            ram_bytes=62 * GIB,
            drm_gpus=read_drm_gpus(sys_root, share),
        )
    )
    assert m.unified_memory and "Strix Halo" in m.name
    assert m.ram_bytes == 128 * GIB and m.accelerators[0].status["memory_bytes"] == "detected"
    note = next(n for n in m.notes if n.startswith("detected by amdgpu"))
    assert "VRAM 64.0 GiB" in note and "GTT 30.0 GiB" in note
    assert "amdgpu" in m.sources["detected"]


def test_nvidia_in_sysfs_without_nvml_is_noted(trees):
    sys_root, share = trees
    _card(sys_root, 0, "0x10de", "0x2684")
    m = build_local_machine(LocalFacts(drm_gpus=read_drm_gpus(sys_root, share)))
    assert not m.accelerators and any("NVML unavailable" in n for n in m.notes)


def test_jetson_board(tmp_path):
    proc, etc = tmp_path / "proc", tmp_path / "etc"
    (proc / "device-tree").mkdir(parents=True)
    (proc / "device-tree" / "model").write_text("NVIDIA Jetson AGX Orin Developer Kit\x00")
    etc.mkdir()
    (etc / "nv_tegra_release").write_text("# R36 (release), REVISION: 4.0, GCID: 1, BOARD: generic\n")
    board = read_board(proc, etc)
    assert board.model == "NVIDIA Jetson AGX Orin Developer Kit" and board.jetson_release.startswith("# R36")
    m = build_local_machine(LocalFacts(cpu_brand=None, ram_bytes=int(61.4 * GIB), board=board))
    assert m.unified_memory and m.detected
    assert m.accelerators[0].name == "NVIDIA Jetson AGX Orin 64GB"
    assert "device-tree/model" in m.sources["detected"]


def test_raspberry_pi_board(tmp_path):
    proc = tmp_path / "proc"
    (proc / "device-tree").mkdir(parents=True)
    (proc / "device-tree" / "model").write_text("Raspberry Pi 5 Model B Rev 1.0\x00")
    board = read_board(proc, tmp_path / "no-etc")
    m = build_local_machine(LocalFacts(cpu_brand="BCM2835", ram_bytes=int(7.8 * GIB), board=board))
    assert m.cpu.name == "Raspberry Pi 5 (BCM2712)"
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(0.5 * 8 * 4267e6)
    assert "soldered" in m.sources["ram_bandwidth_bytes_per_s"]


def test_dimms_set_host_bandwidth():
    dimms = parse_dmidecode(DMIDECODE)
    assert dimms.populated == 2 and dimms.memory_type == "DDR5" and dimms.configured_mt_s == 4800
    m = build_local_machine(
        LocalFacts(cpu_brand="AMD Ryzen 9 7950X 16-Core Processor", ram_bytes=64 * GIB, dimms=dimms)
    )
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 4800e6)
    assert m.ram_type == "DDR5-4800"
    assert "dmidecode" in m.sources["ram_bandwidth_bytes_per_s"]


def test_without_dimms_the_estimate_is_labelled():
    m = build_local_machine(LocalFacts(cpu_brand="AMD Ryzen 9 7950X 16-Core Processor", ram_bytes=64 * GIB))
    assert m.ram_bandwidth_bytes_per_s == pytest.approx(2 * 8 * 5200e6)
    assert m.sources["ram_bandwidth_bytes_per_s"].startswith("estimated:")


def test_missing_trees_read_as_nothing(tmp_path):
    assert read_drm_gpus(tmp_path / "nope", tmp_path) == []
    b = read_board(tmp_path / "nope", tmp_path / "nope")
    assert b.model is None and b.jetson_release is None
