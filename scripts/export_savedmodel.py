"""Export a fine-tuned model for TF Serving; `python scripts/export_savedmodel.py --help` lists every option."""

import sys

from bert_tf.export.cli import main

if __name__ == "__main__":
    sys.exit(main())
