"""The handoff bundle's parts, exactly: README, manifest files, the script runner, the builder.

Fast (no Lava, no training run, no MNIST): with ``test_handoff_verify_fast.py`` these are the
tests ``make mutate`` runs against ``pipeline/handoff``. The README is compared whole with the
text below (checked by hand against the manifest's values: 2 of 3 predictions right, device
1 µJ + 0.5 µJ = 1.5 µJ, a 0 J host term, 1,500 J of training as 1.5e+03 J at 3 significant
figures, methods grouped by kind, leaves-out sorted).
"""

import json
import tarfile

# Imported here, not in the tests, so that mutmut's fork server loads them once (a mutant's
# test run then costs its tests, not seconds of imports).
import h5py
import nir  # noqa: F401
import numpy as np
import pytest
import rich.progress  # noqa: F401

import neuropipe.models.nir_export  # noqa: F401
import neuropipe.pipeline.handoff.bundle  # noqa: F401
import neuropipe.pipeline.handoff.readme  # noqa: F401
import neuropipe.pipeline.handoff.verify  # noqa: F401
import neuropipe.targets.chain  # noqa: F401
import neuropipe.targets.loihi.emulator  # noqa: F401
import neuropipe.targets.loihi.handoff  # noqa: F401
import neuropipe.targets.loihi.netx_export  # noqa: F401
import neuropipe.targets.loihi.quantize  # noqa: F401
from neuropipe.pipeline.handoff.encoding import InputEncoding
from neuropipe.pipeline.handoff.manifest import (
    BundleFile,
    ExpectedAccuracy,
    Manifest,
    ReferenceSummary,
    TrainingFootprint,
)
from neuropipe.targets.records import EnergyEstimate, Resources


def readme_case(footprint=True, notes=True, spikes=True):
    manifest = Manifest(
        created="2026-12-07T02:00:00+00:00", target="loihi", model="tiny", dataset="mnist",
        source_run="/runs/tiny",
        files=[BundleFile(path="model.nir", bytes=12345, role="the graph"),
               BundleFile(path="reference/inputs.npz", bytes=7, role="inputs")],
        versions={"neuropipe": "1.2.3"},
        resources=Resources(cores=2, chips=1, steps_per_sample=6, placement="an estimate"),
        expected_accuracy=ExpectedAccuracy(accuracy=0.97654, samples=10000,
                                           reference_accuracy=0.98 if notes else None,
                                           simulator="the emulator"),
        energy=[EnergyEstimate(cost_model="loihi1", level="chip", default=True, total_j=2.5e-6,
                               dynamic_j=1e-6, static_j=5e-7, host_j=1e-6,
                               sources=["Davies 2018", "Orchard 2021"],
                               leaves_out=["static power", "I/O"]),
                EnergyEstimate(cost_model="loihi2", level="arithmetic", total_j=3e-12,
                               dynamic_j=3e-12, sources=["Shrestha 2024"],
                               leaves_out=["I/O"])],
        training_footprint=TrainingFootprint(
            duration_s=12.34, energy_j=1500.0, methods={"cpu": "measured", "gpu": "estimate",
                                                        "dram": "measured"},
            kwh_pue=0.000654, co2e_kg=0.000123,
            constants={"intensity_source": "Ember 2023"}) if footprint else None,
        reference=ReferenceSummary(samples=3, simulator="Lava", labels=[0, 2, 1],
                                   predicted=[0, 2, 0],
                                   fast_simulator={"summary": "The emulator agrees."}),
        notes=["first note", "second note"] if notes else [])
    encoding = InputEncoding(
        target="loihi", dataset="mnist", input_shape=[1, 2, 2], pixel_rule="p / 255",
        encoding="poisson" if spikes else "constant", timesteps=4, steps=6,
        chip_input="spikes", chip_input_rule="unary spikes",
        constants={"bias_exp": 3, "scale": 0.5} if notes else {},
        seed=7 if spikes else None, spike_rule="u < x" if spikes else "",
        step_duration="one step", output_layer="lif", classes=3, decode="argmax of counts",
        window_start=2, window_stop=6)
    return manifest, encoding


README = """\
# tiny for loihi: hardware handoff bundle

Made by neuropipe 1.2.3 on 2026-12-07T02:00:00+00:00 from run `/runs/tiny`. Everything needed is in this folder; nothing of neuropipe's training code is needed to run it.

## Check the bundle first

```sh
sha256sum -c checksums.sha256            # every file, the manifest included
neuropipe handoff verify .               # checksums + re-simulation of reference/
```

## Files

| file | bytes | what it is |
|---|---:|---|
| `model.nir` | 12,345 | the graph |
| `reference/inputs.npz` | 7 | inputs |
| `README.md` | | this file |
| `manifest.json` | | versions, checksums, resources, accuracy, energy, footprint |
| `checksums.sha256` | | SHA-256 of every file, `sha256sum -c checksums.sha256` |

## Input and output, exactly

- Input: one mnist image, shape (1, 2, 2). p / 255.
- Encoding: `poisson`, presented for 4 steps; each sample runs 6 steps (one step), from rest (all membranes 0).
- What the chip receives (`spikes`): unary spikes.
- Constants: bias_exp = 3, scale = 0.5.
- Spikes of the reference inputs: u < x; seed 7. The spikes themselves are in `reference/inputs.npz`: no random-number generator is needed to reproduce the reference.
- Output: layer `lif`, 3 neurons, one per class. Decoding: argmax of counts.

## How to run it

Load the network with lava-dl's netx and run it with Lava (lava-nc 0.10, lava-dl 0.6; `run_lava.py` in this folder does all of this):

```python
import numpy as np
from lava.lib.dl import netx
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg, Loihi2HwCfg
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer
inputs = np.load('reference/inputs.npz')
k = 0  # sample
net = netx.hdf5.Network(net_config='model.net')  # a fresh network per sample
sink = Sink(shape=net.out.shape, buffer=6)
net.out.connect(sink.a_in)
# (inputs, steps); a convolutional first layer wants (W, H, C, steps)
source = RingBuffer(data=inputs['spikes'][k].T.astype(np.int32))
source.s_out.connect(net.inp)
net.run(condition=RunSteps(num_steps=6), run_cfg=Loihi2SimCfg(select_tag='fixed_pt'))
spikes = sink.data.get().T  # (steps, classes)
net.stop()
```

On Loihi 2 hardware use `run_cfg=Loihi2HwCfg()` (needs Intel's lava-loihi extension; Python ring buffers may need its embedded-I/O adapters there). `python run_lava.py model.net reference/inputs.npz --out spikes.npz [--hardware]` runs every reference sample and saves `output_spikes` (sample x step x class).
This bundle was checked in Lava's bit-accurate simulation only: it was not run on Loihi hardware.

## Compare against `reference/`

`reference/inputs.npz` holds 3 test images (`images`, `labels`) and what the chip receives for each; `reference/expected.npz` holds the expected `output_spikes` (sample x step x class, every step of the run) and the `predicted` classes (2 of 3 correct). They come from Lava. A run on the chip reproduces the reference when every output spike matches; equal predicted classes alone are a weaker check. The emulator agrees.

## Expected accuracy

0.9765 on 10,000 mnist test images on the simulated target (the trained model in PyTorch: 0.9800); from the emulator.

## Resources

2 cores on 1 chip(s); 6 steps per sample; an estimate.

## Energy per inference (estimates)

| cost model | level | energy per inference | device | host | citations |
|---|---|---:|---:|---:|---|
| loihi1 (default) | chip | 2.5 µJ | 1.5 µJ | 1 µJ | Davies 2018; Orchard 2021 |
| loihi2 | arithmetic | 3 pJ | 3 pJ | 0 J | Shrestha 2024 |

These are estimates from published cost models, not measurements. They leave out: I/O; static power.

## Training footprint

Training took 12.3 s and 1.5e+03 J (cpu and dram: measured; gpu: estimate); 0.000654 kWh with PUE, 0.000123 kg CO2e (Ember 2023).

## Notes

- first note
- second note
"""  # noqa: E501

