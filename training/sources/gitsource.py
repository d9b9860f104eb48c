"""Read a file at a pinned commit from a local clone, without checking anything out."""

from __future__ import annotations

import subprocess
from pathlib import Path


class SourceMissing(FileNotFoundError):
    """The clone, the commit or the path is not available locally."""


def clone_dir(clones: Path, repo: str) -> Path:
    """Where the clone of ``owner/name`` lives under ``clones``: ``owner+name`` or ``name``,
    either a work tree or a bare repository (``…/repo`` inside it is accepted too)."""
    owner, name = repo.split("/", 1)
    for candidate in (clones / f"{owner}+{name}", clones / name):
        for inner in (candidate / "repo", candidate):
            if (inner / ".git").exists() or (inner / "HEAD").is_file() or (inner / "objects").is_dir():
                return inner
    raise SourceMissing(
        f"no clone of {repo} under {clones}: run "
        f"'git clone https://github.com/{repo} {clones / (owner + '+' + name)}'")


def read_at(clones: Path, repo: str, commit: str, path: str) -> bytes:
    """The bytes of ``path`` at ``commit`` in the local clone of ``repo``."""
    where = clone_dir(clones, repo)
    done = subprocess.run(["git", "-C", str(where), "show", f"{commit}:{path}"],
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise SourceMissing(f"{repo}@{commit[:10]}:{path}: {done.stderr.decode().strip()} "
                            "(fetch the full history: git -C CLONE fetch --unshallow)")
    return done.stdout
