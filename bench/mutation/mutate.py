"""Mutation testing of the modules that produce figures, with mutmut 3; prints the score per module.

Usage: ``python bench/mutation/mutate.py [--jobs N] [--workdir DIR] [--keep] [--show-survivors]
[--only MODULE ...] [--tests PATH ...]`` (``make mutate``: every module of ``MODULES``, each with
its own tests). Not part of ``make test`` (nor of ``make bench``, which runs ``bench/*.py``:
hence the subfolder): a full run takes about two hours on 2 quiet cores. At the end it prints
per module the mutants, killed, survived, without tests, words only, judged equivalent
(``EQUIVALENT``) and the score killed / (mutants - words - equivalent).

Every mutant mutmut leaves alive in a function that runs at import (:func:`run_at_import`) is
run once more in a new process that starts with it on (:func:`rerun_in_new_processes`): mutmut
forks its runs from a process that imported the project unmutated, so a mutant of code that runs
at import (the cost tables) could not be killed there.
Mutants whose one change is to a string holding a space (a message, a label) are counted as
``words`` (:func:`words_only`) and not run again.

mutmut 3 names a mutant after its file's path (``targets/counting.py`` -> ``targets.counting``)
and only activates it when the running function's ``__module__`` has that name. neuropipe maps
folders onto ``neuropipe.*`` (``[tool.setuptools.package-dir]``), so run in place every mutant
would be named ``targets.*`` while the tests import ``neuropipe.targets.*``: nothing would be
mutated and everything would "survive" (or mutmut stops: no test hits a mutant). So the source
is copied into a work folder with the ordinary layout (``neuropipe/targets/counting.py``) and
mutmut runs there; the tree you work in is never modified. mutmut puts its ``mutants/`` folder
first on ``sys.path``, ahead of the editable install's finder (appended to ``sys.meta_path``),
so the tests import the mutated copy. mutmut's own forced-failure check (every trampoline
raises) must fail the tests before any mutant is run, and this script checks again afterwards
that a deliberately broken mutant (``fan_out`` returning nothing) was killed.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "pipeline", "models", "targets", "reports")

# Each module mutated by ``make mutate`` -> the fast test files that check it (run against its
# mutants, and against its module-level numbers in the constants pass). Modules with the same
# tests share one mutmut run. ``--only`` picks modules (any module of the packages, with
# ``--tests`` for one not in this map); ``--tests`` replaces the map's tests for every module
# picked. The test lists are those of the runs in docs/testing.md.
_ROUND1 = (  # first round (2026-11-26): the fast tests that check figures
    "tests/reports/test_accounting_by_hand.py",
    "tests/targets/test_counting_properties.py",
    "tests/targets/test_quantize_formulas.py",
    "tests/targets/test_chain_and_counting.py",
    "tests/core/test_records.py",
    "tests/core/test_records_decode.py",
    "tests/core/test_files.py",
    "tests/reports/test_energy_record_machine.py",
    "tests/reports/test_accounting.py",
    "tests/targets/test_emulator_edges.py",
    "tests/targets/test_loihi_hand_count.py",
    "tests/targets/test_loihi_emulator.py",
    "tests/pipeline/test_failure_paths.py",
)
_COUNTING = (  # issue 23, second round: counting, costs, records
    "tests/targets/test_asymmetric_by_hand.py",
    "tests/targets/test_counting_properties.py",
    "tests/targets/test_chain_and_counting.py",
    "tests/core",
    "tests/reports/test_report_choices.py",
    "tests/targets/test_batches.py",
    "tests/targets/test_host.py",
    "tests/targets/test_host_ops_by_hand.py",
    "tests/reports/test_accounting_by_hand.py",
)
_REPORT = ("tests/reports/test_answer.py", "tests/reports/test_report_choices.py")
_SPINNAKER = ("tests/targets/test_spinnaker_by_hand.py", "tests/targets/test_asymmetric_by_hand.py",
              "tests/targets/test_cost_tables.py")
_HOST = ("tests/targets/test_host_deploy_by_hand.py", "tests/targets/test_host.py",
         "tests/targets/test_batches.py", "tests/targets/test_host_ops_by_hand.py",
         "tests/targets/test_asymmetric_by_hand.py", "tests/targets/test_cost_tables.py")
_QUANTIZE = ("tests/targets/test_graded_quantize_by_hand.py",
             "tests/targets/test_quantize_formulas.py", "tests/targets/test_chain_and_counting.py")
_CELLS = ("tests/reports/test_report_cells_by_hand.py", "tests/reports/test_report_choices.py",
          "tests/reports/test_report_tables_by_hand.py")
_RENDER = ("tests/reports/test_render_by_hand.py", "tests/reports/test_accounting.py")
_METER = ("tests/reports/test_meter_by_hand.py", "tests/reports/test_accounting_by_hand.py")
_LOIHI_EMULATOR = (  # issue 23, fourth round: the emulator's arithmetic, then Lava agreement
    "tests/targets/test_loihi_emulator_by_hand.py",
    "tests/targets/test_emulator_float32.py",
    "tests/targets/test_emulator_edges.py",
    "tests/targets/test_loihi_hand_count.py",
    "tests/targets/test_loihi_emulator.py",
)
_LOIHI_COSTS = ("tests/targets/test_loihi_resources_by_hand.py",
                "tests/targets/test_counting_properties.py",
                "tests/targets/test_loihi_hand_count.py")
_HANDOFF = ("tests/pipeline/test_handoff_verify_fast.py",
            "tests/pipeline/test_handoff_parts_fast.py")

MODULES: dict[str, tuple[str, ...]] = {
    # targets/counting and costs, records (issue 23, second round)
    "targets/counting.py": _COUNTING,
    "targets/costs.py": _COUNTING,
    "targets/records.py": _COUNTING,
    "core/records.py": _COUNTING,
    "targets/loihi/costs.py": _LOIHI_COSTS,  # the cost table's constants, loihi_resources
    "targets/loihi/emulator.py": _LOIHI_EMULATOR,
    "core/files.py": _ROUND1,
    # reports/ (issue 23, first runs: answer, spike_ties, uncertainty, comparison)
    "reports/answer.py": _REPORT,
    "reports/spike_ties.py": _REPORT,
    "reports/uncertainty.py": _REPORT,
    "reports/comparison.py": _REPORT,
    "reports/footprint.py": _ROUND1,
    "reports/energy_record.py": _ROUND1,
    # the rest of reports/ (issue 23, third round)
    "reports/aspects.py": ("tests/reports/test_aspects_by_hand.py",
                           "tests/reports/test_aspects.py"),
    "reports/learning_views.py": ("tests/reports/test_learning_views_by_hand.py",
                                  "tests/reports/test_learning_views.py",
                                  "tests/reports/test_report_choices.py"),
    "reports/rows.py": ("tests/reports/test_rows_by_hand.py",
                        "tests/reports/test_report_choices.py"),
    "reports/report/data.py": ("tests/reports/test_report_data_by_hand.py",),
    "reports/report/headline.py": _CELLS,
    "reports/report/text.py": _CELLS,
    "reports/render.py": _RENDER,
    "reports/measure_command.py": _RENDER,
    # test_meter.py's timed waits fail mutmut's clean run on a loaded machine: left out
    "reports/meter/records.py": _METER,
    "reports/meter/powercap.py": _METER,
    "reports/meter/estimate.py": _METER,
    "reports/meter/monitor.py": _METER,
    "reports/meter/nvml.py": _METER,
    "reports/meter/pyrapl_backend.py": _METER,
    # targets/spinnaker, targets/host, quantisation (issue 23, third round)
    "targets/spinnaker/target.py": _SPINNAKER,
    "targets/spinnaker/network.py": _SPINNAKER,
    "targets/spinnaker/fast_path.py": _SPINNAKER,
    "targets/spinnaker/costs.py": _SPINNAKER,
    "targets/host/target.py": _HOST,
    "targets/host/ops.py": _HOST,
    "targets/host/costs.py": _HOST,
    "targets/loihi/quantize.py": _QUANTIZE,
    # pipeline/handoff (issue 23): verify's checks on a tiny bundle, Lava stood in for
    "pipeline/handoff/verify.py": _HANDOFF,
    "pipeline/handoff/bundle.py": _HANDOFF,
    "pipeline/handoff/manifest.py": _HANDOFF,
    "pipeline/handoff/readme.py": _HANDOFF,
    "pipeline/handoff/simulate.py": _HANDOFF,
    "targets/handoff/__init__.py": _HANDOFF,  # the hooks' shared parts
    "targets/handoff/encoding.py": _HANDOFF,
    "targets/loihi/handoff.py": _HANDOFF,
    # the SpiNNaker handoff hook and its PyNN script, on tiny networks (pyNN.nest in-process)
    "targets/spinnaker/handoff.py": ("tests/targets/test_spinnaker_handoff_fast.py",),
    "targets/spinnaker/pynn_network.py": ("tests/targets/test_pynn_network_by_hand.py",),
}

# Modules that mix figures with drawing: only these functions count. The rest (matplotlib
# figures, colours, label offsets) is checked by the report tests, which draw whole reports
# (10-15 s each: too slow to run against six hundred mutants).
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "reports/report/headline.py": ("points", "_merged", "_overlap", "_inside", "_tie_name"),
}

# Mutants judged equivalent (no test can tell them apart), per module: mutmut's name -> why.
# They are subtracted before the score is printed, so it is the share of non-equivalent mutants
# killed. mutmut numbers the mutants of a function in order, so an entry is only right for the
# source it was judged on: after a module changes, its entries are checked again (the script
# names any that no longer exist, or that were killed).
_V = "neuropipe.pipeline.handoff.verify.x_"
_UTF8 = "read_text: the same codec (UTF-8 is the default in this UTF-8 locale)"
_STRICT = "zip(strict=...): reached only when the two arrays have the same shape"
_N = "neuropipe.targets.spinnaker.network.x_"
_P = "neuropipe.targets.spinnaker.pynn_network.x_"
_T = "neuropipe.targets.spinnaker.target.x_"
_S = "neuropipe.targets.spinnaker.target.xǁSpiNNakerTargetǁ"
_S2 = "neuropipe.targets.spinnaker.target.xǁSpiNNaker2Targetǁ"
_Q = "neuropipe.targets.loihi.quantize.x_"
_H = "neuropipe.targets.host.target.xǁHostTargetǁ"
_E = "neuropipe.targets.loihi.emulator.x_"
_F64 = ("dtype left to the input: the chain's neuron parameters are floats or float64 arrays, "
        "and the workload's float32 inputs meet float64 weights in every use (float32 -> "
        "float64 is exact)")
_HO = "neuropipe.targets.host.ops.x_"
_DEFAULT = "a keyword argument dropped whose value is the dataclass field's default"
_C = "neuropipe.targets.counting.x_"
_PC = "neuropipe.reports.meter.powercap."
_MO = "neuropipe.reports.meter.monitor."
_ZIP_ZONES = ("zip(strict=...): the zones and each reading of them (counter.read() reads every "
              "zone) have the same length")
_DEAD_REASON = "CpuDramEstimator.reason is never read (its notes name Meter.cpu_reason)"
_CSV_CELL = ("csv_rows is read by render_csv alone, and the csv module writes \"\", None and a "
             "missing key as the same empty cell")
EQUIVALENT: dict[str, dict[str, str]] = {
    "targets/counting.py": {
        _C + "fan_out__mutmut_11": "astype(None) is astype(float64), the dtype asked for",
        **dict.fromkeys([f"{_C}readout_report__mutmut_{n}" for n in (12, 15, 16, 18)], _DEFAULT),
        **dict.fromkeys([f"{_C}recurrent_report__mutmut_{n}" for n in (12, 14, 15, 17, 18)],
                        _DEFAULT),
    },
    "targets/costs.py": dict.fromkeys(
        [f"neuropipe.targets.costs.x_energy_terms__mutmut_{n}" for n in (35, 46)], _DEFAULT),
    "core/records.py": dict.fromkeys(
        [f"neuropipe.core.records.xǁRecordǁread__mutmut_{n}" for n in (5, 7)], _UTF8),
    "core/files.py": {
        "neuropipe.core.files.x_umask_mode__mutmut_3":
            "os.umask(1) for os.umask(0): the call only reads the mask, restored at once",
        "neuropipe.core.files.x_write_json_atomic__mutmut_8": "sort_keys=None is False",
        "neuropipe.core.files.x_write_json_atomic__mutmut_11": "sort_keys dropped: False is "
                                                               "json's default",
        "neuropipe.core.files.x_write_text_atomic__mutmut_7": "encode(\"UTF-8\"): the same codec",
    },
    "reports/aspects.py": dict.fromkeys(
        [f"neuropipe.reports.aspects.x_aspect_rows__mutmut_{n}" for n in (78, 82)],
        "the sort key's fallback for an aspect not in the order list (always taken, or 100 "
        "for 99): aspects_of only yields aspects of that list"),
    "reports/learning_views.py": {
        "neuropipe.reports.learning_views.x_training_choices__mutmut_42":
            "continue -> break when there is no baseline: base is the same for every row and "
            "nothing else is in the loop",
    },
    "reports/report/data.py": {
        **dict.fromkeys([f"neuropipe.reports.report.data.x__finding_rows__mutmut_{n}"
                         for n in (285, 295, 305)], _CSV_CELL),  # unit "" -> unitXX / None / none
        **dict.fromkeys([f"neuropipe.reports.report.data.x__finding_rows__mutmut_{n}"
                         for n in (310, 312, 313)],
                        "cost_models.get(level, default): aspect_rows sets ratios[level] and "
                        "cost_models[level] together, the default is never read"),
        "neuropipe.reports.report.data.x_render_csv__mutmut_12": _CSV_CELL,  # None passed on
        **dict.fromkeys([f"neuropipe.reports.report.data.x_render_csv__mutmut_{n}"
                         for n in (18, 20, 21)],
                        "row.get(k, default) after 'row.get(k) is None' took the missing "
                        "keys: the default is never read"),
    },
    "reports/render.py": {
        **dict.fromkeys([f"neuropipe.reports.render.x_energy_table__mutmut_{n}"
                         for n in (27, 29, 30, 52, 54, 57)],
                        "average_power_w.get(..., default): energy_record gives a power to every "
                        "component and to 'total', and the table is drawn only for the record "
                        "measure_command has just built: the default is never read"),
        "neuropipe.reports.render.x_energy_table__mutmut_39":
            "the total row's method cell None for \"\": rich draws both as an empty cell",
    },
    "reports/measure_command.py": {
        "neuropipe.reports.measure_command.x_check_writable__mutmut_4":
            "str(path.parent) or True: a Path's parent is never \"\" ('.' for a bare name)",
    },
    "reports/meter/powercap.py": {
        _PC + "x__name__mutmut_4": "an unreadable zone name, \"\" or \"XXXX\": neither starts "
                                   "with 'package' nor is 'dram', so the zone is skipped "
                                   "either way",
        **dict.fromkeys([_PC + f"xǁCounterPollerǁjoules_between__mutmut_{n}" for n in (5, 9, 10)],
                        _ZIP_ZONES),
        **dict.fromkeys([_PC + f"xǁCounterPollerǁpoll__mutmut_{n}" for n in (6, 10, 11)],
                        _ZIP_ZONES),
    },
    "reports/meter/estimate.py": {
        **dict.fromkeys([f"neuropipe.reports.meter.estimate.xǁCpuDramEstimatorǁ__init____mutmut_{n}"
                         for n in (1, 8)], _DEAD_REASON),
        "neuropipe.reports.meter.estimate.xǁRssSamplerǁ_rss__mutmut_3":
            "total = rss for total += rss: total is 0 just before",
    },
    "reports/meter/monitor.py": {
        **dict.fromkeys([_MO + f"xǁMeterǁ__init____mutmut_{n}" for n in (1, 2)],
                        "the gpus default 'auto' misspelt: gpus is only compared with 'none' and "
                        "'require', so any other word is auto"),
        _MO + "xǁMeterǁ__init____mutmut_5": "Meter.notes is never read (nor written after "
                                            "__init__)",
        _MO + "xǁMeterǁ__init____mutmut_29": _DEAD_REASON,
        _MO + "xǁMeterǁ_rapl_components__mutmut_20":
            "pyrapl_state is None exactly when self._pyrapl is (begin_window; "
            "PyRaplCounter.begin returns a Measurement, never None): 'or' is 'and' here",
        _MO + "xǁMeterǁend_window__mutmut_10": "components = ... for +=: components is [] just "
                                               "before",
        **dict.fromkeys([_MO + f"xǁMeterǁend_window__mutmut_{n}" for n in (73, 74)],
                        "warnings.warn's stacklevel: which caller line the warning names"),
    },
    "reports/meter/nvml.py": {
        **dict.fromkeys([f"neuropipe.reports.meter.nvml.xǁNvmlCounterǁ{f}__mutmut_{n}"
                         for f in ("begin", "end") for n in (4, 7, 8)],
                        "zip(strict=...): one handle per has_counter flag and per begin state, "
                        "all made from the same handle list"),
        "neuropipe.reports.meter.nvml.xǁPowerSamplerǁrun__mutmut_6":
            "stopping = None for False: only its truth is read (while not stopping)",
    },
    "reports/meter/pyrapl_backend.py": {
        "neuropipe.reports.meter.pyrapl_backend.x__load__mutmut_3":
            "root.addHandler(None) for a NullHandler while logging is disabled: the handler is "
            "never called, and the root has a handler either way (no basicConfig)",
        "neuropipe.reports.meter.pyrapl_backend.x__load__mutmut_7":
            "redirect_stdout(None): print() with sys.stdout None writes nothing, as to a "
            "StringIO",
    },
    "reports/report/headline.py": dict.fromkeys(
        [f"neuropipe.reports.report.headline.x__overlap__mutmut_{n}" for n in (25, 27)],
        "w >= 0 (or h >= 0) for > 0: at 0 the product w * h is 0.0, the value returned "
        "otherwise"),
    "reports/answer.py": {
        "neuropipe.reports.answer.x__sentences__mutmut_36":
            "conventional_j or 1 where a line has a ratio: build_answer sets one only when the "
            "conventional figure is > 0, so the 'or' is never taken",
    },
    "pipeline/handoff/verify.py": {
        _V + "check_claims__mutmut_24": _UTF8,  # encoding=None
        _V + "check_claims__mutmut_26": _UTF8,  # encoding dropped
        _V + "check_claims__mutmut_33": _UTF8,  # "UTF-8"
        _V + "_fast_agreement__mutmut_11": _STRICT,
        _V + "_fast_agreement__mutmut_14": _STRICT,
        _V + "_fast_agreement__mutmut_15": _STRICT,
        _V + "rebuild__mutmut_29": "labels' file name in a message: _load_expected has already "
                                   "refused a bundle without labels",
        _V + "rebuild__mutmut_34": "the same (labels' file name, checked before)",
        _V + "rebuild__mutmut_35": "the same (labels' file name, checked before)",
        _V + "rebuild__mutmut_61": "images.astype(None): None is float64",
        **dict.fromkeys([f"{_V}rebuild__mutmut_{n}" for n in (181, 183)],
                        "np.asarray(ref.fast_output, dtype=None or dropped): its one use, "
                        "_fast_agreement, compares shapes and values (array_equal), not dtypes"),
        _V + "_npz__mutmut_2": "np.load(allow_pickle=None): None refuses pickles as False does",
        _V + "_npz__mutmut_4": "np.load without allow_pickle: numpy's default is False",
        _V + "_read_manifest__mutmut_8": _UTF8,
        _V + "_read_manifest__mutmut_11": _UTF8,
        **dict.fromkeys([f"{_V}verify_bundle__mutmut_{n}" for n in (74, 77, 78)],
                        "zip(strict=...): the shapes were compared just before"),
        _V + "verify_bundle__mutmut_91": "decode(..., window_stop=None): the window always "
                                         "ends at the last step (common_encoding: stop = steps)",
        _V + "verify_bundle__mutmut_98": "decode(got[k:k + 2])[0] is sample k's class",
        _V + "verify_bundle__mutmut_51": "the progress task's total=None dropped: a bar of 100 "
                                         "while Lava runs, then the update sets 1 of 1 either way",
        **dict.fromkeys(
            [f"{_V}rebuild__mutmut_{n}" for n in range(129, 139)],
            "the message of a readout.npz present without a readout in model.nir (or the "
            "reverse): unreachable, the encoding.json check above refuses it first"),
    },
    "pipeline/handoff/bundle.py": {
        **dict.fromkeys([f"neuropipe.pipeline.handoff.bundle.x__fast_agreement__mutmut_{n}"
                         for n in (9, 12, 13)],
                        "zip(strict=...): the script is asked for len(x) samples, the fast "
                        "simulator ran len(x)"),
        **dict.fromkeys([f"neuropipe.pipeline.handoff.bundle.x__graph_dt__mutmut_{n}"
                         for n in (16, 18)],
                        "meta.get('dt', None): float(None) raises TypeError, caught: dt = 1.0, "
                        "the default either way"),
        **dict.fromkeys([f"neuropipe.pipeline.handoff.bundle.x__assemble__mutmut_{n}"
                         for n in (24, 106)],
                        "add_task without total=None: a bar of 100 while it runs, then the "
                        "update sets 1 of 1 either way"),
        **dict.fromkeys([f"neuropipe.pipeline.handoff.bundle.x__move_into_place__mutmut_{n}"
                         for n in (4, 5, 30, 31)],
                        "the name of a temporary inside the staging folder, removed after"),
        "neuropipe.pipeline.handoff.bundle.x__refuse_existing__mutmut_18": _UTF8,
        "neuropipe.pipeline.handoff.bundle.x__refuse_existing__mutmut_20": _UTF8,
        "neuropipe.pipeline.handoff.bundle.x__refuse_existing__mutmut_24":
            "is_bundle = None for False where the manifest cannot be read: both refuse",
        "neuropipe.pipeline.handoff.bundle.x__reference_images__mutmut_20":
            "n = None after the cap's note: n exceeds the test set there, and [:n] of a longer "
            "n or of None both take every image",
        "neuropipe.pipeline.handoff.bundle.x__reference_images__mutmut_22":
            "astype(None): numpy's None is float64, the dtype asked for",
    },
    "targets/spinnaker/network.py": {
        _N + "_per_neuron__mutmut_6": _F64,  # asarray(dtype=None)
        _N + "_per_neuron__mutmut_8": _F64,  # asarray without dtype
        _N + "_bias_per_neuron__mutmut_11": "astype(None) is astype(float64)",
        _N + "cell__mutmut_11": "errstate(divide=None): nothing divides by zero, "
                                "min(leak, 1 - 1e-16) = 0.9999999999999999 keeps log1p finite",
        _N + "cell__mutmut_32": "min(leak, 1 + 1e-16) = min(leak, 1.0): only leaks below 1 "
                                "reach the log (np.where takes 1e-3 ms for a leak of 1)",
        _N + "cell__mutmut_33": "min(leak, 2 - 1e-16): every float below 1 is at most "
                                "1 - 1e-16 (0.9999999999999999), so the min is the leak either way",
        _N + "connections__mutmut_51": "reshape(oc, -2): numpy reads any negative size as 'the "
                                       "rest'",
    },
    "targets/spinnaker/handoff.py": {
        "neuropipe.targets.spinnaker.handoff.x_spinnaker_reference__mutmut_2":
            "astype(None): numpy's None is float64, the dtype asked for",
        **dict.fromkeys([f"neuropipe.targets.spinnaker.handoff.xǁSpiNNakerHandoffǁresources"
                         f"__mutmut_{n}" for n in (3, 6)], _UTF8),  # encoding None, "UTF-8"
    },
    "targets/spinnaker/pynn_network.py": {
        **dict.fromkeys([_P + f"load__mutmut_{n}" for n in (2, 4)],
                        "np.load(allow_pickle=None or left out): numpy refuses pickles either way"),
        **dict.fromkeys([_P + f"project__mutmut_{n}" for n in (9, 13, 18, 19)],
                        "the sign test of a weight as 2 w, -2 w, 1 / w or >= 0: the same for every "
                        "nonzero weight, and network_file lists nonzero weights only"),
        _P + "project__mutmut_8": "post <= post_hi: PyNN's FromListConnector drops a post index "
                                  "past its population (the next block gets that synapse too)",
        **dict.fromkeys([_P + f"project__mutmut_{n}" for n in (36, 42)],
                        "synapse_type left to PyNN: its default is StaticSynapse"),
        **dict.fromkeys([_P + f"project__mutmut_{n}" for n in (38, 44, 53)],
                        "a projection's label: a name, read by no figure"),
        **dict.fromkeys([_P + f"project__mutmut_{n}" for n in (46, 48)],
                        "column_names None or left out: PyNN names a list's third and fourth "
                        "columns weight and delay"),
        _P + "cell_parameters__mutmut_2": "astype(None): numpy's None is float64, the dtype "
                                          "asked for",
        **dict.fromkeys([_P + f"run_nest__mutmut_{n}" for n in (6, 7, 8)],
                        "PYNEST_QUIET: NEST's banner, swallowed by quiet() anyway"),
        **dict.fromkeys([_P + f"run_nest__mutmut_{n}" for n in (18, 19, 20, 21)],
                        "the scale factor of v: v is only ever initialised to 0"),
        _P + "run_nest__mutmut_27": "min_delay left to PyNN ('auto': the 1 ms timestep), the "
                                    "delay of every projection",
        _P + "run_nest__mutmut_32": "t_flush 101 ms for 100: every delay is 1 ms",
        _P + "run_nest__mutmut_80": "a reset before the first sample too: of a network just built",
        _P + "run_nest__mutmut_96": "the drive during the flush: after sim.reset nothing of it "
                                    "reaches the next sample (the 0 is a precaution)",
        **dict.fromkeys([_P + f"run_nest__mutmut_{n}" for n in (113, 115, 118)],
                        "get_data without clear: each sim.reset starts a new segment, and "
                        "segments[-1] is this sample's"),
        _P + "run_nest__mutmut_114": "get_data() of every recorded variable: spikes are the "
                                     "only one",
        **dict.fromkeys([_P + f"run_nest__mutmut_{n}" for n in (122, 123, 125, 126, 128)],
                        "a segment's t_start: PyNN starts each at 0 after sim.reset, so the "
                        "origin is 0 whichever way it is read"),
        _P + "run_nest__mutmut_138": "step <= steps: NEST runs steps (+ lead-in) ms, so no spike "
                                     "is stamped at step steps",
        **dict.fromkeys([_P + f"run_nest__mutmut_{n}" for n in (144, 147, 150)],
                        "flush of a progress line on stderr"),
        **dict.fromkeys([_P + f"configure_spinnaker__mutmut_{n}" for n in (35, 38, 48)], _UTF8),
        **dict.fromkeys([_P + f"place_on_spinnaker__mutmut_{n}" for n in (19, 21)],
                        "min_delay of a virtual board's setup: the same cores, chips and routes"),
        **dict.fromkeys([_P + f"place_on_spinnaker__mutmut_{n}"
                         for n in (26, 30, 31, 32, 33, 34, 44, 49)],
                        "the input's spike times (or none) on a virtual board, which places "
                        "sources by size, not by spikes"),
        _P + "place_on_spinnaker__mutmut_43": "for_nest=None: falsy, as False",
        _P + "place_on_spinnaker__mutmut_73": "chips = for |=: sPyNNaker gives each population "
                                              "one outgoing partition (its spikes)",
        **dict.fromkeys([_P + f"main__mutmut_{n}" for n in (2, 3, 15, 17, 24, 28, 44, 47)],
                        "--help text"),
        _P + "main__mutmut_27": "default=None left out: argparse's default is None",
        **dict.fromkeys([_P + f"main__mutmut_{n}" for n in (34, 37)],
                        "--neurons-per-core as text: sPyNNaker reads '100' as 100 (the test "
                        "maps 100 a core either way)"),
        **dict.fromkeys([_P + f"main__mutmut_{n}" for n in (35, 38)],
                        "--neurons-per-core default None for 0: both falsy, sPyNNaker's default"),
        **dict.fromkeys([_P + f"main__mutmut_{n}" for n in (109, 110)],
                        "the name of a temporary, replaced by the output file"),
        **dict.fromkeys([_P + f"main__mutmut_{n}" for n in (113, 116, 120)], _UTF8),
        **dict.fromkeys([_P + f"main__mutmut_{n}" for n in (123, 126, 127)],
                        "the JSON indent of placement.json: the same data"),
    },
    "targets/spinnaker/target.py": {
        **dict.fromkeys([_T + f"run_script__mutmut_{n}" for n in (40, 42, 43)],
                        "rmtree(ignore_errors=...) of a temporary folder this process made "
                        "and can always remove"),
        _S + "_limits__mutmut_13": "reshape(n, -2): numpy reads any negative size as 'the rest'",
        _S + "deploy__mutmut_17": _F64,  # asarray(inputs, dtype=None)
        _S + "deploy__mutmut_19": _F64,  # asarray(inputs)
        _S + "deploy__mutmut_57": "float_preds as float64 zeros: they hold class indices "
                                  "compared with ==, the same means",
        _S + "deploy__mutmut_99": "keep_rasters for every batch (start == 0 or k > 0): only "
                                  "the first batch's rasters are read; memory only",
        **dict.fromkeys([_S + f"_verify_in_nest__mutmut_{n}" for n in (7, 8, 9)],
                        "the prefix of a temporary folder's name"),
        **dict.fromkeys([_S + f"deploy__mutmut_{n}" for n in (52, 54, 59)],
                        "preds / float_preds as float64 zeros: they hold class indices compared "
                        "with ==, the same means"),
        _S + "deploy__mutmut_65": "first = None before the loop: the first batch (start 0) "
                                  "always sets it; with no samples both fail",
        _S + "_place__mutmut_33": _UTF8,  # encoding=None
        _S + "_place__mutmut_35": _UTF8,  # "UTF-8"
        _S + "deploy__mutmut_102": "keep_rasters with k >= 0: rasters kept with no NEST check "
                                   "(k = 0) are never read; memory only",
        **dict.fromkeys([_S + f"_verify_in_nest__mutmut_{n}" for n in (66, 69, 70, 95, 98, 99)],
                        "zip(strict=...): NEST's file is read with one raster per layer of "
                        "first['rasters'], the same length"),
        # the full pass (2026-12-07): SpiNNaker 2's estimated placement file
        **dict.fromkeys([_S2 + f"_place__mutmut_{n}" for n in (44, 46, 53)],
                        "placement.json's codec: json.dumps writes ASCII only, the same bytes"),
        **dict.fromkeys([_S2 + f"_place__mutmut_{n}" for n in (48, 50, 51)],
                        "placement.json's indent: the same JSON data, only whitespace differs"),
        _S2 + "_resources__mutmut_16": _DEFAULT,  # Resources.boards=None
    },
    "targets/host/ops.py": {
        _HO + "ann_layer_ops__mutmut_30": "reshape(-2): numpy reads any negative size as "
                                          "'the rest'",
        **dict.fromkeys([_HO + "dense_ops__mutmut_2", _HO + "dense_ops__mutmut_3"],
                        "a dense layer through the conv branch: positions = prod(out_shape[1:]) "
                        "= prod(()) = 1, so weight.size either way"),
        **dict.fromkeys([_HO + "effective_ops__mutmut_7", _HO + "effective_ops__mutmut_9"],
                        "asarray(dtype=None or dropped): the counts are floats already, and "
                        "an integer dot product is exact"),
        **dict.fromkeys([_HO + "run_probed__mutmut_1", _HO + "run_probed__mutmut_2"],
                        "the progress bar's label"),
        **dict.fromkeys([_HO + "run_probed__mutmut_29", _HO + "run_probed__mutmut_31"],
                        "preds as float64 zeros: they hold class indices compared with =="),
        **dict.fromkeys([_HO + f"run_probed__mutmut_{n}" for n in (52, 55, 59)],
                        "zip(strict=...): the session returns one array per output asked for"),
        _HO + "run_probed__mutmut_6": "the ONNX Runtime log level",
        **dict.fromkeys([_HO + "onnx_layers__mutmut_33", _HO + "onnx_layers__mutmut_35"],
                        "transB's default None for 0: both false"),
    },
    "targets/host/target.py": {
        **dict.fromkeys([_H + "_deploy_snn__mutmut_11", _H + "_deploy_snn__mutmut_13"],
                        "asarray(dtype=None or dropped): a workload's inputs are float32 already"),
        **dict.fromkeys([_H + "_measure__mutmut_5", _H + "_measure__mutmut_6"],
                        "the CUDA synchronisation branch: no GPU on this machine"),
        **dict.fromkeys([_H + "_measured_estimate__mutmut_20",
                         _H + "_measured_estimate__mutmut_87", _H + "_record__mutmut_103",
                         _H + "_record__mutmut_104",
                         _H + "_record__mutmut_69"], _DEFAULT),
        **dict.fromkeys([_H + f"_deploy_snn__mutmut_{n}" for n in (153, 159, 166, 172, 85, 93)],
                        "the simulation's device None or left to its default: torch's CPU, "
                        "the device here (no CUDA on this machine)"),
        _H + "_deploy_snn__mutmut_44": "device 'cpu' whether or not on_device: the cpu target's "
                                       "device, and the gpu target's without CUDA (none here)",
        _H + "_deploy_snn__mutmut_51": "zeros for a layer without a recurrent synapse: never "
                                       "added to, and spiking_layer_ops reads it only for one",
        _H + "_deploy_onnx__mutmut_48": "onnxruntime's log level 4 (fatal) for 3 (errors): a run "
                                        "that logs neither; what it prints, not a figure",
        **dict.fromkeys([_H + f"_deploy_snn__mutmut_{n}" for n in (65, 67)],
                        "preds as float64 zeros: they hold class indices compared with ==, the "
                        "same means"),
    },
    "targets/loihi/quantize.py": {
        **dict.fromkeys([_Q + "_graded_at__mutmut_14", _Q + "quantize_layer__mutmut_14"],
                        "astype(None) is astype(float64): v_ref / vth is float64 already (vth "
                        "is made float64 just above)"),
        _Q + "_graded_at__mutmut_144": "w.astype(None): the int64 mantissas become float64 "
                                       "either way",
        **dict.fromkeys([_Q + "_graded_at__mutmut_33", _Q + "graded_current_peak__mutmut_8",
                         _Q + "host_input_bounds__mutmut_9"],
                        "reshape(n, -2): numpy reads any negative size as 'the rest'"),
        **dict.fromkeys([_Q + f"_graded_at__mutmut_{n}" for n in (40, 51)]
                        + [_Q + f"graded_current_peak__mutmut_{n}" for n in (15, 27)],
                        "max/min(initial=None) of the row sums: one sum per row, never empty "
                        "(reshape(0, -1) of a weight matrix without rows raises first)"),
        **dict.fromkeys([_Q + "_graded_at__mutmut_60", _Q + "graded_current_peak__mutmut_36"],
                        "min(initial=1) of the negative parts' row sums (all <= 0, never "
                        "empty): the same minimum"),
        **dict.fromkeys([_Q + f"_graded_at__mutmut_{n}" for n in (72, 77)],
                        "static.size: one bias per neuron, never empty here (a layer without "
                        "neurons fails at reshape(0, -1) first)"),
        _Q + "fit_bias__mutmut_8": "the peak of no biases as 1.0 for 0.0: both fit a 13-bit "
                                   "mantissa at exponent 0",
        _Q + "quantize_layer__mutmut_105": "min(1, e) for min(0, e): on the chip S <= 254 / "
                                           "peak_w, so weight_exponent(peak_w * S) <= 0",
        **dict.fromkeys([_Q + f"quantize_layer__mutmut_{n}" for n in (42, 43)],
                        "peak_w's starting value (None, 1.0): overwritten on the chip, unused "
                        "for a host layer"),
    },
    "targets/loihi/emulator.py": {
        _E + "_decay__mutmut_8": "prod >> 64 for >> 63: torch fills an int64 shifted by 64 or "
                                 "more with its sign bit, as by 63 (-1 or 0 either way)",
        _E + "exact_float__mutmut_20": "reshape(n, -2): numpy reads any negative size as 'the "
                                       "rest'",
        _E + "_finish__mutmut_9": "remainder(acc - 2^23, 2^24) for acc + 2^23: the two differ "
                                  "by 2^24, the modulus",
        **dict.fromkeys([_E + f"_finish__mutmut_{n}" for n in (15, 16)],
                        "e > 0 or e >= 1 for e >= 0: at e = 0 the other branch shifts right "
                        "by -0, the same"),
        _E + "_recurrent__mutmut_8": "_finish(..., conv=None): None is false as False is",
    },
    "targets/loihi/costs.py": {
        **dict.fromkeys([f"neuropipe.targets.loihi.costs.x_loihi_resources__mutmut_{n}"
                         for n in (12, 15)],
                        "boards=None / time_per_inference_s=None dropped: Resources' "
                        "default is None"),
    },
    "pipeline/handoff/manifest.py": {
        "neuropipe.pipeline.handoff.manifest.x_sha256_of__mutmut_13":
            "fh.read(None): the whole file in one chunk, the same digest",
        "neuropipe.pipeline.handoff.manifest.x_sha256_of__mutmut_15": "2 MiB chunks: same digest",
        "neuropipe.pipeline.handoff.manifest.x_sha256_of__mutmut_16": "2 MiB chunks: same digest",
    },
}

EQUIVALENT["targets/handoff/encoding.py"] = {
    "neuropipe.targets.handoff.encoding.x_decode__mutmut_9":
        "counts.astype(None) before the readout: None is float64, the dtype asked for",
}
_LH = "neuropipe.targets.loihi.handoff.x"
EQUIVALENT["targets/loihi/handoff.py"] = {
    _LH + "_h5_difference__mutmut_5": "h5py.File(path) without 'r': h5py 3's default mode is 'r'",
    **dict.fromkeys([f"{_LH}_loihi_reference__mutmut_{n}" for n in (13, 14, 15)],
                    "the prefix of a temporary folder's name (None: tempfile's own)"),
    **dict.fromkeys([f"{_LH}_loihi_reference__mutmut_{n}" for n in (19, 20)],
                    "the name of the .net written anew in that temporary folder and compared "
                    "there (write_netx takes any name)"),
    _LH + "_loihi_reference__mutmut_84": "reshape(len(x), -2): numpy reads any negative size as "
                                         "'the rest'",
}

CANARY = "neuropipe.targets.counting.x_fan_out__mutmut_"

# Lava's runtime calls multiprocessing.set_start_method('fork') when imported, which raises if a
# start method is already set; mutmut sets one at import unless one is set. So Lava goes first.
RUN_MUTMUT = ("import sys; import lava.magma.runtime.message_infrastructure.multiprocessing; "
              "from mutmut.__main__ import cli; sys.argv[0] = 'mutmut'; cli()")


def stage(workdir: Path, modules: tuple[str, ...], tests: tuple[str, ...]) -> None:
    """Copy the packages as ``neuropipe/<package>`` and the tests into ``workdir``.

    Args:
        workdir: The work folder.
        modules: The modules to mutate (paths relative to the project).
        tests: The test files (or folders) run against each mutant.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    (workdir / "neuropipe").mkdir(parents=True, exist_ok=True)
    (workdir / "neuropipe" / "__init__.py").write_text('"""neuropipe (mutation copy)."""\n')
    for package in PACKAGES:
        shutil.copytree(ROOT / package, workdir / "neuropipe" / package, ignore=ignore,
                        dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests", workdir / "tests", ignore=ignore, dirs_exist_ok=True)
    only = ", ".join(f'"neuropipe/{m}"' for m in modules)
    selected = ", ".join(f'"{t}"' for t in tests)
    (workdir / "pyproject.toml").write_text(f"""\
[tool.pytest.ini_options]
addopts = "-p no:cacheprovider --import-mode=importlib"
testpaths = ["tests"]

[tool.mutmut]
source_paths = ["neuropipe"]
only_mutate = [{only}]
pytest_add_cli_args_test_selection = [{selected}]
pytest_add_cli_args = ["-x", "-q", "-p", "no:randomly"]
process_isolation = "forkserver"
use_git_change_detection = false
""")


def _statuses(workdir: Path, module: str) -> dict[str, str]:
    """mutmut's status of each mutant of ``module`` (from its ``.meta`` file)."""
    from mutmut.stats import status_by_exit_code

    meta = workdir / "mutants" / "neuropipe" / (module + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.is_file() else {}
    return {k: status_by_exit_code[c] for k, c in codes.items()}


def in_scope(module: str, name: str) -> bool:
    """Whether mutant ``name`` of ``module`` is in a function :data:`FUNCTIONS` keeps."""
    functions = FUNCTIONS.get(module)
    stem = name.rpartition(".")[2].rpartition("__mutmut_")[0]
    return functions is None or stem.split("ǁ")[-1].removeprefix("x_") in functions


def results(workdir: Path, modules: tuple[str, ...]) -> dict[str, tuple[Counter, list[str]]]:
    """Per module: status counts and the mutants run but not killed (mutmut's ``.meta`` files).

    Mutants of functions :data:`FUNCTIONS` leaves out are counted as ``out of scope``.
    """
    table = {}
    for module in modules:
        statuses = {k: s if in_scope(module, k) else "out of scope"
                    for k, s in _statuses(workdir, module).items()}
        table[module] = (Counter(statuses.values()),
                         sorted(k for k, s in statuses.items() if s not in (
                             "killed", "timeout", "segfault", "not checked", "out of scope")))
    return table


def _shape(function: ast.FunctionDef | ast.AsyncFunctionDef, blank_words: bool) -> str:
    """A function's arguments, body and return hint, with its words blanked if asked."""
    copy = ast.parse(ast.unparse(function)).body[0]
    if blank_words:
        for node in ast.walk(copy):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and " " in node.value:
                node.value = "..."
    return ast.dump(ast.Module(body=[*copy.body], type_ignores=[])) + ast.dump(copy.args) \
        + (ast.dump(copy.returns) if copy.returns else "")


def words_only(workdir: Path, names: list[str]) -> set[str]:
    """The mutants among ``names`` whose one change is to words: a string literal with a space.

    A literal holding a space is text for a person (a message, a label, a sentence of the
    report); a key, a unit, a level or a file name has none. mutmut turns ``"no such run"``
    into ``"XXno such runXX"`` or ``"NO SUCH RUN"``: with every such literal blanked on both
    sides, the mutant and the original are the same function. These mutants are counted apart
    (``words``) and left out of the score, which is about figures and checks.
    """
    by_module: dict[str, list[str]] = {}
    for name in names:
        module, _, function = name.rpartition(".")
        by_module.setdefault(module, []).append(function)
    found = set()
    for module, functions in by_module.items():
        path = workdir / "mutants" / Path(*module.split(".")).with_suffix(".py")
        if not path.is_file():  # a package's __init__.py
            path = path.with_suffix("") / "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defs = {node.name: node for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
        for function in functions:
            stem = function.rpartition("__mutmut_")[0]
            mutant, original = defs.get(function), defs.get(stem + "__mutmut_orig")
            if mutant is None or original is None:
                continue
            if (_shape(mutant, False) != _shape(original, False)
                    and _shape(mutant, True) == _shape(original, True)):
                found.add(f"{module}.{function}")
    return found


HITS_PLUGIN = """\
import json
import os


def pytest_collection_finish(session):
    from mutmut.state import state

    with open(os.environ["NEUROPIPE_IMPORT_HITS"], "w") as f:
        json.dump(sorted(state()._stats), f)
"""


def run_at_import(workdir: Path, tests: tuple[str, ...], env: dict) -> set[str]:
    """The mutated functions that run while the project and its tests are imported.

    Those are the functions whose mutants mutmut cannot judge: it forks each mutant's run from
    a process that imported (and collected) everything with no mutant on. A new process with
    mutmut's ``stats`` mode on records every trampoline hit; collecting the tests imports the
    project and runs what the tests compute at import (parametrize lists, module constants).

    Returns:
        mutmut's qualified names (``neuropipe.targets.host.costs.x__per_op``).
    """
    folder = workdir / "mutants"
    (folder / "_neuropipe_import_hits.py").write_text(HITS_PLUGIN)
    out = workdir / "import-hits.json"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly",
         "-p", "_neuropipe_import_hits", *tests],
        cwd=folder, capture_output=True, env={**env, "MUTANT_UNDER_TEST": "stats",
                                              "PYTHONPATH": str(folder),
                                              "NEUROPIPE_IMPORT_HITS": str(out)})
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"collecting the tests in {folder} failed: "
                           f"{done.stdout.decode()[-500:]}")
    return set(json.loads(out.read_text()))


