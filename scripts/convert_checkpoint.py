"""Convert a BERT checkpoint between formats; see `python scripts/convert_checkpoint.py --help`."""

import sys

from bert_tf.convert import main

if __name__ == "__main__":
    sys.exit(main())
