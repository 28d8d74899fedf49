"""The training recipe: a run's length follows its number of images, within bounds; operators override any
number of it from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import DiffusionSettings
from core.training_recipe import TrainingRecipe


@pytest.mark.parametrize(("training_images", "repeats", "views"), [
    (9, 11, 990),  # ten images, one held out: raised to about the 1000-view floor
    (27, 10, 2700),  # 100 views each
    (90, 6, 5400),  # a hundred images: capped at 6000 views
])
def test_each_image_is_seen_about_views_per_image_times_within_the_bounds(training_images, repeats, views):
    recipe = TrainingRecipe()
    assert recipe.repeats_per_epoch(training_images) == repeats
    assert recipe.epochs * training_images * repeats == views


def test_operators_override_single_numbers_from_the_environment(monkeypatch):
    monkeypatch.setenv("SL_DIFFUSION_TRAINING__EPOCHS", "12")
    monkeypatch.setenv("SL_DIFFUSION_TRAINING__SDXL__BATCH_SIZE", "4")
    recipe = DiffusionSettings().training
    assert (recipe.epochs, recipe.for_family("sdxl").batch_size, recipe.for_family("sdxl").rank) == (12, 4, 16)
    assert recipe.for_family("sd1") == TrainingRecipe().sd1


@pytest.mark.parametrize(("values", "complaint"), [
    ({"min_views": 7000}, "min_views must not exceed max_views"),
    ({"resolution": 500}, "multiple of 64"),
])
def test_a_recipe_that_cannot_be_followed_is_refused(values, complaint):
    with pytest.raises(ValidationError, match=complaint):
        TrainingRecipe(**values)