def rerun_in_new_processes(workdir: Path, names: list[str], tests: tuple[str, ...], jobs: int,
                           env: dict) -> dict[str, str]:
    """Run each mutant again in a pytest process that starts with it on; the verdict per name.

    mutmut forks every mutant's run from a process that imported the project already, so code
    that runs at import (cost tables built by a function, a record class's
    ``__init_subclass__``) ran unmutated there, and such a mutant survives whatever the tests
    check. A new process with ``MUTANT_UNDER_TEST`` set imports the mutated code, as a user's
    would: a mutant that breaks the import fails the tests' collection, and that is a kill.

    Args:
        workdir: A work folder mutmut ran in (its ``mutants/`` copy is imported).
        names: The mutants to run.
        tests: The test paths of these mutants' modules.
        jobs: Processes at once.
        env: The environment of the runs.

    Returns:
        Name -> ``"killed"``, ``"timeout"`` or ``"survived"``.

    Raises:
        RuntimeError: If the tests fail in such a process with no mutant on.
    """
    folder = workdir / "mutants"
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly", *tests]

    def run(name: str, limit: float | None = None) -> str:
        try:
            done = subprocess.run(command, cwd=folder, capture_output=True, timeout=limit,
                                  env={**env, "MUTANT_UNDER_TEST": name,
                                       "PYTHONPATH": str(folder)})
        except subprocess.TimeoutExpired:
            return "timeout"
        # pytest: 1 tests failed, 2 interrupted (a collection error: the import broke),
        # 3 internal error; 4 and 5 (usage, nothing collected) are this script's faults.
        if done.returncode in (1, 2, 3):
            return "killed"
        if done.returncode == 0:
            return "survived"
        raise RuntimeError(f"pytest exited with {done.returncode} for {name}: "
                           f"{done.stdout.decode()[-500:]}")

    start = time.monotonic()
    if run("") != "survived":
        raise RuntimeError(f"the tests fail in {folder} with no mutant on")
    limit = 10 * (time.monotonic() - start) + 30
    with ThreadPoolExecutor(max(jobs, 1)) as pool:
        return dict(zip(names, pool.map(lambda name: run(name, limit), names), strict=True))


