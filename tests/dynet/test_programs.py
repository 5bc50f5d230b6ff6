"""What DyNet's own example programs (DyNet 2.1.2's examples/, run with only the import changed)
needed beyond the reference cases: the expected values were printed by real DyNet 2.1.2 for
the same code (the snippet in each test, with `import dynet as dy`)."""
import numpy as np

import compgraph.dynet as dy


def _sgd_steps(p, t, scales):
    for s in scales:
        dy.renew_cg()
        loss = dy.sum_elems(p * s)
        loss.value()
        loss.backward()
        t.update()


def test_status_prints_counts_since_the_last_status_to_stderr_without_newline(capsys):
    # rnnlm.py and bilstmtagger.py print `trainer.status()` then the loss on the same line
    m = dy.ParameterCollection()
    p = m.add_parameters((2,), init=dy.ConstInitializer(1.0))
    t = dy.SimpleSGDTrainer(m, learning_rate=0.25)
    _sgd_steps(p, t, (1.0, 10.0))             # the second one is clipped (norm 14.1 > 5)
    t.status()
    _sgd_steps(p, t, (1.0, 10.0, 20.0))
    t.learning_rate = 0.0125
    t.status()
    t.status()
    out = capsys.readouterr()
    # real DyNet 2.1.2, on stderr (std::cerr, Trainer::status):
    assert out.err == ("[lr=0.25 clips=1 updates=2] [lr=0.0125 clips=2 updates=3] "
                       "[lr=0.0125 clips=0 updates=0] ")
    assert out.out == ""
    np.testing.assert_allclose(p.as_array(), [-2.1516504287719727] * 2, rtol=1e-6)