BARE_README_TAIL = """\


0.9765 on 10,000 mnist test images on the simulated target; from the emulator.

## Resources

2 cores on 1 chip(s); 6 steps per sample; an estimate.

## Energy per inference (estimates)

| cost model | level | energy per inference | device | host | citations |
|---|---|---:|---:|---:|---|
| loihi1 (default) | chip | 2.5 µJ | 1.5 µJ | 1 µJ | Davies 2018; Orchard 2021 |
| loihi2 | arithmetic | 3 pJ | 3 pJ | 0 J | Shrestha 2024 |

These are estimates from published cost models, not measurements. They leave out: I/O; static power.

## Training footprint

The run recorded no training energy.
"""


def test_the_readme_is_exactly_this():
    from neuropipe.pipeline.handoff.readme import render

    assert render(*readme_case()) == README


def test_a_readme_without_footprint_notes_constants_or_spike_rule():
    from neuropipe.pipeline.handoff.readme import render

    text = render(*readme_case(footprint=False, notes=False, spikes=False))
    head, tail = text.split("## Expected accuracy")
    assert tail == BARE_README_TAIL
    assert "- Constants:" not in head and "- Spikes of the reference" not in head
    assert "- Encoding: `constant`, presented for 4 steps;" in head


def test_a_readme_lists_a_readme_in_the_manifest_once():
    from neuropipe.pipeline.handoff.readme import render

    manifest, encoding = readme_case()
    manifest.files.append(BundleFile(path="README.md", bytes=10, role="this"))
    manifest.energy[0].leaves_out = []
    manifest.energy[1].leaves_out = []
    text = render(manifest, encoding)
    assert "| `README.md` | 10 | this |\n| `manifest.json` |" in text
    assert "| `README.md` | |" not in text
    assert "leave out" not in text
    # A seed of 0 is a seed: it is printed.
    encoding.seed = 0
    assert "- Spikes of the reference inputs: u < x; seed 0. The " in render(manifest, encoding)
    encoding.seed = None
    assert "- Spikes of the reference inputs: u < x. The " in render(manifest, encoding)


@pytest.mark.parametrize("joules, text", [
    (1.5, "1.5 J"), (1.0, "1 J"), (0.999, "999 mJ"), (1e-3, "1 mJ"), (2.5e-6, "2.5 µJ"),
    (1e-6, "1 µJ"), (4e-9, "4 nJ"), (1e-9, "1 nJ"), (5e-12, "5 pJ"), (1e-12, "1 pJ"),
    (1e-15, "1e-15 J"), (0.0, "0 J"), (-2e-3, "-2 mJ"), (1234.5, "1.23e+03 J")])
def test_joules_are_written_in_the_largest_unit_they_reach(joules, text):
    from neuropipe.pipeline.handoff.readme import _joules

    assert _joules(joules) == text


# manifest.py: checksums of files.

def test_files_are_described_sorted_without_the_manifest_and_checksums(tmp_path):
    import hashlib

    from neuropipe.pipeline.handoff.manifest import checksum_lines, describe_files, sha256_of

    (tmp_path / "sub").mkdir()
    big = bytes(range(256)) * 8193  # over 2 MiB: read in several chunks
    (tmp_path / "sub" / "b.bin").write_bytes(big)
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "checksums.sha256").write_text("")
    files = describe_files(tmp_path, {"a.txt": "the letter"})
    assert [(f.path, f.bytes, f.role) for f in files] == [("a.txt", 1, "the letter"),
                                                          ("sub/b.bin", 2097408, "")]
    assert files[1].sha256 == hashlib.sha256(big).hexdigest() == sha256_of(tmp_path / "sub" /
                                                                          "b.bin")
    a = hashlib.sha256(b"a").hexdigest()
    m = hashlib.sha256(b"{}").hexdigest()
    assert checksum_lines(tmp_path, files) == (f"{a}  a.txt\n{m}  manifest.json\n"
                                               f"{files[1].sha256}  sub/b.bin\n")


def test_parse_checksums_keeps_the_path_as_written():
    from neuropipe.pipeline.handoff.manifest import parse_checksums

    digest = "a" * 64
    assert parse_checksums(f"{digest}  two  spaces.txt\n") == {"two  spaces.txt": digest}
    assert parse_checksums(f"{digest}  *XX.txt\n") == {"XX.txt": digest}  # binary mark only
    with pytest.raises(ValueError, match="^line 1 is not"):
        parse_checksums("0" * 63 + "X  a.txt\n")
    with pytest.raises(ValueError, match="^line 1 is not"):
        parse_checksums(f"{digest}\n")


# simulate.py: the bundle's script in a child process.

def script(tmp_path, body):
    path = tmp_path / "script.py"
    path.write_text(body)
    return path


def test_the_script_runs_isolated_in_its_folder_with_quiet_settings(tmp_path, monkeypatch):
    from neuropipe.pipeline.handoff.simulate import _run

    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the script runs on one thread whatever this is

    work = tmp_path / "work"
    work.mkdir()
    path = script(tmp_path, "import json, os, sys\n"
                  "keys = ('PYNEST_QUIET', 'XDG_CONFIG_HOME', 'MPLCONFIGDIR', 'OMP_NUM_THREADS')\n"
                  "seen = {k: os.environ.get(k) for k in keys}\n"
                  "seen.update(cwd=os.getcwd(), isolated=sys.flags.isolated)\n"
                  "open('spikes.npz', 'w').write(json.dumps(seen))\n")
    _run([str(path)], "a script", work)
    assert json.loads((work / "spikes.npz").read_text()) == {
        "PYNEST_QUIET": "1", "XDG_CONFIG_HOME": str(work), "MPLCONFIGDIR": str(work / "mpl"),
        "OMP_NUM_THREADS": "1", "cwd": str(work), "isolated": 1}


@pytest.mark.parametrize("body, words", [
    ("import sys\nprint('first', file=sys.stderr)\nprint('last\\n\\n', file=sys.stderr)\n"
     "sys.exit(3)\n", "a script failed: last"),
    ("import sys\nsys.exit(1)\n", "a script failed: ?"),
    ("import sys\nprint('x' * 500, file=sys.stderr)\nsys.exit(1)\n",
     "a script failed: " + "x" * 400),
    ("pass\n", "a script exited without writing its output spikes"),
])
def test_a_failing_script_is_one_line(tmp_path, body, words):
    from neuropipe.pipeline.handoff.simulate import SimulationError, _run

    with pytest.raises(SimulationError) as e:
        _run([str(script(tmp_path, body))], "a script", tmp_path)
    assert str(e.value) == words


def test_a_script_that_runs_too_long(tmp_path, monkeypatch):
    from neuropipe.pipeline.handoff import simulate

    monkeypatch.setattr(simulate, "TIMEOUT_S", 0.5)
    with pytest.raises(simulate.SimulationError) as e:
        simulate._run([str(script(tmp_path, "import time\ntime.sleep(20)\n"))], "a script",
                      tmp_path)
    assert str(e.value) == "a script took over 0.5 s"


class Hook:
    """A target's hook whose script writes the spikes its arguments say."""

    def __init__(self, tmp_path):
        self.script = script(tmp_path, "import sys\nimport numpy as np\n"
                             "n, out = int(sys.argv[2]), sys.argv[3]\n"
                             "np.savez(out, output_spikes=np.eye(n, 4, dtype=np.int8)[:, None],"
                             " bundle=sys.argv[1])\n")
        self.seen = []

    def simulation(self, bundle, samples, out):
        self.seen.append((bundle, out))
        return [str(self.script), str(bundle), str(samples), str(out)], "the tiny script"

    def output_spikes(self, out):
        with np.load(out) as data:
            assert str(data["bundle"]) == self.seen[-1][0].as_posix()
            return np.asarray(data["output_spikes"], dtype=bool)