def settle(workdir: Path, modules: tuple[str, ...], tests: tuple[str, ...], jobs: int,
           env: dict) -> dict[str, tuple[Counter, list[str]]]:
    """mutmut's verdicts, with words apart and survivors of code run at import run again.

    The new-process verdicts are kept in ``new-process.json`` in the work folder, so a run
    with ``--keep`` does not run a killed one again.

    Returns:
        Per module: the counts (mutmut's statuses, ``"new process"`` for those killed by the
        re-run, ``"words"``) and the mutants not killed (words left out).
    """
    table = results(workdir, modules)
    store = workdir / "new-process.json"
    known = json.loads(store.read_text()) if store.is_file() else {}
    judged = {name for module in modules for name in EQUIVALENT.get(module, {})}
    survivors = [name for module in modules for name in table[module][1]]
    words = words_only(workdir, [n for n in survivors if n not in judged])
    at_import = run_at_import(workdir, tests, env)
    pending = [n for n in survivors if n not in judged and n not in words
               and n.rpartition("__mutmut_")[0] in at_import
               and known.get(n) not in ("killed", "timeout")]
    if pending:
        print(f"running {len(pending)} surviving mutants of code run at import again, each "
              "in a new process", flush=True)
        known.update(rerun_in_new_processes(workdir, pending, tests, jobs, env))
        store.write_text(json.dumps(known, indent=1))
    settled = {}
    for module in modules:
        counts, names = table[module]
        statuses = _statuses(workdir, module)
        counts, left = Counter(counts), []
        for name in names:
            if name in words:
                new = "words"
            elif name not in judged and known.get(name) in ("killed", "timeout"):
                new = "new process"
            else:
                left.append(name)
                continue
            counts[statuses[name]] -= 1  # out of mutmut's column (survived, no tests)
            counts[new] += 1
        settled[module] = (+counts, left)
    return settled


