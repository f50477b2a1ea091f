"""Learn a BERT WordPiece vocabulary: see `python scripts/build_vocab.py --help`."""

import sys

from bert_tf.text.build_vocab import main

if __name__ == "__main__":
    sys.exit(main())
