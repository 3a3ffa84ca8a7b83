"""The host targets' deployments field by field, on a recurrent layer with a readout, a GPU
that is not here, and the machine's own description (fast: a few neurons, 3 samples)."""

import contextlib

import numpy as np
import pytest

from neuropipe.targets.base import Workload
from neuropipe.targets.chain import Chain, Layer, Neuron, Readout
from neuropipe.targets.host import target as host_target
from neuropipe.targets.registry import get_target
from tests.targets.conftest import RecordingProgress

X = np.array([[1.0], [0.5], [1.0]])  # 3 samples of one pixel
LABELS = np.array([0, 1, 0])


def recurrent_chain():
    """1 pixel -> 2 LIF (alpha 0.5, r 2: leak 0.5, gain 1, threshold 0.9), W = [[1], [0.5]],
    b = [0, 0.1], recurrent (post, pre) [[0, -0.6], [0.8, 0]]; readout to 3 classes of
    [[1, 0], [0, 2], [0.5, 0]] (its second column has one nonzero weight, the first two)."""
    layer = Layer("fc", "dense", np.array([[1.0], [0.5]]), np.array([0.0, 0.1]), (1,), (2,),
                  Neuron("lif", 0.5, 2.0, 0.0, 0.9), neuron_name="lif",
                  recurrent=np.array([[0.0, -0.6], [0.8, 0.0]]), recurrent_name="rec")
    readout = Readout("ro", np.array([[1.0, 0.0], [0.0, 2.0], [0.5, 0.0]]), np.zeros(3))
    return Chain(input_shape=(1,), layers=[layer], readout=readout)


class _Meter:
    """Stands in for the pipeline's meter: 3 J over a 0.6 s window, from RAPL."""

    def __init__(self):
        self.names = []

    @contextlib.contextmanager
    def window(self, name):
        from neuropipe.reports.meter.records import ComponentEnergy, Measurement

        self.names.append(name)
        handle = type("H", (), {"result": None})()
        yield handle
        handle.result = Measurement(name=name, duration_s=0.6,
                                    components=[ComponentEnergy("cpu", 3.0, "rapl")])