def test_output_spikes_come_from_the_hooks_script_and_its_folder_goes(tmp_path, monkeypatch):
    from neuropipe.pipeline.handoff import simulate
    from neuropipe.targets import registry

    hook = Hook(tmp_path)
    monkeypatch.setattr(registry, "get_handoff", lambda target: hook if target == "t" else None)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b").mkdir()
    spikes = simulate.output_spikes("b", "t", 2)
    assert spikes.dtype == bool and spikes.tolist() == [[[True, False, False, False]],
                                                        [[False, True, False, False]]]
    bundle, out = hook.seen[0]
    assert bundle == (tmp_path / "b").resolve() and bundle.is_absolute()
    assert out.name == "spikes.npz" and out.parent.name.startswith("neuropipe-handoff-sim-")
    assert not out.parent.exists()
    with pytest.raises(simulate.SimulationError, match="^the tiny script failed: "):
        simulate.output_spikes("b", "t", -1)
    assert not hook.seen[1][1].parent.exists()


# bundle.py: building a bundle from a deployment (the Lava run stood in for, as in
# test_handoff_verify_fast.py; the real one runs in test_handoff.py).

WEIGHT = 3.0 * np.array([[1.0, 0.5, 0.2, 0.1], [0.4, 0.4, 0.3, 0.0], [0.1, 0.2, 0.5, 0.6]])
IMAGES = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0.5, 0.5]], dtype=np.float64)
LABELS = np.array([0, 2, 1])


def deploy(run, encoding="constant"):
    """A run folder with a Loihi deployment of a 4-input, 3-neuron LIF layer (no training)."""

    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.loihi.netx_export import write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain
    from neuropipe.targets.records import DeploymentRecord, Provenance

    folder = run / "targets" / "loihi"
    folder.mkdir(parents=True)
    n = 3
    nir.write(str(folder / "model.nir"), nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc": nir.Affine(weight=WEIGHT, bias=np.zeros(n)),
        "lif": nir.LIF(tau=np.full(n, 5.0), r=np.ones(n), v_leak=np.zeros(n),
                       v_threshold=np.ones(n), v_reset=np.zeros(n)),
        "output": nir.Output(output_type={"output": np.array([n])})},
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")], metadata={}))
    write_netx(quantize_chain(to_chain(read_nir(folder / "model.nir")), encoding),
               folder / "model.net")
    DeploymentRecord(target="loihi", accuracy=0.5, reference_accuracy=0.75, samples=3,
                     timesteps=6, verification={"lava": "3 of 3 identical"},
                     resources=Resources(cores=1, chips=1, steps_per_sample=6),
                     provenance=Provenance(model="tiny", encoding=encoding)
                     ).write(folder / "deployment.json")
    return folder


@pytest.fixture
def stand_ins(monkeypatch):
    """MNIST's first images and the Lava run stood in for: the emulator's spikes of IMAGES."""
    from neuropipe.pipeline.handoff import bundle, simulate

    def images(run, record, n):
        assert (run / "targets" / "loihi" / "deployment.json").is_file()
        assert record.target == "loihi"
        return IMAGES[:n], LABELS[:n], "mnist", []

    monkeypatch.setattr(bundle, "_reference_images", images)
    lava = {}
    monkeypatch.setattr(simulate, "output_spikes", lambda root, target, n: lava["spikes"][:n])
    real = bundle.get_handoff("loihi").reference

    def reference(*args):
        ref = real(*args)
        lava["spikes"] = ref.fast_output.copy()
        return ref

    hook = bundle.get_handoff("loihi")
    hook.reference = reference
    monkeypatch.setattr(bundle, "get_handoff", lambda target: hook)
    return lava


@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_make_bundle_writes_a_whole_bundle_and_nothing_else(tmp_path, stand_ins, encoding):
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle

    deploy(tmp_path / "run", encoding)
    out = tmp_path / "b"
    manifest, where = make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out,
                                                reference_inputs=2, seed=5))
    assert where == out and sorted(p.name for p in tmp_path.iterdir()) == ["b", "run"]
    assert Manifest.read(out / "manifest.json").to_dict() == manifest.to_dict()
    assert manifest.reference.samples == 2 and manifest.reference.labels == [0, 2]
    assert manifest.source_run == str((tmp_path / "run").resolve())
    assert manifest.created.endswith("+00:00") and "." not in manifest.created
    accuracy = manifest.expected_accuracy
    assert (accuracy.accuracy, accuracy.samples, accuracy.reference_accuracy,
            accuracy.verification) == (0.5, 3, 0.75, {"lava": "3 of 3 identical"})
    from neuropipe.targets.loihi.handoff import FAST

    assert accuracy.simulator == FAST
    poisson = [n for n in manifest.notes if "drawn for them alone with seed 5" in n]
    assert poisson == ([] if encoding == "constant" else [
        "the deployment's accuracy was measured with input spikes drawn in batches of 500 "
        "images from convert's --seed; the reference inputs' spikes are drawn for them alone "
        "with seed 5 and stored in reference/inputs.npz"])
    assert json.loads((out / "encoding.json").read_text())["dataset"] == "mnist"
    assert set(manifest.versions) == {"neuropipe", "numpy", "torch", "nir", "norse", "h5py",
                                      "lava-nc", "lava-dl"}


def test_make_bundle_into_a_tarball(tmp_path, stand_ins):
    import os

    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle

    deploy(tmp_path / "run")
    out = tmp_path / "new" / "deeper" / "b.tar.gz"  # folders made as needed
    manifest, _ = make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out,
                                            reference_inputs=1))
    assert manifest.reference.samples == 1
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
    assert {"b/manifest.json", "b/model.net", "b/reference/expected.npz"} <= names
    assert all(name.startswith("b") for name in names)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    assert sorted(p.name for p in out.parent.iterdir()) == ["b.tar.gz"]


def test_make_bundle_refuses_before_writing(tmp_path, stand_ins):
    from neuropipe.core.errors import InputError, TargetError
    from neuropipe.pipeline.handoff import bundle
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle

    with pytest.raises(InputError) as e:
        make_bundle(HandoffConfig(run=tmp_path, target="loihi", out=tmp_path / "b",
                                  reference_inputs=0))
    assert str(e.value) == "--reference-inputs must be at least 1, got 0"
    from neuropipe.targets.registry import get_handoff

    bundle.get_handoff = get_handoff  # the real registry (monkeypatch puts the stand-in back)
    with pytest.raises(TargetError, match="^unknown handoff target 'gpu'"):
        make_bundle(HandoffConfig(run=tmp_path, target="gpu", out=tmp_path / "b"))
    assert list(tmp_path.iterdir()) == []


def test_an_existing_out_is_refused_or_replaced_only_if_a_bundle(tmp_path):
    from neuropipe.core.errors import RunDirError
    from neuropipe.pipeline.handoff.bundle import _refuse_existing

    _refuse_existing(tmp_path / "none", False)
    _refuse_existing(tmp_path / "none.tar.gz", True)
    (tmp_path / "dangling").symlink_to(tmp_path / "none")
    cases = [
        (tmp_path / "dangling", False, f"{tmp_path / 'dangling'} already exists; pass --force "
         "to replace it (it is kept until the new bundle is complete)"),
        (tmp_path / "d.tar.gz", True, f"{tmp_path / 'd.tar.gz'} is not a file: --force only "
         "replaces bundles; choose another --out"),
        (tmp_path / "mine", True, f"{tmp_path / 'mine'} is not a handoff bundle (no "
         "manifest.json): --force only replaces bundles; choose another --out"),
        (tmp_path / "list", True, f"{tmp_path / 'list'} is not a handoff bundle (no "
         "manifest.json): --force only replaces bundles; choose another --out"),
        (tmp_path / "other", True, f"{tmp_path / 'other'} is not a handoff bundle (no "
         "manifest.json): --force only replaces bundles; choose another --out"),
        (tmp_path / "file", True, f"{tmp_path / 'file'} is not a handoff bundle (no "
         "manifest.json): --force only replaces bundles; choose another --out"),
    ]
    (tmp_path / "d.tar.gz").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "manifest.json").write_text("[1]")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "manifest.json").write_text('{"type": "deployment"}')
    (tmp_path / "file").write_text('{"type": "handoff-manifest"}')
    for out, force, words in cases:
        with pytest.raises(RunDirError) as e:
            _refuse_existing(out, force)
        assert str(e.value) == words
    (tmp_path / "old.tar.gz").write_bytes(b"x")
    _refuse_existing(tmp_path / "old.tar.gz", True)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "manifest.json").write_text('{"type": "handoff-manifest"}')
    _refuse_existing(tmp_path / "old", True)


