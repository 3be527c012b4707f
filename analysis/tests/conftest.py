"""pytest setup for analysis/: import the scripts from analysis/, draw without a display."""
import os
import sys

os.environ.setdefault("MPLBACKEND", "Agg")
ANALYSIS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ANALYSIS)
FIXTURES = os.path.join(ANALYSIS, "tests", "fixtures")