def retest_survivors(workdir: Path, modules: tuple[str, ...]) -> list[str]:
    """Forget the verdict of every surviving (or untested) mutant of ``modules``; return them.

    mutmut 3 keeps a verdict once given and never runs that mutant again; after tests are added,
    the survivors are the mutants worth running again. Those judged equivalent, those that
    change only words (neither counts in the score) and those a new process killed (code run
    at import) keep their verdict.
    """
    names = []
    for module in modules:
        meta = workdir / "mutants" / "neuropipe" / (module + ".meta")
        if not meta.is_file():
            continue
        data = json.loads(meta.read_text())
        codes = data["exit_code_by_key"]
        alive = [k for k, code in codes.items() if code in (0, 33)]  # survived, no tests
        store = workdir / "new-process.json"
        known = json.loads(store.read_text()) if store.is_file() else {}
        keep = (set(EQUIVALENT.get(module, {})) | words_only(workdir, alive)
                | {k for k in alive if known.get(k) in ("killed", "timeout")
                   or not in_scope(module, k)})
        for key in alive:
            if key not in keep:
                codes[key] = None
                names.append(key)
        meta.write_text(json.dumps(data))
    return names


def constant_mutants(source: str) -> list[tuple[int, int, int, str]]:
    """Module-level numeric literals as ``(line, start, end, replacement)``.

    mutmut 3 mutates function bodies only, but published constants, units and bit widths live
    at module level (``LBS_PER_KG``, ``DECAY_UNITY``, ``_JOULES``, the cost entries): each
    literal there becomes one mutant, ints ``n -> n + 1`` and floats ``x -> 2 x``. Literals in
    f-strings and subscripts (text, not figures) and class bodies are left alone.
    """
    tree = ast.parse(source)
    skip: set[int] = set()
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Expr):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.JoinedStr | ast.Subscript):
                skip.update(id(n) for n in ast.walk(sub))
        for sub in ast.walk(node):
            value = getattr(sub, "value", None)
            if (isinstance(sub, ast.Constant) and id(sub) not in skip
                    and type(value) in (int, float)):
                new = repr(value + 1) if isinstance(value, int) else repr(value * 2)
                found.append((sub.lineno, sub.col_offset, sub.end_col_offset, new))
    return found


