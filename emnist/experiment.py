"""Shared parts of the EMNIST Letters experiments: discriminator, optimizers, data, settings.

The published EMNIST experiment is the MNIST one with a latent size of 256: the same
discriminator, Adam with learning rate 1e-4 for both networks, batch 256 and 100
epochs, on the 124,800 training letters (labels 1-26).
"""

from common.data import EMNIST_LETTERS_FILE, load_emnist_letters
from common.train import Experiment
from mnist.experiment import BATCH_SIZE, EPOCHS, IMAGE_SHAPE, build_discriminator, make_optimizers

LATENT_DIM = 256

__all__ = ["BATCH_SIZE", "IMAGE_SHAPE", "LATENT_DIM", "build_discriminator", "make_experiment",
           "make_optimizers"]


def make_experiment(variant, build_generator):
    """Describe the EMNIST Letters run of one generator variant."""
    return Experiment(
        dataset="emnist", variant=variant,
        description=f"Train the {variant} DCGAN generator on EMNIST Letters.",
        build_generator=build_generator, build_discriminator=build_discriminator,
        load_data=load_emnist_letters, make_optimizers=make_optimizers,
        latent_dim=LATENT_DIM, epochs=EPOCHS, batch_size=BATCH_SIZE,
        data_file=EMNIST_LETTERS_FILE, download_source="tensorflow_datasets emnist/letters",
    )
