"""Fine-tune BERT (classification, tagging/NER, SQuAD); `python scripts/finetune.py --help` lists every option."""

import sys

from bert_tf.finetuning.cli import main

if __name__ == "__main__":
    sys.exit(main())