def constants_pass(workdir: Path, plan: dict[str, tuple[str, ...]], jobs: int,
                   env: dict) -> float:
    """Mutate each module-level constant in a copy and run its tests; print the score per module.

    Args:
        workdir: The work folder of this pass.
        plan: Module -> the tests run against its mutants.
        jobs: Mutants run at once.
        env: Environment of the test runs.

    Returns:
        The lowest score of any module that has constants.
    """
    modules = tuple(plan)
    everything = tuple(dict.fromkeys(t for tests in plan.values() for t in tests))
    shutil.rmtree(workdir, ignore_errors=True)
    copies = [workdir / str(i) for i in range(max(jobs, 1))]
    for copy in copies:
        stage(copy, modules, everything)
    free = list(copies)
    mutants = []
    for module in modules:
        if module in FUNCTIONS:  # its module-level numbers place labels on a plot
            continue
        lines = (ROOT / module).read_text().splitlines(keepends=True)
        for line, start, end, new in constant_mutants("".join(lines)):
            mutated = list(lines)
            text = mutated[line - 1]
            mutated[line - 1] = text[:start] + new + text[end:]
            mutants.append((module, f"{module}:{line}: {text[start:end]} -> {new}", mutated))

    def run(mutant: tuple[str, str, list[str]]) -> tuple[str, str, bool]:
        module, label, mutated = mutant
        copy = free.pop()
        target = copy / "neuropipe" / module
        original = target.read_text()
        try:
            target.write_text("".join(mutated))
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                 *plan[module]],
                cwd=copy, env={**env, "PYTHONPATH": str(copy)}, capture_output=True)
        finally:
            target.write_text(original)
            free.append(copy)
        return module, label, result.returncode != 0

    print(f"\nconstants: {len(mutants)} mutants of module-level numbers", flush=True)
    with ThreadPoolExecutor(max(jobs, 1)) as pool:
        outcomes = list(pool.map(run, mutants))
    worst = 1.0
    for module in modules:
        mine = [o for o in outcomes if o[0] == module]
        if mine:
            killed = sum(o[2] for o in mine)
            worst = min(worst, killed / len(mine))
            print(f"{module}: {killed} of {len(mine)} constant mutants killed "
                  f"({killed / len(mine):.1%})")
    for _, label, killed in outcomes:
        if not killed:
            print(f"  not killed: {label}")
    return worst