def test_a_run_without_a_usable_deployment_is_named(tmp_path):
    from neuropipe.core.errors import RunDirError
    from neuropipe.pipeline.handoff.bundle import _deployment

    run = tmp_path / "my run"
    with pytest.raises(RunDirError) as e:
        _deployment(run, "loihi")
    assert str(e.value) == (f"run directory {run} does not exist: pass a folder made by "
                            "'neuropipe train'")
    run.mkdir()
    with pytest.raises(RunDirError) as e:
        _deployment(run, "loihi")
    assert str(e.value) == (f"{run} has no deployment to loihi: run 'neuropipe convert "
                            f"'{run}' --target loihi' first")
    folder = deploy(run)
    record, where = _deployment(run, "loihi")
    assert where == folder and record.target == "loihi" and record.samples == 3
    (folder / "model.net").unlink()
    with pytest.raises(RunDirError) as e:
        _deployment(run, "loihi")
    assert str(e.value) == (f"the deployment in {folder} lacks model.net: re-deploy with "
                            f"'neuropipe convert '{run}' --target loihi --force'")
    (folder / "model.nir").rename(folder / "kept.nir")
    with pytest.raises(RunDirError, match="lacks model.nir, model.net: re-deploy"):
        _deployment(run, "loihi")
    (folder / "kept.nir").rename(folder / "model.nir")
    from neuropipe.targets.records import DeploymentRecord

    DeploymentRecord(target="spinnaker").write(folder / "deployment.json")
    with pytest.raises(RunDirError) as e:
        _deployment(run, "loihi")
    assert str(e.value) == f"{folder / 'deployment.json'} is a deployment to 'spinnaker', not loihi"


def test_the_fast_simulators_disagreement_is_a_note():
    from neuropipe.pipeline.handoff.bundle import _fast_agreement
    from neuropipe.targets.handoff import Reference

    expected = np.zeros((3, 2, 2), dtype=bool)
    fast = expected.copy()
    fast[1, 1, 0] = fast[2, 0, 1] = True
    ref = Reference(inputs={}, fast_output=fast, encoding=InputEncoding(),
                    simulator="Lava 0.10: model.net", fast_simulator="the emulator")
    notes = ["earlier"]
    assert _fast_agreement(ref, expected, notes) == {
        "simulator": "the emulator", "samples_identical": 1, "samples": 3,
        "summary": "the emulator gives the same output spikes on 1 of 3 reference inputs."}
    assert notes == ["earlier", "the fast simulator the accuracy comes from differs from Lava "
                     "0.10 on 2 of 3 reference inputs (first: sample 1)"]
    ref.fast_output = expected
    assert _fast_agreement(ref, expected, notes)["samples_identical"] == 3 and len(notes) == 2


def test_silent_reference_inputs_are_a_note():
    from neuropipe.pipeline.handoff.bundle import _silence_notes

    assert _silence_notes(np.array([0, 3, 0, 1])) == [
        "2 of 4 reference inputs cause no output spikes in the read-out window: for them a "
        "chip that stays silent also matches; more training, or more --reference-inputs, makes "
        "the reference stronger"]
    assert _silence_notes(np.array([1, 2])) == []


def test_a_bare_graphs_dt_is_read_from_its_metadata(tmp_path):
    from types import SimpleNamespace

    from neuropipe.pipeline.handoff.bundle import _graph_dt

    graph = SimpleNamespace(metadata={"dt": np.array(0.25)})
    assert _graph_dt(tmp_path, graph) == 0.25
    assert _graph_dt(tmp_path, SimpleNamespace(metadata={"dt": "a while"})) == 1.0
    assert _graph_dt(tmp_path, SimpleNamespace(metadata=None)) == 1.0
    assert _graph_dt(tmp_path, SimpleNamespace()) == 1.0
    (tmp_path / "config.json").write_text("{}")
    assert _graph_dt(tmp_path, graph) == 1.0  # a run's graph counts in steps


def test_a_missing_library_is_named_missing(monkeypatch):
    import importlib.metadata

    from neuropipe.pipeline.handoff.bundle import _versions

    real = importlib.metadata.version

    def version(name):
        if name == "norse":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    versions = _versions("loihi")
    assert versions["norse"] == "missing" and versions["numpy"] == np.__version__
    assert list(versions) == ["neuropipe", "numpy", "torch", "nir", "norse", "h5py", "lava-nc",
                              "lava-dl"]


def test_a_folder_that_cannot_be_removed_does_not_lose_the_spikes(tmp_path, monkeypatch):
    """The temporary folder is removed on a best-effort basis: here it is already gone."""
    import shutil

    from neuropipe.pipeline.handoff import simulate
    from neuropipe.targets import registry

    hook = Hook(tmp_path)
    read = hook.output_spikes

    def read_and_remove(out):
        spikes = read(out)
        shutil.rmtree(out.parent)
        return spikes

    hook.output_spikes = read_and_remove
    monkeypatch.setattr(registry, "get_handoff", lambda target: hook)
    assert simulate.output_spikes(tmp_path, "t", 1).tolist() == [[[True, False, False, False]]]


def test_a_footprint_without_its_intensity_source_points_to_the_manifest():
    from neuropipe.pipeline.handoff.readme import render

    manifest, encoding = readme_case()
    manifest.training_footprint.constants = {}
    assert "0.000123 kg CO2e (see manifest.json).\n" in render(manifest, encoding)


def test_a_readme_of_labels_and_predictions_that_do_not_pair_is_refused():
    from neuropipe.pipeline.handoff.readme import render

    manifest, encoding = readme_case()
    manifest.reference.labels = [0, 2]
    with pytest.raises(ValueError):
        render(manifest, encoding)


# targets/handoff: the parts every target's hook shares.

def test_per_neuron_values_are_float64_one_per_neuron():
    from neuropipe.targets.handoff import per_neuron

    given = per_neuron(2, 3)
    assert given.dtype == np.float64 and given.tolist() == [2.0, 2.0, 2.0]
    values = np.array([1, 2], dtype=np.int32)
    copied = per_neuron(values, 2)
    assert copied.dtype == np.float64 and copied.flags.writeable and copied.tolist() == [1, 2]


def test_geometry_of_a_host_layer():
    from types import SimpleNamespace

    from neuropipe.targets.handoff import geometry

    dense = geometry(SimpleNamespace(kind="dense", in_shape=(4,), out_shape=(3,)))
    assert {k: v.tolist() for k, v in dense.items()} == {"in_shape": [4], "out_shape": [3]}
    conv = geometry(SimpleNamespace(kind="conv", in_shape=(1, 5, 4), out_shape=(2, 2, 3),
                                    stride=(2, 1), padding=(0, 1)))
    assert {k: v.tolist() for k, v in conv.items()} == {
        "in_shape": [1, 5, 4], "out_shape": [2, 2, 3], "stride": [2, 1], "padding": [0, 1]}


def test_the_redeploy_hint_names_the_run_of_the_deployment(tmp_path):
    from pathlib import Path

    from neuropipe.targets.handoff import redeploy_hint

    assert redeploy_hint(Path("/runs/my run/targets/loihi/model.net"), "loihi") == (
        ": re-deploy with 'neuropipe convert '/runs/my run' --target loihi --force'")


