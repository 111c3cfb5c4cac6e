"""`python -m tuner` (what `deepspeed -m` and `accelerate launch -m` call)."""

from tuner.cli import app

app()