def plan_of(only: list[str] | None, tests: list[str] | None) -> dict[str, tuple[str, ...]]:
    """Module -> its tests: the map's, or ``--only``'s modules, with ``--tests`` if given.

    Raises:
        ValueError: For a module outside the map given without ``--tests``.
    """
    modules = tuple(dict.fromkeys(only)) if only else tuple(MODULES)
    plan = {}
    for module in modules:
        if tests:
            plan[module] = tuple(dict.fromkeys(tests))
        elif module in MODULES:
            plan[module] = MODULES[module]
        else:
            raise ValueError(f"{module} has no tests in MODULES: pass --tests")
    return plan


def groups_of(plan: dict[str, tuple[str, ...]], workdir: Path
              ) -> list[tuple[Path, tuple[str, ...], tuple[str, ...]]]:
    """One mutmut run per set of tests: ``(work folder, modules, tests)``.

    A single run uses ``workdir`` itself (as before the map, so ``--keep`` finds earlier runs);
    several use a subfolder each, named after their first module.
    """
    by_tests: dict[tuple[str, ...], list[str]] = {}
    for module, tests in plan.items():
        by_tests.setdefault(tests, []).append(module)
    if len(by_tests) == 1:
        ((tests, modules),) = by_tests.items()
        return [(workdir, tuple(modules), tests)]
    return [(workdir / modules[0].removesuffix(".py").replace("/", "."), tuple(modules), tests)
            for tests, modules in by_tests.items()]


