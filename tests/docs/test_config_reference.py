"""Every key of the config schema is in the generated configuration reference, with a
description, and the reference says the right thing about each."""

from __future__ import annotations

import pytest
from pydantic import BaseModel
from tests.docs._docs_ext import load

from caviar.config import PER_MEMBER_FIELDS, RunConfig
from caviar.tuning.settings import SearchSettings

config_reference = load("config_reference")
RST = config_reference.render_rst()


def schema_keys(model: type[BaseModel], prefix: str) -> list[str]:
    """Every leaf key of a pydantic model, as ``section.key`` paths."""
    out = []
    for name, info in model.model_fields.items():
        types = [info.annotation, *getattr(info.annotation, "__args__", ())]
        sub = next((t for t in types if isinstance(t, type) and issubclass(t, BaseModel)), None)
        if sub is not None:
            out += schema_keys(sub, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


RUN_KEYS = schema_keys(RunConfig, "")
SEARCH_KEYS = schema_keys(SearchSettings, "search.")
ALL_KEYS = RUN_KEYS + SEARCH_KEYS


def test_the_schema_is_walked():
    assert len(RUN_KEYS) > 80 and "optimizer.lr" in RUN_KEYS and "data.source" in RUN_KEYS
    assert "search.halving.eta" in SEARCH_KEYS and "search.pbt.perturb" in SEARCH_KEYS


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_key_is_in_the_reference_with_a_description(key):
    assert f"   * - ``{key}``" in RST
    sections = [s for s in config_reference.all_sections() if key.startswith(s[0] + ".")]
    table, model, run_section, _ = max(sections, key=lambda s: len(s[0]))
    (row,) = [k for k in config_reference.section_keys(table, model, run_section) if k.path == key]
    assert row.description, f"{key}: add Field(description=...) in the schema"
    assert row.type and row.default


def test_per_member_and_search_columns():
    rows = {
        k.path: k
        for t, m, run, _ in config_reference.all_sections()
        for k in config_reference.section_keys(t, m, run)
    }
    assert {p for p, k in rows.items() if k.per_member} == set(PER_MEMBER_FIELDS)
    assert rows["optimizer.lr"].search == "range, choice"
    assert rows["model.activation"].search == "choice"
    assert rows["model.hidden"].grid == "yes (a list of lists)"
    assert rows["data.source"].grid.startswith("no") and rows["data.source"].search == "no"
    assert rows["optimizer.lr"].allowed == ">= 0"
    assert '"relu"' in rows["model.activation"].allowed
    assert rows["data.source"].default == "required"


def test_a_key_without_description_is_caught():
    class Section(BaseModel):
        documented: int = 0

    Section.model_fields["documented"].description = None
    (row,) = config_reference.section_keys("extra", Section, True)
    assert row.path == "extra.documented" and not row.description
