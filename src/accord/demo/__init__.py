"""The three stories of DESIGN.md, runnable: `accord demo fsm|vps|homelessness`."""

from accord.demo.runner import DemoResult, Reporter, run_story
from accord.demo.stories import STORIES, Story

__all__ = ["STORIES", "DemoResult", "Reporter", "Story", "run_story"]
