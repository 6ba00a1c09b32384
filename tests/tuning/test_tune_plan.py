"""The plan validates the base configuration once and keeps the RunConfig."""

import dataclasses

from tests.tuning.tune_helpers import iris_config

from caviar.config import RunConfig, validate_config
from caviar.tuning.plan import TunePlan, make_plan


def test_make_plan_keeps_the_validated_base_config():
    plan = make_plan(iris_config(cv=3))
    assert isinstance(plan.config, RunConfig)
    assert plan.config == validate_config(plan.base)  # the base as the search runs it
    assert plan.config.train.cv == 3  # search.cv moved into every trial's train.cv
    assert plan.base_config() is plan.config  # not validated again
    assert dataclasses.replace(plan, name="other").base_config() is plan.config


def test_a_plan_made_without_it_validates_its_base_once():
    made = make_plan(iris_config())
    plan = TunePlan(made.base, made.settings, made.space, made.name)
    assert plan.config is None
    first = plan.base_config()
    assert first == made.config
    assert plan.base_config() is first
