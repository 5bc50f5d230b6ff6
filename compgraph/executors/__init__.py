"""Executors: strategies that run the same graph data (lazy, autobatch, replay)."""
