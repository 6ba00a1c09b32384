"""Small tuning configs shared by the tune tests (fast: iris, tiny nets)."""

import copy


def iris_config(tmp_path=None, **search):
    cfg = {
        "data": {"source": "iris", "seed": 0},
        "model": {"hidden": [8]},
        "optimizer": {"name": "adam"},
        "train": {"epochs": 6, "batch_size": 16, "patience": 100},
        "search": {
            "strategy": "random",
            "trials": 8,
            "seed": 0,
            "space": {
                "optimizer.lr": {"log_uniform": [1e-3, 1e-1]},
                "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
                "model.hidden": {"choice": [[8], [16]]},
            },
        },
    }
    cfg["search"].update(search)
    return copy.deepcopy(cfg)


def write_toml(path, cfg):
    """A minimal TOML writer for these configs."""
    import json

    lines = []

    def emit(prefix, table):
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{json.dumps(k) if '.' in k else k} = {toml_value(v)}")
        for k, v in subs.items():
            if prefix == "search" and k == "space":
                lines.append("[search.space]")
                for path, spec in v.items():
                    ((kind, args),) = spec.items()
                    lines.append(f'"{path}" = {{ {kind} = {toml_value(args)} }}')
            else:
                emit(f"{prefix}.{k}" if prefix else k, v)

    def toml_value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(toml_value(x) for x in v) + "]"
        return repr(v)

    emit("", cfg)
    path.write_text("\n".join(lines) + "\n")
    return path