def score_table(table: dict[str, tuple[Counter, list[str]]]) -> tuple[list[str], float]:
    """Per module: mutants, not run, killed, survived, no tests, words, out of scope, equivalent,
    score.

    The score is killed / (mutants run - words - out of scope - equivalent), killed counting
    mutmut's kills
    and timeouts and the kills of the new-process re-run (:func:`settle`). ``EQUIVALENT``'s
    mutants that were not killed are taken out (an entry that was killed, or names no mutant,
    is reported stale), and so are mutants not run yet (an interrupted run) and mutants that
    change only words or lie outside :data:`FUNCTIONS`.
    """
    width = max(len(m) for m in table)
    lines = [f"{'module':<{width}}  mutants  not-run  killed  survived  no-tests  words  "
             "out-of-scope  equivalent  score"]
    stale = []
    worst = 1.0
    for module, (counts, survivors) in table.items():
        total = sum(counts.values())
        caught = (counts["killed"] + counts["timeout"] + counts["segfault"]
                  + counts["new process"])
        judged = EQUIVALENT.get(module, {})
        equivalent = sum(1 for name in judged if name in survivors)
        stale += [name for name in judged if name not in survivors]
        rest = (total - counts["not checked"] - counts["words"] - counts["out of scope"]
                - equivalent)
        score = caught / rest if rest else 1.0
        if rest:
            worst = min(worst, score)
        lines.append(f"{module:<{width}}  {total:7d}  {counts['not checked']:7d}  {caught:6d}  "
                     f"{counts['survived']:8d}  {counts['no tests']:8d}  {counts['words']:5d}  "
                     f"{counts['out of scope']:12d}  {equivalent:10d}  {score:6.1%}")
    lines += [f"  EQUIVALENT entry not among the survivors (killed, not run, or no such mutant): "
              f"{name}" for name in stale]
    return lines, worst


