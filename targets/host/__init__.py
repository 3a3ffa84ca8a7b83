"""The host targets ``cpu`` and ``gpu``: a network run the conventional way, counted and costed.

An ANN runs as it was trained (its ONNX model in onnxruntime: no conversion); a spiking network
runs every step as a dense pass. Nothing here imports onnxruntime at import time.
"""
