"""List the zoo's models with their defaults: `python -m zoo.list`."""

import sys

from zoo import registry


def main(argv=None):
    rows = []
    for name in registry.names():
        r = registry.get(name)
        defaults = ", ".join(f"{k}={v}" for k, v in r.defaults.items() if v is not None)
        rows.append((name, r.task, r.description, defaults, r.paper))
    for name, task, description, defaults, paper in rows:
        print(f"{name:<10} {task:<15} {description}\n{'':<27}defaults: {defaults}\n{'':<27}after: {paper}")
    from zoo.train import build_parser

    print("\n" + build_parser().format_usage().strip())
    print("see python -m zoo.train --help for what each flag does")
    return 0


if __name__ == "__main__":
    sys.exit(main())
