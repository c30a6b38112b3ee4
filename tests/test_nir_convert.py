"""NIR conversion semantics: time mappings (exact vs Euler), thresholds, resets, features NIR
cannot carry, nested graphs, bad input, and imported graphs running on the clock engine."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from spikesim import ir  # noqa: E402
from spikesim.ir.nir import cuba_coeff, from_nir, to_nir  # noqa: E402
from spikesim.sim import Frames, Simulator, StateMonitor  # noqa: E402

DT = 1e-4


def graph(nodes, edges):
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def lif_graph(x, n, w=None, bias=None):
    w = np.eye(n) if w is None else w
    syn = nir.Linear(weight=w) if bias is None else nir.Affine(weight=w, bias=bias)
    return graph({"input": nir.Input(np.array([w.shape[1]])), "w": syn, "x": x,
                  "output": nir.Output(np.array([n]))},
                 [("input", "w"), ("w", "x"), ("x", "output")])


def snn_lif(beta, thr=1.0):
    """What snnTorch's export_to_nir writes for Leaky(beta) (dt = 1e-4)."""
    tau = DT / (1 - beta)
    return nir.LIF(tau=tau, r=tau / DT, v_leak=np.zeros_like(beta),
                   v_threshold=np.full_like(beta, thr), v_reset=np.zeros_like(beta))


# --------------------------------------------------------------------------------------
# Parameter mappings
# --------------------------------------------------------------------------------------
def test_euler_import_reproduces_framework_beta_and_unit_gain():
    beta = np.array([0.5, 0.8, 0.9, 0.95, 0.999])
    net = from_nir(lif_graph(snn_lif(beta), 5), dt=DT, discretization="euler")
    np.testing.assert_allclose(np.exp(-DT / net["x"].tau), beta, rtol=1e-14)
    np.testing.assert_allclose(net["x"].r, 1.0, rtol=1e-14)
    # export with the same dt gives snnTorch's parameters back
    back = to_nir(net, dt=DT, discretization="euler").nodes["x"]
    np.testing.assert_allclose(back.tau, DT / (1 - beta), rtol=1e-12)
    np.testing.assert_allclose(back.r, back.tau / DT, rtol=1e-12)


def test_exact_import_is_continuous_time():
    tau, R = np.array([0.01, 0.02]), np.array([3.0, 0.5])
    net = from_nir(lif_graph(nir.LIF(tau=tau, r=R, v_leak=np.zeros(2), v_threshold=np.ones(2)), 2))
    assert np.array_equal(net["x"].tau, tau)
    np.testing.assert_allclose(net["x"].r, R / tau, rtol=1e-15)  # Dirac jump R*w/tau
    n_if = from_nir(lif_graph(nir.IF(r=R, v_threshold=np.ones(2)), 2))["x"]
    assert np.array_equal(n_if.r, R)
    cu = nir.CubaLIF(tau_syn=np.array([2e-3, 4e-3]), tau_mem=tau, r=R, v_leak=np.zeros(2),
                     v_threshold=np.ones(2), w_in=np.array([2.0, 5.0]))
    n_cu = from_nir(lif_graph(cu, 2))["x"]
    np.testing.assert_allclose(n_cu.r, R * cu.w_in / cu.tau_syn, rtol=1e-15)
    n_cu_e = from_nir(lif_graph(cu, 2), dt=DT, discretization="euler")["x"]
    np.testing.assert_allclose(n_cu_e.r * cuba_coeff(DT, n_cu_e.tau_syn[0], n_cu_e.tau_mem),
                               R * cu.w_in * (DT / tau) * (DT / cu.tau_syn), rtol=1e-13)


