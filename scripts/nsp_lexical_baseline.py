"""Topic-only baseline for held-out NSP accuracy: see `python scripts/nsp_lexical_baseline.py --help`."""

import sys

from bert_tf.training.nsp_baseline import main

if __name__ == "__main__":
    sys.exit(main())
