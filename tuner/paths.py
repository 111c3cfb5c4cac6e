"""Where tuner keeps things: the user cache and the project's shipped folders."""

import os
from pathlib import Path

# The repository root when installed from a checkout (`pip install -e .`): recipes/, eval/, ablations/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def tuner_home() -> Path:
    """User cache: prepared models, the result store. `TUNER_HOME` overrides `~/.cache/tuner`."""
    return Path(os.environ.get("TUNER_HOME", Path.home() / ".cache" / "tuner")).expanduser()


def find_shipped(name: str, folder: str, suffix: str = ".yaml") -> Path | None:
    """Resolve a bare name such as `hindi_sft` to `<project>/<folder>/hindi_sft.yaml`, from any cwd."""
    candidate = PROJECT_ROOT / folder / (name if name.endswith(suffix) else name + suffix)
    return candidate if candidate.is_file() else None
