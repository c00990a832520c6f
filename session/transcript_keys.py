"""The stamp's Ed25519 key that signs transcript chains (docs/transcripts.md).

One key per state directory (the emulated stamp's own), created on first use:

    <state>/keys/transcript-ed25519.key   private key, PKCS#8 PEM, mode 0600
    <state>/keys/transcript-ed25519.pub   public key, SubjectPublicKeyInfo PEM, mode 0644

Every chain names its key by `key_id` (the first 16 hex digits of SHA-256 over the raw public key),
so a verifier holding several public keys (stamps) finds the right one. Trust comes from the
public key file the verifier is given, never from the copy a chain file carries.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PRIVATE_NAME = "transcript-ed25519.key"
PUBLIC_NAME = "transcript-ed25519.pub"


def key_dir(state_path: Path) -> Path:
    return Path(state_path) / "keys"


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_new(path: Path, data: bytes, mode: int) -> bool:
    """Create `path` with `data` unless it exists (False then). Written under a temporary name and
    linked into place, so a reader never sees half a key and two processes never both create one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


_loaded: dict[Path, Ed25519PrivateKey] = {}  # per process: a session start costs no PEM parsing (~0.2 ms)


def load_or_create(state_path: Path) -> Ed25519PrivateKey:
    """The state directory's signing key; created (0600) the first time a transcript needs it."""
    folder = key_dir(state_path)
    cached = _loaded.get(folder)
    if cached is not None and (folder / PRIVATE_NAME).exists():
        return cached
    key = _load_or_create(folder)
    _loaded[folder] = key
    return key


def _load_or_create(folder: Path) -> Ed25519PrivateKey:
    folder.mkdir(parents=True, exist_ok=True)
    private_path = folder / PRIVATE_NAME
    if not private_path.exists():
        fresh = Ed25519PrivateKey.generate()
        pem = fresh.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        _write_new(private_path, pem, 0o600)  # lost a race: the other process's key is read below
    loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{private_path} is not an Ed25519 private key")
    public_path = folder / PUBLIC_NAME
    expected = public_pem(loaded.public_key())
    if not public_path.exists() or public_path.read_bytes() != expected:
        tmp = public_path.with_name(f".{public_path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(expected)
        os.chmod(tmp, 0o644)
        os.replace(tmp, public_path)
    return loaded


def load_public(path: Path) -> Ed25519PublicKey:
    """A public key file (PEM); ValueError when it is not an Ed25519 public key."""
    loaded = serialization.load_pem_public_key(Path(path).read_bytes())
    if not isinstance(loaded, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return loaded