def _settled(workdir: Path, modules: tuple[str, ...], tests: tuple[str, ...]) -> bool:
    """Whether every mutant of ``modules`` has a verdict newer than every file of ``tests``.

    mutmut itself forgets the verdicts of mutants whose tests changed when it starts; a group
    where nothing changed need not start it (its statistics run alone takes minutes).
    """
    metas = [workdir / "mutants" / "neuropipe" / (m + ".meta") for m in modules]
    if not all(meta.is_file() for meta in metas):
        return False
    if any(s == "not checked" for m in modules for s in _statuses(workdir, m).values()):
        return False
    oldest = min(meta.stat().st_mtime for meta in metas)
    files = [f for t in tests for f in ((ROOT / t).rglob("*.py") if (ROOT / t).is_dir()
                                        else [ROOT / t])]
    return all(f.stat().st_mtime < oldest for f in files)


def run_group(workdir: Path, modules: tuple[str, ...], tests: tuple[str, ...], jobs: int,
              keep: bool, retest: bool, env: dict, changed_only: bool = False) -> int:
    """Stage ``workdir`` and run mutmut over ``modules`` with ``tests``; its exit status.

    With ``changed_only`` (and ``keep``) mutmut is not started for a group with no survivor
    to run again (``retest``), no mutant not run yet and no test file newer than its verdicts.
    """
    if changed_only and keep and not retest and _settled(workdir, modules, tests):
        return 0
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:  # the copies mutmut made stay; refresh the source and tests it copies from
        shutil.rmtree(workdir / "neuropipe", ignore_errors=True)
    stage(workdir, modules, tests)
    if keep and retest:
        names = retest_survivors(workdir, modules)
        print(f"{len(names)} surviving mutants to run again")
        if changed_only and not names and _settled(workdir, modules, tests):
            return 0
    print(f"mutmut in {workdir} ({len(modules)} modules, {len(tests)} test paths)", flush=True)
    return subprocess.run([sys.executable, "-c", RUN_MUTMUT, "run", "--max-children",
                           str(jobs)], cwd=workdir, env=env).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/neuropipe-mutate"))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--keep", action="store_true",
                        help="reuse an earlier run's work folder (mutmut skips known results)")
    parser.add_argument("--show-survivors", action="store_true",
                        help="print the diff of every surviving mutant")
    parser.add_argument("--retest-survivors", action="store_true",
                        help="with --keep: run again the mutants that survived or had no test "
                             "(after adding tests); killed ones keep their verdict")
    parser.add_argument("--no-constants", action="store_true",
                        help="skip the pass over module-level numeric constants")
    parser.add_argument("--changed-only", action="store_true",
                        help="with --keep: start mutmut only for groups with survivors to run "
                             "again (--retest-survivors), mutants not run, or tests changed "
                             "since their verdicts")
    parser.add_argument("--constants-only", action="store_true",
                        help="run only the pass over module-level numeric constants")
    parser.add_argument("--only", action="append", metavar="MODULE",
                        help="mutate only this module (repeatable), e.g. targets/counting.py; "
                             "any module of the packages, not only the default list")
    parser.add_argument("--tests", action="append", metavar="PATH",
                        help="run only these test files or folders against each mutant "
                             "(repeatable), e.g. tests/reports; default: the figure tests")
    args = parser.parse_args()
    try:
        plan = plan_of(args.only, args.tests)
    except ValueError as e:
        parser.error(str(e))
    for path in {*plan, *(t for tests in plan.values() for t in tests)}:
        if not (ROOT / path).exists():
            parser.error(f"{path}: no such file in the project")
    workdir = args.workdir.resolve()
    if workdir == ROOT or ROOT in workdir.parents:
        parser.error("--workdir must be outside the project")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    table: dict[str, tuple[Counter, list[str]]] = {}
    folder_of: dict[str, Path] = {}
    failed: list[Path] = []
    if args.constants_only:
        worst = constants_pass(workdir.with_name(workdir.name + "-constants"), plan, args.jobs,
                               env)
        print(f"\nlowest constants score {worst:.1%}")
        return 0
    for folder, modules, tests in groups_of(plan, workdir):
        print(time.strftime("\n%H:%M:%S"), end=" ")
        status = run_group(folder, modules, tests, args.jobs, args.keep,
                           args.retest_survivors, env, args.changed_only)
        if status != 0:  # the others still run: a full pass takes hours
            print(f"mutmut run failed with status {status} in {folder}", file=sys.stderr)
            failed.append(folder)
            continue
        try:
            table.update(settle(folder, modules, tests, args.jobs, env))
        except RuntimeError as e:
            print(f"the re-run in new processes failed: {e}", file=sys.stderr)
            failed.append(folder)
            continue
        folder_of.update(dict.fromkeys(modules, folder))
        survivors = [k for m in modules for k in table[m][1]
                     if k not in EQUIVALENT.get(m, {})]
        print(f"\nnot killed, not judged equivalent ({len(survivors)}):")
        for name in survivors:
            print(f"  {name}")
            if args.show_survivors:
                show = subprocess.run([sys.executable, "-c", RUN_MUTMUT, "show", name],
                                      cwd=folder, env=env, capture_output=True, text=True)
                print("    " + show.stdout.strip().replace("\n", "\n    "))
        print("\n".join(score_table({m: table[m] for m in modules})[0]), flush=True)
    if not table:
        return 1
    lines, worst = score_table(table)
    if not args.no_constants:
        worst = min(worst, constants_pass(workdir.with_name(workdir.name + "-constants"),
                                          plan, args.jobs, env))
    print("\nscore = killed / (mutants run - words - out of scope - equivalent)\n"
          + "\n".join(lines))
    if failed:
        print("mutmut failed in: " + ", ".join(map(str, failed)), file=sys.stderr)
        return 1
    if "targets/counting.py" not in plan:
        return 0
    # The layout check: a mutant that breaks fan_out outright must have been killed.
    meta = json.loads((folder_of["targets/counting.py"] / "mutants" / "neuropipe" / "targets" /
                       "counting.py.meta").read_text())["exit_code_by_key"]
    canary = [k for k in meta if k.startswith(CANARY)]
    killed = [k for k in canary if meta[k] in (1, 3)]
    if not canary or len(killed) < len(canary) // 2:
        print("layout check failed: mutants of fan_out were not killed, so the tests did not "
              "import the mutated copy", file=sys.stderr)
        return 1
    print(f"\nlayout check: {len(killed)} of {len(canary)} mutants of fan_out killed; "
          f"lowest module score {worst:.1%} (goal 90% of non-equivalent mutants)")
    return 0

if __name__ == "__main__":
    sys.exit(main())
