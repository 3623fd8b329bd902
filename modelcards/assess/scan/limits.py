"""Bounds on everything a scan reads, so that a hostile file costs little time and memory."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class ScanLimits:
    sniff_bytes: int = 64 * 1024  # read from the start of each file to tell its format
    member_sniff_bytes: int = 4 * 1024  # ...and of each archive member (a pickle that is still
    # valid when these run out is scanned in full, so a small sniff loses nothing)
    max_pickle_bytes: int = 256 * MiB  # bytes of one pickle stream followed by the scanner
    # Opcodes per stream: the deterministic bound that ends an expansion bomb in ~0.3 s; a large
    # checkpoint's data.pkl has tens of thousands. The time limit is only a backstop (it would
    # make output depend on machine speed), so it sits well above what the opcode bound costs.
    max_opcodes: int = 200_000
    max_memo: int = 100_000  # memo entries per pickle
    max_pickle_seconds: float = 2.0
    max_pickles_per_stream: int = 64  # torch legacy files hold 5
    max_line_bytes: int = 1 * MiB  # one protocol-0 text line
    max_zip_members: int = 10_000
    max_zip_depth: int = 3
    max_member_bytes: int = 256 * MiB  # decompressed bytes kept from one member
    max_total_decompressed: int = 1024 * MiB  # per top-level file
    max_ratio: int = 200  # declared compression ratio above which a big member is a bomb
    ratio_floor: int = 16 * MiB  # ...but only for members that decompress to more than this
    # A .npy header: numpy writes under 1 KiB, but reads any length when pickles are allowed
    max_npy_header_bytes: int = 16 * MiB
    max_text_bytes: int = 16 * MiB  # JSON configs, Python sources
    max_h5_bytes: int = 512 * MiB  # raw bytes searched for a Keras model config
    max_files: int = 100_000