def test_a_recurrent_layer_with_a_readout_on_the_cpu_by_hand(monkeypatch):
    """Constant input, T = 3, the float (delay-free) simulation; I = W x + b + R s(t-1).

    x = 1: I = [1, 0.6]. t0: v = [1.0 (spike), 0.6]. t1: I = [1, 0.6] + R [1, 0] = [1, 1.4]:
    both spike (n1: 0.6 - 0.3 + 1.4 = 1.7). t2: I = [1, 0.6] + R [1, 1] = [0.4, 1.4]: n1 only.
    Spikes [2, 2]; fed back (steps 0 and 1) [2, 1].
    x = 0.5: I = [0.5, 0.35]: n0 0.5, 0.75, 0.875; n1 0.35, 0.525, 0.6125: no spike.
    Per inference over (1, 0.5, 1): spikes [4/3, 4/3]; fed back [4/3, 2/3]; the pixel is
    nonzero on 3 steps of each sample (3); outputs nonzero [2/3, 2/3].
    MACs: 2 weights x 3 steps = 6 dense, 3 x fan-out 2 = 6 effective. Recurrent ACs: 4 x 3 =
    12 dense, 4/3 x 1 + 2/3 x 1 = 2 effective. Readout: 6 dense, 2/3 x 2 + 2/3 x 1 = 2
    effective MACs. Neuron updates 2 x 3 = 6.
    """
    monkeypatch.setenv("NEUROPIPE_THREADS", "1")
    meter = _Meter()
    record = get_target("cpu").deploy(Workload(recurrent_chain(), X, LABELS, timesteps=3,
                                               reference_accuracy=0.5),
                                      None, batch_size=2, meter=meter)
    fc, rec, ro = record.layers
    assert (fc.name, fc.kind, rec.kind, ro.kind) == ("fc", "dense", "recurrent", "readout")
    assert fc.ops == {"dense": 6.0, "effective": 6.0, "op": "MAC"}
    assert fc.synops_per_inference == 0.0  # MACs, not synaptic events
    assert rec.ops == {"dense": 12.0, "effective": pytest.approx(2.0), "op": "AC"}
    assert rec.synops_per_inference == pytest.approx(2.0)
    assert ro.ops == {"dense": 6.0, "effective": pytest.approx(2.0), "op": "MAC"}
    assert fc.spikes_per_inference == pytest.approx(8 / 3)  # 4/3 + 4/3
    assert fc.neuron_updates_per_inference == 6.0 and fc.synapses_on == "host"
    assert (fc.neurons, fc.synapses) == (2, 2)
    c = record.counts
    assert c.synops == pytest.approx(2.0) and c.neuron_updates == 6.0 and c.host_macs == 0.0
    assert c.spikes == pytest.approx(8 / 3) and c.input_spikes == 0.0
    assert c.ops == {"dense_macs": 12.0, "dense_acs": 12.0,
                     "effective_macs": pytest.approx(8.0), "effective_acs": pytest.approx(2.0)}
    # Scores W_ro counts: A (2, 2) -> (2, 4, 1): class 1; B (0, 0): class 0; labels 0, 1, 0.
    assert record.accuracy == 0.0 and record.samples == 3 and record.timesteps == 3
    assert record.network == "snn"
    # Degnan CPU, 8.6 nJ per dense op and per update: (12 + 12 + 6) x 8.6 nJ.
    by = {e.cost_model: e for e in record.estimates}
    assert by["degnan-cpu"].default and record.energy_per_inference_j == pytest.approx(
        30 * 8.6e-9)
    assert by["horowitz-fp32-effective"].total_j == pytest.approx(
        8 * 4.6e-12 + 2 * 0.9e-12 + 6 * 4.6e-12)
    # The meter's one window over the 3 inferences (warm-up outside it): 3 J / 3.
    assert meter.names == ["cpu-inference"]
    assert by["meter"].total_j == pytest.approx(1.0) and by["meter"].level == "measured"
    v = record.verification
    assert v["threads"] == 1 and v["batch_size"] == 2 and v["samples"] == 3
    assert v["warmup_batches"] == 1 and v["measured_on_device"] is True
    assert v["reference_accuracy"] == 0.5 and record.reference_accuracy == 0.5
    assert v["samples_per_s"] == pytest.approx(3 / v["wall_s"])
    assert v["execution"].endswith("float32 on cpu, one dense pass per step")
    res = record.resources
    assert (res.cores, res.chips, res.boards, res.steps_per_sample) == (1, 1, None, 3)
    assert res.time_per_inference_s == pytest.approx(v["wall_s"] / 3)
    assert res.details == {"batch_size": 2} and res.placement.startswith("host: ")
    assert record.leaves_out == list(by["degnan-cpu"].leaves_out)
    notes = " ".join(record.notes)
    assert "3 dense passes per inference" in notes and "kind 'recurrent'" in notes
    assert "host readout 'ro'" in notes and "are not comparable with each other" in notes
    assert record.artifacts == {}


def test_spikes_in_count_as_input_spikes_and_their_synapses_as_acs():
    # Poisson input of pixels (1, 0.5, 1): 1 always spikes (3 steps); 0.5 is random. The first
    # layer's inputs are spikes: ACs. Input spikes per inference = what the layer received.
    record = get_target("cpu").deploy(Workload(recurrent_chain(), X, LABELS, timesteps=3,
                                               encoding="poisson", seed=1), None)
    fc = record.layers[0]
    assert fc.ops["op"] == "AC" and fc.synops_per_inference == fc.ops["effective"]
    # The effective ACs are the input spikes x fan-out 2.
    assert record.counts.input_spikes == pytest.approx(fc.ops["effective"] / 2)
    assert 2.0 <= record.counts.input_spikes <= 3.0  # 3 + (0..3) + 3 over 3 samples
    # The spikes are the workload's seed's: the raster every target draws from that seed.
    from neuropipe.targets.float_sim import encode_input

    for seed in (1, 2, 3):
        raster = encode_input(X.astype(np.float32), 3, "poisson", np.random.default_rng(seed))
        again = get_target("cpu").deploy(Workload(recurrent_chain(), X, LABELS, timesteps=3,
                                                  encoding="poisson", seed=seed), None)
        assert again.counts.input_spikes == pytest.approx(raster.sum() / 3)
    assert record.verification["measured_on_device"] is False  # no meter given
    assert record.verification["batch_size"] == 256  # the default batch
    (meter,) = [e for e in record.estimates if e.cost_model == "meter"]
    assert meter.terms[0].joules_per_inference is None


