"""``python -m benchmarks [--quick] [--json FILE] [--results FILE]``."""
import sys

from benchmarks.runner import main

sys.exit(main())
