"""The renderer: portrait + face mesh + one joint-motion row -> one RGB frame."""

from .renderer import Renderer

__all__ = ["Renderer"]