def test_a_gpu_that_is_not_here_runs_on_the_cpu_unmeasured(monkeypatch):
    monkeypatch.setattr(host_target, "cuda_status", lambda: (False, "no CUDA device here"))
    target = get_target("gpu")
    record = target.deploy(Workload(recurrent_chain(), X, LABELS, timesteps=3), None,
                           meter=_Meter())
    # The same figures as on the CPU (the arithmetic does not depend on the device).
    assert record.layers[0].ops == {"dense": 6.0, "effective": 6.0, "op": "MAC"}
    assert record.verification["measured_on_device"] is False
    assert "wall_s" not in record.verification and "threads" not in record.verification
    assert record.verification["execution"].endswith("float32 on cpu, one dense pass per step")
    res = record.resources
    # Not timed: one core (a GPU), no time per inference; the device named as missing.
    assert res.cores == 1 and res.time_per_inference_s is None
    assert res.placement == "host (not here: no CUDA device here)"
    by = {e.cost_model: e for e in record.estimates}
    assert by["degnan-gpu"].default and record.energy_per_inference_j == pytest.approx(
        30 * 0.3e-9)
    assert by["meter"].terms[0].note == "not measured: no CUDA device here"
    a = target.availability()
    assert (a.available, a.reason) == (True, "no CUDA device here: counts and costs only, "
                                             "not measured")


def test_an_untimed_cpu_run_counts_torchs_threads(monkeypatch):
    import torch

    target = get_target("cpu")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    assert target._cores() == 3 and get_target("gpu")._cores() == 1


def test_measure_times_one_pass_and_reads_the_meter():
    target = get_target("cpu")
    calls = []
    measured, timing = target._measure(lambda: calls.append(1), 4, None, {"batch_size": 2})
    assert measured is None and calls == [1]
    assert timing["batch_size"] == 2 and timing["samples"] == 4
    assert timing["warmup_batches"] == 1 and timing["wall_s"] > 0
    assert timing["samples_per_s"] == pytest.approx(4 / timing["wall_s"])
    meter = _Meter()
    measured, _ = target._measure(lambda: calls.append(2), 4, meter, {})
    assert calls == [1, 2] and measured.duration_s == 0.6 and meter.names == ["cpu-inference"]


def test_cpu_availability_supports_and_model(monkeypatch, hand_graph, make_recurrent_graph):
    import nir

    target = get_target("cpu")
    monkeypatch.setattr(host_target, "cpu_model", lambda: "Test CPU")
    monkeypatch.setattr(host_target.os, "cpu_count", lambda: 6)
    a = target.availability()
    assert (a.available, a.reason) == (True, "6 CPU threads (Test CPU)")
    assert target.device_here() == (True, "6 CPU threads (Test CPU)")
    assert target.supports(None) == [] and target.supports(hand_graph) == []
    graph = nir.NIRGraph(nodes={"a": nir.Affine(weight=np.ones((1, 1)), bias=np.zeros(1))},
                         edges=[])
    (problem,) = target.supports(graph)
    assert problem and problem == get_target("loihi").supports(graph)[0]


