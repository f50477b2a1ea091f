"""Pre-train BERT; `python scripts/pretrain.py --help` lists every option."""

import sys

from bert_tf.training.pretrain_cli import main

if __name__ == "__main__":
    sys.exit(main())
