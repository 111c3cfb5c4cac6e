"""tuner: fine-tuning and ablation toolkit for regional and cultural LLM work."""

__version__ = "0.1.0"
