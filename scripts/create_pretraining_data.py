"""Make BERT pre-training TFRecords from text (see `bert_tf.data.pretraining.create_pretraining_data`)."""

import sys

from bert_tf.data.pretraining.create_pretraining_data import main

if __name__ == "__main__":
    sys.exit(main())
