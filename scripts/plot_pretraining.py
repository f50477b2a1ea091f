"""Plot a pre-training run's curves as SVG: see `python scripts/plot_pretraining.py --help`."""

import sys

from bert_tf.training.curves_plot import main

if __name__ == "__main__":
    sys.exit(main())
