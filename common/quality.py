"""Score the generator after every epoch and keep its best-by-KID checkpoint."""

import logging
import time
from pathlib import Path

import keras
import numpy as np

from common.metrics import Scorer, format_scores

log = logging.getLogger(__name__)


def make_scorer(dataset, data_dir):
    """Return a `Scorer` for the dataset's test split, or None if it cannot be built.

    Training goes on without scores when the dataset's classifier weights or its data
    are missing; the reason is logged once.
    """
    from common.classifier import weights_path

    if not weights_path(dataset).is_file():
        log.info("No quality scores: %s is missing; train it with `python -m common.classifier "
                 "--dataset %s`", weights_path(dataset), dataset)
        return None
    try:
        return Scorer.for_dataset(dataset, data_dir)
    except Exception as error:  # Scoring is an extra; a failure must not stop training.
        log.info("No quality scores: building the scorer for %s failed: %s", dataset, error)
        return None


class QualityScores(keras.callbacks.Callback):
    """Score a fixed latent batch after each epoch; save the generator when KID improves.

    FD and KID go into the epoch's logs, so TensorBoard and run.json record them; the
    full scores (with the class histogram) are kept in `latest`. `best_kid` carries
    the best KID of epochs completed before a resume.
    """

    def __init__(self, scorer, latent_vectors, best_path, best_kid=np.inf, batch_size=500):
        super().__init__()
        self.scorer = scorer
        self.latent_vectors = latent_vectors
        self.best_path = Path(best_path)
        self.best_kid = best_kid
        self.batch_size = batch_size
        self.latest = {}

    def on_epoch_end(self, epoch, logs=None):
        started = time.perf_counter()
        images = self.model.generator.predict(self.latent_vectors, batch_size=self.batch_size, verbose=0)
        scores = self.scorer.score(np.clip(images, -1.0, 1.0))
        improved = scores["kid_mean"] < self.best_kid
        if improved:
            self.best_kid = scores["kid_mean"]
            self.model.generator.save(self.best_path)
        scores["score_seconds"] = round(time.perf_counter() - started, 2)
        self.latest = scores
        if logs is not None:
            logs.update(fd=scores["fd"], kid=scores["kid_mean"], kid_std=scores["kid_std"])
        log.info("Epoch %d: %s%s", epoch + 1, format_scores(scores),
                 "; best KID so far, saved" if improved else "")
