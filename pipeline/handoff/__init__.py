"""Hardware-team handoff bundles: build (``bundle``) and check (``verify``) them."""
