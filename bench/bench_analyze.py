"""Analysis speed: builder.analyze vs torchinfo.summary on the same networks, in one run.

The presets (ResNet-18 and ResNet-50 among them, torchvision's layouts), VGG16 and ResNet-152.

Run: python bench/bench_analyze.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torchinfo

import builder
from builder.presets import PRESET_NAMES, preset
from tests.designs import resnet152


def vgg16() -> dict:
    layers: list[dict] = []
    for block in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(block[1]):
            layers += [
                {"type": "Conv2d", "out_channels": block[0], "kernel_size": 3, "padding": 1},
                {"type": "ReLU"},
            ]
        layers.append({"type": "MaxPool2d", "kernel_size": 2})
    layers += [{"type": "Flatten"}]
    for width in (4096, 4096):
        layers += [{"type": "Linear", "out_features": width}, {"type": "ReLU"}, {"type": "Dropout"}]
    layers.append({"type": "Linear", "out_features": 1000})
    return {"name": "VGG16", "input_shape": [3, 224, 224], "layers": layers}


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    nets = {name: preset(name) for name in PRESET_NAMES if name != "empty"}
    nets["VGG16"] = vgg16()
    nets["ResNet-152"] = resnet152()
    print(f"{'network':28} {'params':>13} {'analyze ms':>11} {'torchinfo ms':>13} {'speed-up':>9}")
    for name, data in nets.items():
        spec = builder.load_spec(data)
        t_analyze = best_of(lambda spec=spec: builder.analyze(spec), 20)
        model = builder.build_model(spec).eval()
        shape = (1, *data["input_shape"])
        t_info = best_of(
            lambda model=model, shape=shape: torchinfo.summary(model, input_size=shape, verbose=0),
            3,
        )
        params = builder.analyze(spec).total_params
        print(
            f"{name:28} {params:>13,} {t_analyze * 1e3:>11.3f} {t_info * 1e3:>13.1f} "
            f"{t_info / t_analyze:>8.0f}x"
        )

    huge = {
        "input_shape": [200_000],
        "layers": [
            {"type": "Linear", "out_features": 100_000},
            {"type": "ReLU"},
            {"type": "Linear", "out_features": 10},
        ],
    }
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t_huge = best_of(lambda: builder.analyze(huge), 20)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    total = builder.analyze(huge).total_params
    print(
        f"\n{total:,} parameters ({total * 4 / 1e9:.0f} GB as float32): analyze "
        f"{t_huge * 1e3:.3f} ms, peak RSS grew {grown} KB (torchinfo would need the weights)"
    )


if __name__ == "__main__":
    main()