def test_cpu_model_reads_the_first_model_name(monkeypatch):
    text = "processor\t: 0\nvendor\t: X\nmodel name\t: Fancy CPU: v2 @ 3 GHz \nmodel name\t: B\n"

    class FakePath:
        def __init__(self, path):
            assert path == "/proc/cpuinfo"

        def read_text(self, encoding):
            assert encoding == "utf-8"
            return text

    monkeypatch.setattr(host_target, "Path", FakePath)
    assert host_target.cpu_model() == "Fancy CPU: v2 @ 3 GHz"  # split at the first colon only
    text = "processor\t: 0\n"
    import platform

    monkeypatch.setattr(platform, "processor", lambda: "")
    assert host_target.cpu_model() == "unknown CPU"
    monkeypatch.setattr(platform, "processor", lambda: "x86_64")
    assert host_target.cpu_model() == "x86_64"

    class Unreadable(FakePath):
        def read_text(self, encoding):
            raise OSError("no /proc")

    monkeypatch.setattr(host_target, "Path", Unreadable)
    assert host_target.cpu_model() == "x86_64"


def test_cuda_status_names_the_device(monkeypatch):
    import torch

    status = host_target.cuda_status.__wrapped__
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i: f"GPU{i}")
    assert status() == (True, "CUDA device GPU0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert status() == (False, "no CUDA device here (torch.cuda.is_available() is False)")


@pytest.mark.parametrize("name", ["cpu", "spinnaker", "spinnaker2"])
def test_the_graphs_dt_reaches_the_chain_reader(name, tmp_path, make_fast_lif_graph):
    fast_lif_graph = make_fast_lif_graph
    target = get_target(name)
    (problem,) = target.supports(fast_lif_graph())
    assert "dt/tau = 1.33333 with dt=1" in problem
    assert target.supports(fast_lif_graph(), 0.5) == []
    if name != "cpu":
        return  # the SpiNNaker deployment with dt: test_spinnaker_by_hand
    # Deployed at dt 0.5 (at dt 1 the chain reader refuses the graph): 6 weights x 2 steps.
    x = np.array([[1.0, 0.5, 1.0]])
    record = target.deploy(Workload(fast_lif_graph(), x, np.array([0]), timesteps=2, dt=0.5),
                           tmp_path)
    assert record.layers[0].ops["dense"] == 12.0


def test_a_pass_that_takes_no_time_has_no_rate(monkeypatch):
    monkeypatch.setattr(host_target.time, "perf_counter", lambda: 5.0)
    _, timing = get_target("cpu")._measure(lambda: None, 4, None, {})
    assert timing["wall_s"] == 0.0 and timing["samples_per_s"] is None


def test_an_onnx_run_measures_every_sample_once_after_one_warm_up_batch(tmp_path, monkeypatch):
    """A Linear(2, 2) ANN, 5 float64 samples (cast to float32), batches of 2: after the
    counting pass, the warm-up runs the first batch (2 samples) outside the meter, the metered
    pass 2 + 2 + 1 = 5 samples in 3 batches; the session uses the thread count core.threads
    chose (1 here), which the record keeps (not torch's 7)."""
    import onnxruntime as ort
    import torch

    path = tmp_path / "lin.onnx"
    model = torch.nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 2.0]]))
        model.bias.zero_()
    torch.onnx.export(model, (torch.zeros(1, 2),), str(path), dynamo=False,
                      input_names=["image"], dynamic_axes={"image": {0: "batch"}})
    runs, created = [], []

    class Counting(ort.InferenceSession):
        def __init__(self, data, options, providers):
            created.append((options.intra_op_num_threads, providers))
            super().__init__(data, options, providers=providers)

        def run(self, outputs, feed):
            runs.append(feed["image"].shape[0])
            assert feed["image"].dtype == np.float32
            return super().run(outputs, feed)

    monkeypatch.setattr(ort, "InferenceSession", Counting)
    monkeypatch.setenv("NEUROPIPE_THREADS", "1")
    import torch as _torch

    monkeypatch.setattr(_torch, "get_num_threads", lambda: 7)  # not what the session used
    meter = _Meter()
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [0.5, 0.5]])
    # timesteps 3 is ignored: an ANN runs one pass per sample.
    record = get_target("cpu").deploy(Workload(None, x, np.array([0, 1, 1, 0, 1]), timesteps=3,
                                               onnx=str(path)), tmp_path, batch_size=2,
                                      meter=meter)
    # The counting pass (run_probed, its own session) 2 + 2 + 1; then the timed session:
    # warm-up 2, the metered pass 2 + 2 + 1.
    assert created == [(1, ["CPUExecutionProvider"])] * 2
    assert runs == [2, 2, 1, 2, 2, 2, 1]
    assert meter.names == ["cpu-inference"]
    assert record.verification["threads"] == 1 and record.resources.cores == 1
    assert record.verification["execution"].startswith("onnxruntime ")
    assert record.verification["measured_on_device"] is True
    assert record.samples == 5 and record.timesteps == 1 and record.network == "ann"
    assert record.resources.steps_per_sample == 1 and record.resources.neurons_per_core_limit == 0
    assert record.artifacts == {"onnx": "model.onnx"} and (tmp_path / "model.onnx").is_file()
    # Dense 4 MACs an image; effective: nonzero pixels x fan-out (column 0: 2, column 1: 1):
    # 2, 1, 3, 0, 3 -> 9 / 5.
    assert record.counts.ops["dense_macs"] == 4.0
    assert record.counts.ops["effective_macs"] == pytest.approx(9 / 5)