def test_cuba_coeff_is_the_engines_and_the_true_integral():
    from spikesim.ir import CubaLIF
    from spikesim.sim.clock import ClockEngine
    from spikesim import ir as _ir

    dt, ts, tm = 1e-3, np.array([2e-3, 5e-3, 2e-2, 2e-2]), np.array([2e-2, 2e-2, 2e-2, 1e-2])
    eng = ClockEngine(_ir.Network({"p": CubaLIF(4, tau_mem=tm, tau_syn=ts)}, []), dt=dt)
    np.testing.assert_allclose(cuba_coeff(dt, ts, tm), eng.pc[0], rtol=1e-15)
    # naive: tau_m dv/dt = -v + I(t), I(0) = 1 decaying with tau_s, fine Euler steps
    for s, m in zip(ts, tm):
        h = dt / 200000
        t = np.arange(200000) * h
        v = 0.0
        for it in np.exp(-t / s):
            v += h / m * (it - v)
        assert abs(v - cuba_coeff(dt, s, m)) < 1e-5 * v


def test_euler_needs_dt_shorter_than_tau():
    g = lif_graph(nir.LIF(tau=np.array([1e-3, 1e-4]), r=np.ones(2), v_leak=np.zeros(2),
                          v_threshold=np.ones(2)), 2)
    with pytest.raises(ValueError, match=r"NIR node 'x' \(LIF\).*tau.*0.0001 s is not longer "
                                         r"than dt"):
        from_nir(g, dt=1e-4, discretization="euler")


def test_strict_nir_threshold_maps_exactly():
    g = lif_graph(nir.IF(r=np.ones(1), v_threshold=np.ones(1)), 1)
    net = from_nir(g)
    assert net["x"].v_threshold == np.nextafter(1.0, 2.0)
    assert to_nir(net).nodes["x"].v_threshold[0] == 1.0
    assert to_nir(ir.Network({"i": ir.Input(1), "x": ir.IF(1), "o": ir.Output()},
                             ["i->x", "x->o"])).nodes["x"].v_threshold[0] == np.nextafter(1.0, 0)
    # on the engine: v == 1 does not fire (NIR: v > threshold), v == 2 does
    res = Simulator(net, engine="clock", dt=DT, rng=0).run(
        5 * DT, inputs={"input": Frames(np.array([[1.0], [0.0], [1.0], [0.0], [0.0]]))},
        progress=False)
    assert np.rint(res.spikes["x"].t / DT).astype(int).tolist() == [4]
    th = from_nir(graph({"input": nir.Input(np.array([2])),
                         "x": nir.Threshold(threshold=np.array([0.5, 1.0])),
                         "output": nir.Output(np.array([2]))},
                        [("input", "x"), ("x", "output")]))["x"]
    assert np.array_equal(th.threshold, np.nextafter([0.5, 1.0], np.inf))


# --------------------------------------------------------------------------------------
# Imported graphs on the clock engine
# --------------------------------------------------------------------------------------
def _naive_snntorch(x, layers, reset):
    """snnTorch's Leaky step (forward only): mem = beta*mem + W s - reset*thr, spike mem > thr;
    every layer within the same step."""
    mems = [np.zeros(w.shape[0]) for w, _, _ in layers]
    prev = [np.zeros(w.shape[0]) for w, _, _ in layers]
    out = [[] for _ in layers]
    for t in range(x.shape[0]):
        s = x[t]
        for k, (w, beta, thr) in enumerate(layers):
            if reset == "zero":
                mems[k] = beta * mems[k] * (1 - prev[k]) + w @ s
            else:
                mems[k] = beta * mems[k] + w @ s - prev[k] * thr
            s = (mems[k] > thr).astype(float)
            prev[k] = s
            out[k].append(s)
    return [np.array(o) for o in out]


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_imported_graph_runs_on_clock_engine_like_the_framework(reset):
    rng = np.random.default_rng(3)
    sizes = [12, 20, 6]
    layers, nodes, edges, prev = [], {"input": nir.Input(np.array([12]))}, [], "input"
    for k in range(2):
        w = rng.normal(0, 1.0, (sizes[k + 1], sizes[k]))
        beta = rng.uniform(0.6, 0.95, sizes[k + 1])
        thr = rng.uniform(0.8, 1.2, sizes[k + 1])
        layers.append((w, beta, thr))
        nodes[f"fc{k}"], nodes[f"lif{k}"] = nir.Linear(weight=w), snn_lif(beta)
        nodes[f"lif{k}"].v_threshold = thr
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"lif{k}")]
        prev = f"lif{k}"
    nodes["output"] = nir.Output(np.array([6]))
    edges.append((prev, "output"))
    net = from_nir(graph(nodes, edges), dt=DT, discretization="euler",
                   reset="subtract_undecayed" if reset == "subtract" else None)
    T = 200
    x = (rng.random((T, 12)) < 0.3).astype(float)
    ref = _naive_snntorch(x, layers, reset)
    res = Simulator(net, engine="clock", dt=DT, rng=0).run((T + 3) * DT,
                                                           inputs={"input": Frames(x)},
                                                           progress=False)
    for k in range(2):
        st = res.spikes[f"lif{k}"]
        ours = np.zeros((T + 4, sizes[k + 1]))
        ours[np.rint(st.t / DT).astype(int), st.i] = 1
        assert ref[k].sum() > 50
        assert np.array_equal(ours[2 + k:2 + k + T], ref[k]), f"layer {k}"