def test_a_manifest_without_neuropipes_version_says_so():
    from neuropipe.pipeline.handoff.readme import render

    manifest, encoding = readme_case()
    manifest.versions = {}
    assert "\nMade by neuropipe ? on 2026-12-07T02:00:00+00:00 from run" in render(manifest,
                                                                                 encoding)


def test_a_readme_without_the_fast_simulators_summary():
    from neuropipe.pipeline.handoff.readme import render

    manifest, encoding = readme_case()
    manifest.reference.fast_simulator = {}
    assert "equal predicted classes alone are a weaker check. \n" in render(manifest, encoding)


def test_a_deployment_without_its_netx_file_says_how_to_make_one(tmp_path):
    from neuropipe.core.errors import RunDirError
    from neuropipe.pipeline.handoff.bundle import _deployment
    from neuropipe.targets.records import DeploymentRecord

    run = tmp_path / "my run"
    folder = deploy(run)
    (folder / "model.net").unlink()
    record = DeploymentRecord.read(folder / "deployment.json")
    record.verification = {"netx_skipped": "netx holds no recurrent layer with host input: "
                                           "use --encoding poisson"}
    record.write(folder / "deployment.json")
    start = (f"the Loihi deployment in {folder} has no netx .net file, which a Loihi handoff "
             "is built on: netx holds no recurrent layer with host input: use --encoding "
             "poisson; that is 'neuropipe convert")
    with pytest.raises(RunDirError) as e:
        _deployment(run, "loihi")
    assert str(e.value) == (start + "' of the NIR file again with --encoding poisson --force")
    (run / "config.json").write_text("{}")  # a training run
    with pytest.raises(RunDirError) as e:
        _deployment(run, "loihi")
    assert str(e.value) == (start + f" '{run}' --target loihi --encoding poisson --force'")


def test_force_replaces_an_earlier_bundle_once_the_new_one_is_whole(tmp_path, stand_ins):
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle

    deploy(tmp_path / "run")
    out = tmp_path / "b"
    make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out,
                              reference_inputs=1))
    (out / "old.txt").write_text("from the earlier bundle")
    manifest, _ = make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out,
                                            reference_inputs=2, force=True))
    assert manifest.reference.samples == 2 and not (out / "old.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "run"]


# bundle.py: the reference images, the training footprint, make_bundle's lock, staging and
# failures (issue 23, third round: the mutants not run before).

def fake_test_set(monkeypatch, n=4):
    """``load_dataset`` gives 2 x 2 test images 0, 17, ..., 255 (k * 17 = 255 * k / 15)."""
    from neuropipe.models.data import datasets

    calls = []
    x = (np.arange(n * 4) * 17).astype(np.uint8).reshape(n, 2, 2)
    y = np.array([3, 1, 4, 1, 5, 9][:n], dtype=np.int32)

    def load(name, data_dir):
        calls.append((name, data_dir))
        return datasets.Dataset(name, x[:0], y[:0], x, y, "a stand-in")

    monkeypatch.setattr(datasets, "load_dataset", load)
    return calls


def test_reference_images_are_the_first_test_images_as_the_model_takes_them(tmp_path,
                                                                            monkeypatch):
    from neuropipe.pipeline.handoff.bundle import _reference_images
    from neuropipe.targets.records import DeploymentRecord

    calls = fake_test_set(monkeypatch)
    x, labels, dataset, notes = _reference_images(tmp_path, DeploymentRecord(), 3)
    assert calls == [("mnist", None)] and dataset == "mnist" and notes == []
    # uint8 k * 17 over 255 in float32 (to_tensor), then float64; one channel added
    assert x.dtype == np.float64 and x.shape == (3, 1, 2, 2)
    assert x.ravel().tolist() == (np.arange(12, dtype=np.float32) * 17 / np.float32(255)
                                  ).astype(np.float64).tolist()
    assert x.ravel()[-1] == np.float32(11 / 15) and x.ravel()[0] == 0.0
    assert labels.dtype == np.int64 and labels.tolist() == [3, 1, 4]
    x, labels, _, notes = _reference_images(tmp_path, DeploymentRecord(), 4)  # all: no note
    assert len(x) == 4 and labels.tolist() == [3, 1, 4, 1] and notes == []
    x, labels, _, notes = _reference_images(tmp_path, DeploymentRecord(), 5)
    assert len(x) == 4 and labels.tolist() == [3, 1, 4, 1]
    assert notes == ["5 reference inputs were asked for; the test set has 4, so the bundle "
                     "holds 4"]


def test_reference_images_come_from_the_training_runs_data_folder(tmp_path, monkeypatch):
    from neuropipe.models.records import TrainConfig
    from neuropipe.pipeline.handoff.bundle import _reference_images
    from neuropipe.targets.records import DeploymentRecord, Provenance

    calls = fake_test_set(monkeypatch)
    fashion = DeploymentRecord(provenance=Provenance(dataset="fashion-mnist"))
    TrainConfig(model="mlp", dataset="fashion-mnist", data_dir="/data/f").write(
        tmp_path / "config.json")
    assert _reference_images(tmp_path, fashion, 1)[2] == "fashion-mnist"
    TrainConfig(model="mlp", dataset="mnist", data_dir="/data/m").write(tmp_path / "config.json")
    _reference_images(tmp_path, fashion, 1)  # trained on another dataset: its folder is not used
    assert calls == [("fashion-mnist", "/data/f"), ("fashion-mnist", None)]


def write_energy(run):
    """An ``energy.json`` in ``run``; returns the footprint it gives (by hand)."""
    from neuropipe.reports.energy_record import EnergyRecord
    from neuropipe.reports.meter.records import ComponentEnergy, Measurement

    components = [ComponentEnergy(component="cpu", energy_j=30.0, method="rapl"),
                  ComponentEnergy(component="dram", energy_j=6.0, method="estimate",
                                  note="no DRAM counter: 3 W per GB assumed")]
    EnergyRecord(total=Measurement(name="train", duration_s=9.0, components=components),
                 duration_s=12.5, kwh=1e-5, kwh_pue=1.2e-5, co2e_kg=4e-6,
                 constants={"pue": 1.2}, leaves_out=["the GPU"]).write(run / "energy.json")
    return TrainingFootprint(
        duration_s=12.5, energy_j=36.0,  # 30 J + 6 J; the record's duration, not the window's
        methods={"cpu": "rapl", "dram": "no DRAM counter: 3 W per GB assumed"},
        kwh=1e-5, kwh_pue=1.2e-5, co2e_kg=4e-6, constants={"pue": 1.2},
        leaves_out=["the GPU"])


def test_the_training_footprint_is_the_runs_energy_json(tmp_path):
    from neuropipe.pipeline.handoff.bundle import _training_footprint

    assert _training_footprint(tmp_path) is None  # no energy.json
    (tmp_path / "energy.json").write_text("[1]")
    assert _training_footprint(tmp_path) is None  # not a record
    expected = write_energy(tmp_path)
    footprint = _training_footprint(tmp_path)
    assert isinstance(footprint, TrainingFootprint)
    assert footprint.to_dict() == expected.to_dict()


def test_make_bundle_records_the_runs_training_footprint(tmp_path, stand_ins, monkeypatch):
    from neuropipe.pipeline.handoff import bundle
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle
    from neuropipe.targets.handoff import Reference
    from neuropipe.targets.records import DeploymentRecord

    folder = deploy(tmp_path / "run")
    record = DeploymentRecord.read(folder / "deployment.json")
    estimate = EnergyEstimate(cost_model="loihi1", level="chip", total_j=2.5e-6)
    record.estimates, record.notes = [estimate], ["a deployment note"]
    record.provenance.versions = {"neuropipe": "0.0", "lava-nc": "0.10.0"}
    record.provenance.encoding = ""  # a record without it: constant input
    record.write(folder / "deployment.json")
    expected = write_energy(tmp_path / "run")
    hook, written = bundle.get_handoff("loihi"), []
    real_write = hook.write_files
    monkeypatch.setattr(hook, "write_files", lambda root, folder, ref: written.append(ref) or
                        real_write(root, folder, ref))
    manifest, _ = make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi",
                                            out=tmp_path / "b", reference_inputs=1))
    assert manifest.training_footprint.to_dict() == expected.to_dict()
    assert (manifest.target, manifest.model, manifest.dataset) == ("loihi", "tiny", "mnist")
    assert manifest.resources.to_dict() == Resources(cores=1, chips=1,
                                                     steps_per_sample=6).to_dict()
    assert [e.to_dict() for e in manifest.energy] == [estimate.to_dict()]
    assert manifest.deployed_with == {"neuropipe": "0.0", "lava-nc": "0.10.0"}
    assert manifest.notes[-1] == "a deployment note"
    assert Manifest.read(tmp_path / "b" / "manifest.json").to_dict() == manifest.to_dict()
    assert json.loads((tmp_path / "b" / "encoding.json").read_text())["encoding"] == "constant"
    assert len(written) == 1 and isinstance(written[0], Reference)  # the hook gets the reference
    assert np.array_equal(written[0].fast_output, stand_ins["spikes"])


