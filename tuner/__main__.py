"""`python -m tuner` (what `deepspeed --module`, `torchrun -m` and `accelerate launch -m` call)."""

from tuner.cli import main

main()
