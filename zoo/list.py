"""List the zoo's models with their defaults and presets: `python -m zoo.list`."""

import sys

from zoo import models


def main(argv=None):
    from zoo.train import build_parser, flags

    for name in models.names():
        r = models.get(name)
        defaults = ", ".join(f"{k}={v}" for k, v in r.defaults.items() if v is not None)
        print(f"{name:<10} {r.task:<15} {r.description}\n{'':<27}defaults: {defaults}")
        for preset, values in r.presets.items():
            print(f"{'':<27}--preset {preset}: {flags(values)}")
        print(f"{'':<27}after: {r.paper}")

    print("\n" + build_parser().format_usage().strip())
    print("see python -m zoo.train --help for what each flag does")
    return 0


if __name__ == "__main__":
    sys.exit(main())
