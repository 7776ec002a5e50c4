"""Data-making: the embedded synthetic world (demo_world.py), written in classification, VOC and ADE layouts at once
from the same scenes, so the default ladder runs with no download."""