def test_make_bundle_locks_out_and_stages_beside_it(tmp_path, stand_ins, monkeypatch):
    from neuropipe.pipeline.handoff import bundle
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle

    seen = []
    real_exclusive, real_staging = bundle.exclusive, bundle.make_staging

    def exclusive(lock, what):
        seen.append(("lock", lock, what))
        return real_exclusive(lock, what)

    def make_staging(parent, prefix, suffix):
        seen.append(("staging", parent, prefix, suffix))
        return real_staging(parent, prefix, suffix)

    monkeypatch.setattr(bundle, "exclusive", exclusive)
    monkeypatch.setattr(bundle, "make_staging", make_staging)
    deploy(tmp_path / "run")
    out = tmp_path / "b"
    make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out,
                              reference_inputs=1))
    assert seen == [("lock", tmp_path / ".b.lock", str(out)),
                    ("staging", tmp_path, ".b.", ".partial")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "run"]


def test_make_bundle_names_what_it_cannot_write(tmp_path, stand_ins, monkeypatch):
    import errno

    from neuropipe.core.errors import InterruptedRun, WriteError
    from neuropipe.pipeline.handoff import bundle
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, make_bundle

    deploy(tmp_path / "run")
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(WriteError) as e:
        make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi",
                                  out=tmp_path / "file" / "b"))
    assert str(e.value) == (f"cannot write to {tmp_path / 'file'}: {tmp_path / 'file'} is a "
                            "file, not a folder; choose another --out")

    def refuse(*args):
        raise OSError(errno.EACCES, "Permission denied")

    out, real_staging = tmp_path / "b", bundle.make_staging
    monkeypatch.setattr(bundle, "make_staging", refuse)
    with pytest.raises(WriteError) as e:
        make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out))
    assert str(e.value) == f"cannot write {tmp_path}: Permission denied; choose another --out"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "run"]  # the lock is gone
    monkeypatch.setattr(bundle, "make_staging", real_staging)
    monkeypatch.setattr(bundle, "_move_into_place", refuse)
    with pytest.raises(WriteError) as e:
        make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out))
    assert str(e.value) == (f"cannot write {out}: Permission denied; choose another --out; "
                            f"nothing was written at {out}")

    def interrupt(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle, "_move_into_place", interrupt)
    with pytest.raises(InterruptedRun) as e:
        make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out))
    assert str(e.value) == f"interrupted; nothing was written at {out}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "run"]
    out.mkdir()
    (out / "manifest.json").write_text('{"type": "handoff-manifest"}')
    with pytest.raises(InterruptedRun) as e:
        make_bundle(HandoffConfig(run=tmp_path / "run", target="loihi", out=out, force=True))
    assert str(e.value) == (f"interrupted; nothing was written at {out} and the earlier "
                            "bundle is kept")


# targets/handoff (the hooks' shared parts, encoding.json) and targets/loihi/handoff.py: the
# parts the tiny bundle does not reach (issue 23, the full pass's survivors).

def tiny_chain(folder, readout=False):
    """The 4-input, 3-neuron LIF layer of ``deploy`` as a chain (with a 3-class readout)."""
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain

    n = 3
    nodes = {"input": nir.Input(input_type={"input": np.array([4])}),
             "fc": nir.Affine(weight=WEIGHT, bias=np.zeros(n)),
             "lif": nir.LIF(tau=np.full(n, 5.0), r=np.ones(n), v_leak=np.zeros(n),
                            v_threshold=np.ones(n), v_reset=np.zeros(n))}
    edges = [("input", "fc"), ("fc", "lif")]
    if readout:
        nodes["readout"] = nir.Affine(weight=np.array([[2.0, -1, 0], [0, 1, -1]]),
                                      bias=np.array([0.5, 0.25]))
        edges += [("lif", "readout"), ("readout", "output")]
    else:
        edges += [("lif", "output")]
    nodes["output"] = nir.Output(output_type={"output": np.array([2 if readout else n])})
    nir.write(str(folder / "model.nir"), nir.NIRGraph(nodes=nodes, edges=edges, metadata={}))
    return to_chain(read_nir(folder / "model.nir"))


def test_an_encoding_record_of_schema_version_1_reads_with_no_readout():
    record = InputEncoding(target="loihi", encoding="rate", timesteps=4, steps=6,
                           readout="readout.npz", window_start=2, window_stop=6)
    v2 = record.to_dict()
    assert InputEncoding.from_dict(v2).readout == "readout.npz"  # version 2 keeps its readout
    v1 = {k: v for k, v in v2.items() if k != "readout"}
    v1["schema_version"] = 1
    old = InputEncoding.from_dict(v1)
    assert old.readout == "" and old.schema_version == 2
    assert old.to_dict() == {**v2, "readout": ""}
    assert InputEncoding.from_dict({**v1, "readout": "readout.npz"}).readout == ""
    from neuropipe.core.errors import RunDirError

    with pytest.raises(RunDirError) as e:
        InputEncoding.from_dict({**v1, "type": "handoff-manifest"})
    assert str(e.value) == "expected a 'handoff-encoding' record, found type 'handoff-manifest'"
    with pytest.raises(RunDirError) as e:
        InputEncoding.from_dict({**v2, "schema_version": 3})
    assert str(e.value).startswith("'handoff-encoding' record has schema version 3, ")


def test_the_loihi_hooks_script_arguments_and_output_file(tmp_path):
    from pathlib import Path

    from neuropipe.targets.loihi.handoff import LoihiHandoff

    hook = LoihiHandoff()
    assert hook.simulation(Path("/b"), 3, Path("/o/s.npz")) == (
        ["/b/run_lava.py", "/b/model.net", "/b/reference/inputs.npz", "--samples", "3",
         "--out", "/o/s.npz"], "the Lava run of model.net (run_lava.py)")
    # counts 0, 2 / 1, 0 saved as integers: read back as spikes (nonzero), bool
    np.savez(tmp_path / "s.npz", output_spikes=np.array([[[0, 2], [1, 0]]]),
             other=np.ones(3))
    spikes = hook.output_spikes(tmp_path / "s.npz")
    assert spikes.dtype == bool and spikes.tolist() == [[[False, True], [True, False]]]
    with pytest.raises(NotImplementedError) as e:
        hook.read_network(tmp_path / "model.net")
    assert str(e.value) == "a Loihi bundle's model.net is the deployed file"
    with pytest.raises(NotImplementedError) as e:
        hook.resources(tmp_path, 6)
    assert str(e.value) == "a Loihi bundle has no resources file"