def test_exact_import_follows_the_continuous_solution():
    tau, R, w = 0.01, 2.0, 0.3
    g = lif_graph(nir.LIF(tau=np.array([tau]), r=np.array([R]), v_leak=np.zeros(1),
                          v_threshold=np.array([1e3])), 1, w=np.array([[w]]))
    net = from_nir(g)
    dt = 1e-4
    res = Simulator(net, engine="clock", dt=dt, rng=0, monitors=[StateMonitor("x")]).run(
        50 * dt, inputs={"input": Frames(np.r_[[[1.0]], np.zeros((49, 1))])}, progress=False)
    v = res.state["x"]["v"][:, 0, 0]
    # a Dirac of weight w at the start of step 1 makes v jump by R*w/tau, then decays exactly
    n = np.arange(1, 50)
    np.testing.assert_allclose(v[1:], R * w / tau * np.exp(-(n - 1) * dt / tau), rtol=1e-12)


def test_exact_import_bias_is_a_constant_current():
    tau, R, b = 0.01, 2.0, 0.25
    g = lif_graph(nir.LIF(tau=np.array([tau]), r=np.array([R]), v_leak=np.array([0.1]),
                          v_threshold=np.array([10.0])), 1, bias=np.array([b]))
    net = from_nir(g)
    res = Simulator(net, engine="clock", dt=1e-3, rng=0, monitors=[StateMonitor("x")]).run(
        0.05, progress=False)
    v = res.state["x"]["v"][:, 0, 0]  # tau dv/dt = (v_leak - v) + R b, v(0) = v_leak
    t = res.state_t
    np.testing.assert_allclose(v, 0.1 + R * b * (1 - np.exp(-t / tau)), rtol=1e-12)


# --------------------------------------------------------------------------------------
# Resets and features NIR cannot carry
# --------------------------------------------------------------------------------------
def _one(node):
    n = node.shape
    return ir.Network({"in": ir.Input(n), "w": ir.Linear(np.eye(n[0])), "x": node,
                       "out": ir.Output()}, ["in->w", "w->x", "x->out"])


@pytest.mark.parametrize("node,feature", [
    (ir.LIF(3, reset="subtract"), "reset"),
    (ir.CubaLIF(3, reset="subtract"), "reset"),
    (ir.LIF(3, refractory=2e-3), "refractory"),
    (ir.IF(3, refractory=np.array([0, 1e-3, 2e-3])), "refractory"),
    (ir.IF(3, bias=0.1), "bias"),
])
def test_features_nir_lacks_error_or_travel_as_metadata(node, feature, tmp_path):
    net = _one(node)
    with pytest.raises(ValueError, match=f"node 'x' \\({type(node).__name__}\\): {feature} = .*"
                                         f"cannot be expressed in NIR 1.0"):
        to_nir(net)
    g = to_nir(net, unsupported="metadata", path=tmp_path / "f.nir")
    assert feature in g.nodes["x"].metadata["spikesim"]
    other = nir.read(tmp_path / "f.nir")  # what another tool sees: the plain NIR model
    assert np.array_equal(other.nodes["x"].v_reset, np.zeros(3))
    assert from_nir(g) == net
    assert from_nir(tmp_path / "f.nir") == net


