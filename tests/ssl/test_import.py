"""``import labelgraph`` never imports torch; ``labelgraph.ssl`` loads its names lazily."""

import subprocess
import sys


def test_import_labelgraph_does_not_import_torch():
    code = "import sys, labelgraph, labelgraph.ssl, labelgraph.ssl.data, labelgraph.ssl.schedules; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lazy_names_resolve():
    import labelgraph.ssl as ssl

    assert callable(ssl.cosine_schedule)
    assert "BYOLTrainer" in dir(ssl)