def test_host_deployments_report_their_progress(tmp_path):
    import torch

    progress = RecordingProgress()
    get_target("cpu").deploy(Workload(recurrent_chain(), X, LABELS, timesteps=3), None,
                             batch_size=2, progress=progress)
    # 3 samples counted in batches of 2 and 1.
    assert progress.calls == [("add", "cpu: counting", 3), ("update", 1, {"advance": 2}),
                              ("update", 1, {"advance": 1})]
    path = tmp_path / "lin.onnx"
    torch.onnx.export(torch.nn.Linear(1, 2), (torch.zeros(1, 1),), str(path), dynamo=False,
                      input_names=["image"], dynamic_axes={"image": {0: "batch"}})
    progress = RecordingProgress()
    get_target("cpu").deploy(Workload(None, X, LABELS, timesteps=1, onnx=str(path)), tmp_path,
                             batch_size=2, progress=progress)
    assert progress.calls == [("add", "cpu: counting", 3), ("update", 1, {"advance": 2}),
                              ("update", 1, {"advance": 1})]


def test_a_hidden_layers_spikes_are_per_inference(hand_graph):
    # The hand graph (3 -> 2 IF -> 2 IF), Poisson (1, 1, 0) twice, T = 4: L0 n0 fires on each
    # of 4 steps (1.001 > 0.9), n1 on every second (0.6): 6 a sample, 6 per inference (not 12).
    x = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    record = get_target("cpu").deploy(Workload(hand_graph, x, np.array([0, 0]), timesteps=4,
                                               encoding="poisson"), None)
    assert record.layers[0].spikes_per_inference == 6.0


def test_poisson_draws_compare_with_the_float32_pixel(monkeypatch):
    """Seed 8's first draw is r = 0.3269722766055607; the pixel 0.3269722766055608 (the next
    float64) is above it, but as float32 (0.32697227) below it. The host runs float32 pixels,
    as the pipeline's images are: no input spike, so no output spike (IF threshold 0.5,
    weight 1), not one of each."""
    monkeypatch.setenv("NEUROPIPE_THREADS", "1")
    r = np.random.default_rng(8).random()
    pixel = np.nextafter(r, 1.0)
    assert np.float32(pixel) < r < pixel
    chain = Chain(input_shape=(1,), layers=[Layer(
        "fc", "dense", np.array([[1.0]]), np.zeros(1), (1,), (1,),
        Neuron("if", 1.0, 1.0, 0.0, 0.5))])
    record = get_target("cpu").deploy(
        Workload(chain, np.array([[pixel]]), np.array([0]), timesteps=1, encoding="poisson",
                 seed=8), None, batch_size=1)
    assert record.counts.input_spikes == 0.0 and record.counts.spikes == 0.0