def test_initial_state_and_ports_always_travel():
    net = ir.Network({"in": ir.Input(2), "w": ir.Linear(np.eye(2)),
                      "x": ir.CubaLIF(2, ports=("exc",), v_init=np.array([0.2, -0.1])),
                      "out": ir.Output()}, ["in->w", "w->x:exc", "x->out"])
    back = from_nir(to_nir(net))
    assert back == net and back.edges[1].port == "exc"


def test_multiport_cubalif_and_exact_synapse_bias_are_errors():
    two = ir.CubaLIF(2, tau_syn=(1e-3, 5e-3), ports=("e", "i"))
    net = ir.Network({"in": ir.Input(2), "w": ir.Linear(np.eye(2)), "x": two, "out": ir.Output()},
                     ["in->w", "w->x:e", "x->out"])
    with pytest.raises(ValueError, match="'x' \\(CubaLIF\\) has 2 ports"):
        to_nir(net, unsupported="metadata")
    biased = ir.Network({"in": ir.Input(2), "w": ir.Affine(np.eye(2), np.ones(2)),
                         "x": ir.LIF(2), "out": ir.Output()}, ["in->w", "w->x", "x->out"])
    with pytest.raises(ValueError, match="'w' \\(Affine\\) has a nonzero bias.*dt"):
        to_nir(biased)
    assert np.array_equal(to_nir(biased, dt=DT, discretization="euler").nodes["w"].bias, [1, 1])


def test_reset_overrides_for_discrete_producers():
    beta = np.array([0.5, 0.9])
    g = lif_graph(snn_lif(beta, thr=1.0), 2)
    sub = from_nir(g, dt=DT, discretization="euler", reset="subtract_undecayed")["x"]
    assert sub.reset == "subtract"
    # spikesim subtracts (v_th - v_reset) before the next step's decay: beta*amount == 1
    np.testing.assert_allclose(beta * (sub.v_threshold - sub.v_reset), 1.0, rtol=1e-12)
    assert from_nir(g, reset="subtract")["x"].reset == "subtract"
    hold = from_nir(g, dt=DT, discretization="euler", reset="value_hold")["x"]
    assert hold.reset == "value" and hold.refractory == DT
    with pytest.raises(ValueError, match="needs dt"):
        from_nir(g, reset="subtract_undecayed")


