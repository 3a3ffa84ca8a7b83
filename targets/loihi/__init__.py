"""The Loihi target: NIR chains in Loihi fixed point, run in Lava and in a batched emulator."""
