"""What a target gives ``neuropipe handoff``: the hook each backend implements, and its parts.

A backend that can be handed to a hardware team registers a hook in ``targets.registry``
(``HANDOFFS``); ``pipeline/handoff`` builds and verifies bundles through it alone, so a new
target adds a handoff without touching ``pipeline/``. The hook names the files a deployment and a
bundle hold, rebuilds the deployed network and the reference inputs from the deployment's graph
(``reference``), puts its network files and script into a bundle, says how to run that script,
and writes the README's "How to run it" section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from neuropipe.targets.handoff import encoding as enc
from neuropipe.targets.handoff.encoding import InputEncoding
from neuropipe.targets.records import DeploymentRecord, Resources


@dataclass
class Reference:
    """What ``reference/`` and the target's network files are made of.

    Attributes:
        inputs: Arrays of ``reference/inputs.npz``.
        fast_output: Output spikes of the fast simulator ``(N, steps, classes)``.
        encoding: The encoding record (``encoding.json``).
        host_layer: Arrays of ``host_layer.npz`` (analogue input), or None.
        network: ``(meta, arrays)`` of the bundle's network file when the hook writes it anew
            (SpiNNaker's ``network.npz``, with the reference inputs as its samples), else None
            (the deployed file is copied as it is).
        simulator: What makes the expected outputs.
        fast_simulator: What made ``fast_output``.
        notes: Anything the bundle's manifest should say about them.
    """

    inputs: dict[str, np.ndarray]
    fast_output: np.ndarray
    encoding: InputEncoding
    host_layer: dict[str, np.ndarray] | None = None
    network: tuple[dict, dict[str, np.ndarray]] | None = None
    simulator: str = ""
    fast_simulator: str = ""
    notes: list[str] = field(default_factory=list)


class Handoff(Protocol):
    """The hook a target gives ``neuropipe handoff`` (registered in ``registry.HANDOFFS``).

    Attributes:
        target: The registered target name.
        short_name: The reference simulator in a few words (``Lava``, ``NEST``).
        deployed: The deployed network file, in the deployment's folder and in the bundle.
        script: The bundle's script that simulates the network (a file name).
        script_source: The script this neuropipe writes; ``verify`` runs only a copy of it.
        deployment_files: Files the deployment's folder must hold for a bundle.
        bundle_files: Files of the target a bundle must hold (besides the common ones).
        resources_file: A bundle file that gives the deployment's resources (checked by
            ``verify`` against the manifest), or ``""``.
        roles: What each of the target's bundle files is, for the manifest and README.
    """

    target: str
    short_name: str
    deployed: str
    script: str
    script_source: Path
    deployment_files: tuple[str, ...]
    bundle_files: tuple[str, ...]
    resources_file: str
    roles: dict[str, str]

    def check_deployment(self, record: DeploymentRecord, folder: Path, run_root: Path) -> None:
        """Refuse (``RunDirError``) a deployment a bundle cannot be built on, saying why."""
        ...

    def reference(self, chain: Any, deployed: Path, x: np.ndarray, labels: np.ndarray,
                  encoding: str, timesteps: int, steps: int, seed: int, dataset: str
                  ) -> Reference:
        """Rebuild the network from ``chain``, check it against ``deployed``; the reference.

        Raises:
            RunDirError: If ``deployed`` is not what the chain gives.
        """
        ...

    def write_files(self, root: Path, folder: Path, ref: Reference) -> None:
        """Put the target's network files and script from the deployment ``folder`` in ``root``."""
        ...

    def read_network(self, path: Path) -> dict[str, np.ndarray]:
        """The arrays of a network file the hook writes anew (``Reference.network``)."""
        ...

    def resources(self, root: Path, steps: int) -> Resources:
        """The resources ``resources_file`` of a bundle gives (the deployment's own reading)."""
        ...

    def simulation(self, bundle: Path, samples: int, out: Path) -> tuple[list[str], str]:
        """Arguments of ``python -I`` that run the bundle's script into ``out``; what it is."""
        ...

    def output_spikes(self, out: Path) -> np.ndarray:
        """The output layer's spikes, bool ``(samples, steps, classes)``, the script saved."""
        ...

    def how_to_run(self, e: InputEncoding) -> list[str]:
        """The README's "How to run it" section (Markdown lines)."""
        ...


def common_encoding(target: str, dataset: str, chain: Any, encoding: str, timesteps: int,
                    steps: int, seed: int) -> InputEncoding:
    """The part of a bundle's ``encoding.json`` every target fills the same way."""
    start, stop = steps - timesteps, steps
    readout = chain.readout is not None
    return InputEncoding(
        target=target, dataset=dataset, input_shape=[int(s) for s in chain.input_shape],
        encoding=encoding, timesteps=timesteps, steps=steps,
        seed=seed if encoding == "poisson" else None,
        spike_rule=enc.SPIKE_RULES.get(encoding, ""),
        output_layer=chain.layers[-1].neuron_name or chain.layers[-1].name,
        classes=int(chain.readout.classes if readout else chain.layers[-1].neurons),
        readout="readout.npz" if readout else "",
        decode=enc.decode_rule(timesteps, start, stop, readout),
        window_start=start, window_stop=stop)


def readout_arrays(chain: Any) -> dict[str, np.ndarray] | None:
    """``readout.npz`` of a chain with a host readout, else None."""
    if chain.readout is None:
        return None
    return {"weight": np.asarray(chain.readout.weight, dtype=np.float64),
            "bias": np.asarray(chain.readout.bias, dtype=np.float64)}


def per_neuron(value: Any, n: int) -> np.ndarray:
    """One float64 value per neuron of a parameter given once or per neuron."""
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


def geometry(layer: Any) -> dict[str, np.ndarray]:
    """A host layer's shapes (and a convolution's stride and padding) for ``host_layer.npz``."""
    shapes = {"in_shape": np.array(layer.in_shape), "out_shape": np.array(layer.out_shape)}
    if layer.kind == "conv":
        shapes.update(stride=np.array(layer.stride), padding=np.array(layer.padding))
    return shapes


def redeploy_hint(deployed: Path, target: str) -> str:
    """The ``re-deploy with ...`` end of a message about a deployment's network file.

    ``verify`` cuts a message at ``": re-deploy with"``: a bundle has no run to re-deploy.
    """
    import shlex

    return (f": re-deploy with 'neuropipe convert "
            f"{shlex.quote(str(deployed.parent.parent.parent))} --target {target} --force'")