def test_the_loihi_how_to_run_of_bias_and_graded_input():
    from neuropipe.targets.loihi.handoff import LoihiHandoff

    hook = LoihiHandoff()
    spikes = hook.how_to_run(InputEncoding(chip_input="spikes", steps=6))
    assert "\n".join(spikes) in README  # the README's own section, word for word
    at = spikes.index("# (inputs, steps); a convolutional first layer wants (W, H, C, steps)")
    bias = hook.how_to_run(InputEncoding(chip_input="bias", steps=6, constants={"bias_exp": 7}))
    assert bias == spikes[:at] + [
        "# first-layer neurons get the host-computed input as their bias:",
        "neuron = net.layers[0].neuron",
        "mant = inputs['bias_mant'][k]  # flattened C-H-W; Lava wants (W, H, C) for conv",
        "neuron.bias_mant.init = mant.reshape(neuron.bias_mant.shape)",
        "neuron.bias_exp.init = np.full(neuron.bias_exp.shape, 7)"] + spikes[at + 3:]
    graded = hook.how_to_run(InputEncoding(chip_input="graded spikes", steps=9,
                                           constants={"input_message_bits": 5}))
    net = spikes.index("net = netx.hdf5.Network(net_config='model.net')  # a fresh network "
                       "per sample")
    assert graded[net] == ("net = netx.hdf5.Network(net_config='model.net', "
                           "input_message_bits=5)  # a fresh network per sample")
    assert graded[net + 1] == "sink = Sink(shape=net.out.shape, buffer=9)"
    assert graded[at + 3] == ("net.run(condition=RunSteps(num_steps=9), "
                              "run_cfg=Loihi2SimCfg(select_tag='fixed_pt'))")
    assert len(graded) == len(spikes)


def test_the_loihi_rule_of_graded_input_in_words():
    from neuropipe.targets.loihi.handoff import loihi_graded_rule

    assert loihi_graded_rule(31, 5) == (
        "payload p_i = rint(x_i * 31) (integers 0..31, 5 message bits) of every input i, sent "
        "once per sample at step 0 as one graded spike into the .net's first synapse layer "
        "(net.inp; load with netx.hdf5.Network(net_config, input_message_bits=5), the file's "
        "input_message_bits attribute); zero payloads send nothing; the first layer's current "
        "holds it (iDecay 0) from step 1 to the end of the sample")


def test_a_deployment_skipped_for_another_reason_has_no_fix(tmp_path):
    from neuropipe.core.errors import RunDirError
    from neuropipe.targets.loihi.handoff import LoihiHandoff
    from neuropipe.targets.records import DeploymentRecord

    record = DeploymentRecord(target="loihi", verification={"netx_skipped": "no h5py"})
    with pytest.raises(RunDirError) as e:
        LoihiHandoff().check_deployment(record, tmp_path / "d", tmp_path)
    assert str(e.value) == (f"the Loihi deployment in {tmp_path / 'd'} has no netx .net file, "
                            "which a Loihi handoff is built on: no h5py")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "model.net").write_bytes(b"")  # a netx file after all: nothing to refuse
    LoihiHandoff().check_deployment(record, tmp_path / "d", tmp_path)
    LoihiHandoff().check_deployment(DeploymentRecord(target="loihi"), tmp_path / "e", tmp_path)


def _loihi_reference_of(tmp_path, encoding):
    """The tiny chain quantised for ``encoding``, its ``model.net`` and the Loihi reference."""
    from neuropipe.targets.loihi.handoff import loihi_reference
    from neuropipe.targets.loihi.netx_export import write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain

    chain = tiny_chain(tmp_path)
    layers = quantize_chain(chain, encoding)
    write_netx(layers, tmp_path / "model.net")
    return chain, layers, loihi_reference(chain, tmp_path / "model.net", IMAGES, LABELS,
                                          encoding, 4, 6, 5, "mnist")


def test_the_loihi_reference_of_graded_input(tmp_path):
    """Payloads rint(255 x) at step 0 only: 127.5 rounds to the even 128."""
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.handoff import loihi_graded_rule

    chain, layers, ref = _loihi_reference_of(tmp_path, "graded")
    payloads = [[255, 0, 0, 255], [0, 255, 255, 0], [255, 255, 128, 128]]
    spikes = ref.inputs["spikes"]
    assert spikes.dtype == np.int32 and spikes.shape == (3, 6, 4)
    assert spikes[:, 0].tolist() == payloads and not spikes[:, 1:].any()
    assert spikes.flags.c_contiguous
    assert sorted(ref.inputs) == ["images", "labels", "spikes", "steps"]
    assert ref.inputs["images"].dtype == np.float32 and ref.inputs["steps"].tolist() == 6
    e = ref.encoding
    assert (e.target, e.dataset, e.encoding) == ("loihi", "mnist", "graded")
    assert (e.chip_input, e.constants, e.host_layer, ref.host_layer) == (
        "graded spikes", {"input_message_bits": 8, "pixel_max": 255}, "", None)
    assert e.chip_input_rule == loihi_graded_rule(255, 8)
    assert e.step_duration == "one Lava/Loihi algorithmic time step"
    # the emulator fed the same payloads, (steps, samples, inputs), step 0 only
    fed = np.zeros((6, 3, 4), dtype=np.int32)
    fed[0] = payloads
    fast = emulate(layers, 6, input_spikes=fed).spikes[-1].transpose(1, 0, 2)
    assert ref.fast_output.tolist() == fast.tolist() and ref.fast_output.flags.c_contiguous
    assert ref.fast_output.sum(axis=1).tolist() == [[2, 0, 1], [1, 1, 1], [2, 2, 1]]


def test_the_common_part_of_encoding_json_field_by_field(tmp_path):
    """Window = the last 4 of 6 steps: start 6 - 4 = 2, stop 6; a seed only for Poisson."""
    from types import SimpleNamespace

    from neuropipe.targets.handoff import common_encoding
    from neuropipe.targets.handoff import encoding as enc

    hidden = [SimpleNamespace(neuron_name=f"lif{k}", name=f"fc{k}", neurons=7 + k)
              for k in (0, 1)]
    out = SimpleNamespace(neuron_name="lif2", name="fc2", neurons=3)
    chain = SimpleNamespace(input_shape=(np.int64(1), 2, 2), readout=None,
                            layers=[*hidden, out])
    got = common_encoding("spinnaker", "fashion-mnist", chain, "rate", 4, 6, 5)
    assert got.to_dict() == InputEncoding(
        target="spinnaker", dataset="fashion-mnist", input_shape=[1, 2, 2], encoding="rate",
        timesteps=4, steps=6, seed=None, spike_rule=enc.RATE_RULE, output_layer="lif2",
        classes=3, readout="", decode=enc.decode_rule(4, 2, 6, False), window_start=2,
        window_stop=6).to_dict()
    assert type(got.input_shape[0]) is int and got.decode == (
        "class = the output neuron with the most spikes in steps 2..5 (0-based; the last 4 "
        f"steps of each sample, after the pipeline delay); {enc.TIE_RULE}")
    poisson = common_encoding("loihi", "mnist", chain, "poisson", 4, 6, 5)
    assert (poisson.seed, poisson.spike_rule) == (5, enc.POISSON_RULE)
    constant = common_encoding("loihi", "mnist", chain, "constant", 4, 6, 5)
    assert (constant.seed, constant.spike_rule) == (None, "")
    out.neuron_name = ""  # a layer without a neuron node of its own: the layer's name
    chain.readout = SimpleNamespace(classes=2)
    read = common_encoding("loihi", "mnist", chain, "constant", 6, 7, 0)
    assert (read.output_layer, read.classes, read.readout, read.window_start,
            read.window_stop) == ("fc2", 2, "readout.npz", 1, 7)
    assert read.decode == enc.decode_rule(6, 1, 7, True)
    real = common_encoding("loihi", "mnist", tiny_chain(tmp_path, readout=True), "latency",
                           4, 6, 0)
    assert (real.input_shape, real.output_layer, real.classes, real.readout) == (
        [4], "lif", 2, "readout.npz")


