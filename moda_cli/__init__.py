"""moda: portraits + speech -> talking-head videos, offline on a CPU."""

__version__ = "0.1.0"