# --------------------------------------------------------------------------------------
# Nested graphs and NIR-only nodes
# --------------------------------------------------------------------------------------
def test_nested_recurrent_graph_like_snntorch_rleaky():
    n = 3
    sub = graph({"input": nir.Input(np.array([n])), "lif": snn_lif(np.full(n, 0.9)),
                 "w_rec": nir.Linear(weight=0.5 * np.ones((n, n))),
                 "output": nir.Output(np.array([n]))},
                [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    g = graph({"input": nir.Input(np.array([2])), "fc": nir.Linear(weight=np.ones((n, 2))),
               "rlif": sub, "id": nir.ir.graph.Identity(np.array([n])),
               "output": nir.Output(np.array([n]))},
              [("input", "fc"), ("fc", "rlif"), ("rlif", "id"), ("id", "output")])
    net = from_nir(g, dt=DT, discretization="euler")
    assert set(net.nodes) == {"input", "fc", "rlif.lif", "rlif.w_rec", "output"}
    assert {str(e) for e in net.edges} == {"input->fc", "fc->rlif.lif", "rlif.lif->rlif.w_rec",
                                           "rlif.w_rec->rlif.lif", "rlif.lif->output"}
    res = Simulator(net, engine="clock", dt=DT, rng=0).run(
        20 * DT, inputs={"input": Frames(np.ones((20, 2)))}, progress=False)
    assert len(res.spikes["rlif.lif"]) > 0


def test_scale_becomes_diagonal_linear():
    g = graph({"input": nir.Input(np.array([3])), "s": nir.Scale(scale=np.array([1., 2., 3.])),
               "x": snn_lif(np.full(3, 0.9)), "output": nir.Output(np.array([3]))},
              [("input", "s"), ("s", "x"), ("x", "output")])
    assert np.array_equal(from_nir(g, dt=DT, discretization="euler")["s"].weight,
                          np.diag([1., 2., 3.]))


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------
def test_not_a_nir_file(tmp_path):
    import h5py

    txt = tmp_path / "model.nir"
    txt.write_text("not hdf5")
    with pytest.raises(ValueError, match="not a NIR file \\(not an HDF5 file"):
        from_nir(txt)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("x", data=np.ones(3))
    with pytest.raises(ValueError, match="not a NIR file \\(an HDF5 file without"):
        from_nir(tmp_path / "other.h5")
    with pytest.raises(FileNotFoundError, match="no such NIR file"):
        from_nir(tmp_path / "missing.nir")


def test_inconsistent_parameter_shapes(tmp_path):
    import h5py

    g = lif_graph(snn_lif(np.full(4, 0.9)), 4)
    nir.write(tmp_path / "g.nir", g)
    with h5py.File(tmp_path / "g.nir", "r+") as f:
        del f["node/nodes/x/tau"]
        f["node/nodes/x/tau"] = np.ones(3)
    with pytest.raises(ValueError, match="invalid NIR graph.*same shape"):
        from_nir(tmp_path / "g.nir")
    g.nodes["x"].tau = np.full(3, 1e-3)  # in memory, past nir's own check
    with pytest.raises(ValueError, match="NIR node 'x' \\(LIF\\): parameter arrays of "
                                         "inconsistent shapes: 'r' has shape \\(4,\\) but 'tau' "
                                         "has shape \\(3,\\)"):
        from_nir(g)
    aff = lif_graph(snn_lif(np.full(4, 0.9)), 4, bias=np.ones(4))
    aff.nodes["w"].bias = np.ones(5)
    with pytest.raises(ValueError, match="NIR node 'w' \\(Affine\\).*bias"):
        from_nir(aff, dt=DT, discretization="euler")


def test_dangling_edges_and_unknown_types():
    g = lif_graph(snn_lif(np.full(2, 0.9)), 2)
    g.edges.append(("x", "ghost"))
    with pytest.raises(ValueError, match="NIR edge \\('x', 'ghost'\\): target node 'ghost' does "
                                         "not exist \\(dangling edge\\)"):
        from_nir(g, dt=DT, discretization="euler")
    g.edges[-1] = ("w", "x")
    with pytest.raises(ValueError, match="NIR edge \\('w', 'x'\\): appears twice"):
        from_nir(g, dt=DT, discretization="euler")
    gi = lif_graph(nir.I(r=np.ones(2)), 2)
    with pytest.raises(ValueError, match="NIR node 'x': type I cannot be imported"):
        from_nir(gi)
    gc = graph({"input": nir.Input(np.array([1, 8])),
                "c": nir.Conv1d(input_shape=8, weight=np.ones((1, 1, 3)), stride=1, padding=0,
                                dilation=1, groups=1, bias=np.zeros(1)),
                "output": nir.Output(np.array([1, 6]))}, [("input", "c"), ("c", "output")])
    with pytest.raises(ValueError, match="type Conv1d cannot be imported \\(spikesim has no 1-d"):
        from_nir(gc)


def test_bad_arguments():
    net = _one(ir.LIF(2))
    g = to_nir(net)
    with pytest.raises(ValueError, match="discretization: 'rk4' is unknown"):
        to_nir(net, discretization="rk4")
    with pytest.raises(ValueError, match="dt: discretization='euler' needs"):
        from_nir(g, discretization="euler")
    with pytest.raises(ValueError, match="dt: must be a finite number > 0"):
        to_nir(net, dt=-1.0, discretization="euler")
    with pytest.raises(ValueError, match="unsupported: 'ignore' is unknown"):
        to_nir(net, unsupported="ignore")
    with pytest.raises(ValueError, match="reset: 'soft' is unknown"):
        from_nir(g, reset="soft")
    with pytest.raises(TypeError, match="net: expected a spikesim.ir.Network"):
        to_nir(g)
    with pytest.raises(TypeError, match="graph_or_path: expected a nir.NIRGraph"):
        from_nir(net)
    reshaping = ir.Network({"in": ir.Input((2, 2)), "w": ir.Linear(np.eye(4)), "x": ir.LIF(4),
                            "out": ir.Output()}, ["in->w", "w->x", "x->out"])
    with pytest.raises(ValueError, match="edge in->w: NIR needs equal shapes.*ir.Flatten"):
        to_nir(reshaping)


def test_imported_graph_runs_on_a_chip_backend():
    """An imported snnTorch-style graph compiles onto the Loihi model like any network."""
    from spikesim import backends

    try:
        loihi = backends.get("loihi")
    except (ImportError, ValueError) as exc:  # pragma: no cover - backend not in this build
        pytest.skip(f"loihi backend unavailable: {exc}")
    dt = 1e-3
    rng = np.random.default_rng(0)
    beta = np.full(6, 0.9)
    tau = dt / (1 - beta)
    g = graph({"input": nir.Input(np.array([10])),
               "fc": nir.Linear(weight=rng.normal(0, 1, (6, 10))),
               "lif": nir.LIF(tau=tau, r=tau / dt, v_leak=np.zeros(6), v_threshold=np.ones(6)),
               "output": nir.Output(np.array([6]))},
              [("input", "fc"), ("fc", "lif"), ("lif", "output")])
    net = from_nir(g, dt=dt, discretization="euler")
    x = rng.random((50, 10)) < 0.3
    chip = loihi.run(loihi.compile(net, dt=dt, num_bits=8), {"input": x}, progress=False)
    ref = Simulator(net, engine="clock", dt=dt, rng=0).run(
        50 * dt, inputs={"input": Frames(x.astype(float))}, progress=False)
    want = ref.spikes["lif"].counts()[0]
    got = chip.outputs["output"][0]
    assert want.sum() > 20
    assert np.all(np.abs(got - want) <= np.maximum(2, 0.1 * want)), (got, want)


@pytest.mark.parametrize("disc,dt", [("exact", None), ("euler", 1e-3)])
def test_exported_nir_alone_describes_the_same_dynamics(disc, dt):
    """Without spikesim's metadata (what another tool reads), the exported parameters give
    the same dynamics: strip the metadata, import, run both on the clock engine."""
    rng = np.random.default_rng(5)
    u = rng.uniform
    v0 = {"lif": u(-.2, .2, 6), "cu": u(-.2, .2, 4), "li": u(-.2, .2, 3)}
    net = ir.Network({
        "in": ir.Input(5), "w1": ir.Linear(u(0, 1.5, (6, 5))),
        "lif": ir.LIF(6, tau=u(5e-3, 2e-2, 6), r=u(.5, 2, 6), v_leak=u(-.1, .1, 6),
                      bias=u(0, .3, 6), v_threshold=u(.8, 1.2, 6), v_reset=u(-.3, 0, 6),
                      v_init=v0["lif"]),
        "w2": ir.Linear(u(0, 1.5, (4, 6))),
        "cu": ir.CubaLIF(4, tau_mem=u(1e-2, 3e-2, 4), tau_syn=u(2e-3, 6e-3, 4), r=u(.5, 2, 4),
                         v_leak=.05, bias=u(0, .2, 4), v_threshold=.3, v_init=v0["cu"]),
        "w3": ir.Linear(u(-1, 1, (3, 4))),
        "li": ir.LI(3, tau=1e-2, r=u(.5, 2, 3), bias=.1, v_init=v0["li"]),
        "out": ir.Output(), "out2": ir.Output()},
        ["in->w1", "w1->lif", "lif->w2", "w2->cu", "cu->w3", "w3->li", "cu->out", "li->out2"])
    g = to_nir(net, dt=dt, discretization=disc)
    for n in g.nodes.values():
        n.metadata = {}
    g.metadata = {}
    back = from_nir(g, dt=dt, discretization=disc)
    back = back.with_nodes(**{k: dataclasses.replace(back[k], v_init=v) for k, v in v0.items()})
    assert back != net  # the representation differs (bias folded into v_leak) ...
    x = (rng.random((300, 5)) < 0.3).astype(float)
    mons = [StateMonitor(k) for k in v0]
    runs = [Simulator(n, engine="clock", dt=1e-3, rng=0, monitors=mons).run(
        0.3, inputs={"in": Frames(x)}, progress=False) for n in (net, back)]
    for k in ("lif", "cu"):  # ... the dynamics do not
        a, b = runs[0].spikes[k], runs[1].spikes[k]
        assert len(a) > 20 and np.array_equal(a.t, b.t) and np.array_equal(a.i, b.i), k
    for k in v0:
        np.testing.assert_allclose(runs[1].state[k]["v"], runs[0].state[k]["v"], rtol=1e-9,
                                   atol=1e-12)


@pytest.mark.timeout(120)
def test_nir_is_optional(monkeypatch):
    import subprocess
    import sys

    code = "import sys, spikesim, spikesim.ir.io, spikesim.ir.nir; print('nir' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "False", out.stderr  # importing spikesim never imports nir
    monkeypatch.setitem(sys.modules, "nir", None)  # as if the extra were not installed
    import spikesim.ir.io as io

    with pytest.raises(ImportError, match="pip install 'spikesim\\[nir\\]'"):
        io.to_nir(_one(ir.LIF(2)))
    with pytest.raises(ImportError, match="optional 'nir' package"):
        io.from_nir("model.nir")


def test_exact_import_on_the_event_engine_matches_the_ode():
    """NIR's continuous-time LIF, imported exactly, on the exact event engine: a constant bias
    current fires periodically at the analytic crossing times; a Dirac input jumps v by
    R*w/tau and fires at its arrival time, except on an exact tie (NIR fires on v > thr)."""
    pytest.importorskip("spikesim.sim.event")
    from spikesim.sim import SpikeTimes

    tau = np.array([0.01, 0.5, 0.5])
    R = np.array([2.0, 1.0, 1.0])
    b = np.array([0.75, 0.0, 0.0])
    w = np.array([[0.0], [0.6], [0.5]])  # R*w/tau = 1.2 and exactly 1.0 (= threshold)
    g = graph({"input": nir.Input(np.array([1])), "w": nir.Affine(weight=w, bias=b),
               "x": nir.LIF(tau=tau, r=R, v_leak=np.zeros(3), v_threshold=np.ones(3)),
               "output": nir.Output(np.array([3]))},
              [("input", "w"), ("w", "x"), ("x", "output")])
    net = from_nir(g)
    res = Simulator(net, engine="event", rng=0).run(
        0.1, inputs={"input": SpikeTimes([0.0123], [0])}, progress=False)
    st = res.spikes["x"]
    t0 = st.t[st.i == 0]
    period = -tau[0] * np.log(1 - 1.0 / (R[0] * b[0]))  # tau dv/dt = -v + R b from v = 0
    np.testing.assert_allclose(t0, period * np.arange(1, t0.size + 1), rtol=1e-9)
    assert t0.size == int(0.1 / period)
    assert st.t[st.i == 1].tolist() == [0.0123]
    assert st.t[st.i == 2].size == 0