def test_readout_arrays_are_float64_whatever_the_graph_holds(tmp_path):
    from types import SimpleNamespace

    from neuropipe.targets.handoff import readout_arrays

    assert readout_arrays(SimpleNamespace(readout=None)) is None
    readout = SimpleNamespace(weight=np.array([[1, -2]], dtype=np.int32),
                              bias=np.array([0.5], dtype=np.float32))
    arrays = readout_arrays(SimpleNamespace(readout=readout))
    assert sorted(arrays) == ["bias", "weight"]
    assert arrays["weight"].dtype == np.float64 and arrays["weight"].tolist() == [[1.0, -2.0]]
    assert arrays["bias"].dtype == np.float64 and arrays["bias"].tolist() == [0.5]
    real = readout_arrays(tiny_chain(tmp_path, readout=True))
    assert real["weight"].tolist() == [[2.0, -1.0, 0.0], [0.0, 1.0, -1.0]]
    assert real["bias"].tolist() == [0.5, 0.25]


def test_the_decode_rule_in_words_with_and_without_a_readout():
    from neuropipe.targets.handoff.encoding import TIE_RULE, decode_rule

    window = ("steps 3..8 (0-based; the last 6 steps of each sample, after the pipeline "
              "delay)")  # stop 9 - 1 = 8
    assert decode_rule(6, 3, 9) == (f"class = the output neuron with the most spikes in "
                                    f"{window}; {TIE_RULE}")
    assert decode_rule(6, 3, 9, True) == (
        f"c = the output layer's spike counts per neuron in {window}; scores = W @ c + b with "
        f"W, b from readout.npz (run on the host); class = argmax of the scores; {TIE_RULE}")


def test_h5_difference_names_the_first_dataset_or_attribute_that_differs(tmp_path):
    """Datasets at any depth and the file's attributes count; groups only hold them."""
    from neuropipe.targets.loihi.handoff import h5_difference

    def write(name, weight=(1, 2), bits=8, extra=None):
        with h5py.File(tmp_path / name, "w") as f:
            f.attrs["bits"] = bits
            f.create_dataset("layer/0/weight", data=np.array(weight))
            f.create_dataset("layer/0/bias", data=np.array([0]))
            if extra:
                f.create_group(extra)
        return tmp_path / name

    a = write("a.h5")
    assert h5_difference(a, write("same.h5")) == ""
    assert h5_difference(a, write("group.h5", extra="empty")) == ""  # an empty group: no data
    assert h5_difference(a, write("value.h5", weight=(1, 3))) == "'layer/0/weight' differs"
    assert h5_difference(a, write("shape.h5", weight=(1, 2, 0))) == "'layer/0/weight' differs"
    assert h5_difference(a, write("attr.h5", bits=7)) == "'@bits' differs"
    with h5py.File(tmp_path / "more.h5", "w") as f:
        f.attrs["bits"] = 8
        f.create_dataset("layer/0/weight", data=np.array([1, 2]))
        f.create_dataset("layer/0/bias", data=np.array([0]))
        f.create_dataset("layer/1/weight", data=np.array([5]))
    assert h5_difference(a, tmp_path / "more.h5") == "'layer/1/weight' is in only one of them"
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    assert h5_difference(a, tmp_path / "junk.h5").startswith("unreadable: ")


def test_a_deployed_net_of_another_encoding_is_not_what_the_graph_quantises_to(tmp_path):
    """A rate deployment's .net has no input_bias_exp; the constant encoding's has."""
    from neuropipe.core.errors import RunDirError
    from neuropipe.targets.loihi.handoff import loihi_reference
    from neuropipe.targets.loihi.netx_export import write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain

    folder = tmp_path / "run" / "targets" / "loihi"
    folder.mkdir(parents=True)
    chain = tiny_chain(folder)
    write_netx(quantize_chain(chain, "rate"), folder / "model.net")
    with pytest.raises(RunDirError) as e:
        loihi_reference(chain, folder / "model.net", IMAGES, LABELS, "constant", 4, 6, 5,
                        "mnist")
    assert str(e.value) == (
        f"{folder / 'model.net'} is not what the deployment's model.nir quantises to "
        f"('@input_bias_exp' is in only one of them): re-deploy with 'neuropipe convert "
        f"{tmp_path / 'run'} --target loihi --force'")


def test_the_loihi_reference_of_constant_input_is_its_host_layer_and_bias(tmp_path):
    """tau 5, dt 1: leak = gain = 1/5; the rule of encoding.json applied to host_layer.npz."""
    from neuropipe.core.errors import RunDirError
    from neuropipe.targets.loihi.handoff import LOIHI_BIAS_RULE, loihi_reference

    chain, layers, ref = _loihi_reference_of(tmp_path, "constant")
    host = ref.host_layer
    assert list(host) == ["weight", "bias", "leak", "v_leak", "gain", "scale", "in_shape",
                          "out_shape"]
    assert host["weight"].tolist() == WEIGHT.tolist() and host["bias"].tolist() == [0, 0, 0]
    scale = layers[0].scale
    assert {k: host[k].tolist() for k in ("leak", "v_leak", "gain", "scale")} == {
        "leak": [0.2] * 3, "v_leak": [0.0] * 3, "gain": [0.2] * 3, "scale": [scale] * 3}
    assert (host["in_shape"].tolist(), host["out_shape"].tolist()) == ([4], [3])
    e = ref.encoding
    assert (e.chip_input, e.chip_input_rule, e.host_layer, e.constants) == (
        "bias", LOIHI_BIAS_RULE, "host_layer.npz", {"bias_exp": 7, "host_layer_kind": "dense"})
    assert sorted(ref.inputs) == ["bias_mant", "images", "labels", "steps"]
    mant = ref.inputs["bias_mant"]
    rule = np.clip(np.rint(host["scale"] * 64 * (host["leak"] * host["v_leak"] + host["gain"]
                                                  * (IMAGES @ host["weight"].T + host["bias"]))
                           / 2**7), -4096, 4095)
    assert mant.dtype == np.int32 and mant.tolist() == rule.tolist()
    # sample 0, neuron 1: W @ x = 3 (0.4 + 0) = 1.2; scale 64 / 2**7 * 0.2 * 1.2 = 0.12 scale
    assert mant[0, 1] == round(0.12 * scale) == 910
    # three times brighter: 8 of the 9 mantissas pass 4095 (all but sample 0, neuron 1: 2730)
    with pytest.raises(RunDirError) as err:
        loihi_reference(chain, tmp_path / "model.net", 3 * IMAGES, LABELS, "constant", 4, 6, 5,
                        "mnist")
    assert str(err.value) == "8 bias values of the reference inputs do not fit 13 bits"


def test_the_loihi_reference_of_rate_spikes(tmp_path):
    """Rate code over 4 of 6 steps: x = 1 spikes every step, 0.5 at steps 1 and 3, 0 never."""
    from neuropipe.targets.loihi.handoff import LOIHI_SPIKES_RULE, loihi_reference
    from neuropipe.targets.loihi.netx_export import write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain

    chain = tiny_chain(tmp_path)
    write_netx(quantize_chain(chain, "rate"), tmp_path / "model.net")
    ref = loihi_reference(chain, tmp_path / "model.net", IMAGES, LABELS, "rate", 4, 6, 5,
                          "mnist")
    spikes = ref.inputs["spikes"]
    assert spikes.dtype == bool and spikes.shape == (3, 6, 4) and spikes.flags.c_contiguous
    half = [[1, 1, 0, 0], [1, 1, 1, 1]] * 2  # x = (1, 1, 0.5, 0.5) at steps 0..3
    assert spikes.astype(int).tolist() == [
        [[1, 0, 0, 1]] * 4 + [[0] * 4] * 2, [[0, 1, 1, 0]] * 4 + [[0] * 4] * 2,
        half + [[0] * 4] * 2]
    assert sorted(ref.inputs) == ["images", "labels", "spikes", "steps"]
    e = ref.encoding
    assert (e.chip_input, e.chip_input_rule, e.host_layer, e.constants, ref.host_layer) == (
        "spikes", LOIHI_SPIKES_RULE, "", {}, None)
