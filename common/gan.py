"""The DCGAN: a `keras.Model` that trains a generator against a discriminator in `fit`.

The step follows the published experiments, which came from the TensorFlow DCGAN
tutorial: one forward pass per batch, then the discriminator and the generator each
take a gradient step on the losses of that same pass.
"""

import keras
import tensorflow as tf
from keras import ops


def replicas_in_sync():
    """Return the number of replicas that share the global batch in this step."""
    return tf.distribute.get_replica_context().num_replicas_in_sync


class DCGAN(keras.Model):
    """Generator and discriminator trained together with binary cross-entropy on logits.

    Args:
        generator: maps latent vectors of size `latent_dim` to images in [-1, 1].
        discriminator: maps images to one logit each (real > 0).
        latent_dim: size of each latent vector.
        label_noise: amplitude of the uniform noise added to the discriminator's
            targets (0 turns it off).
        seed: seeds the latent vectors and label noise drawn during training.
    """

    def __init__(self, generator, discriminator, latent_dim, label_noise=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.label_noise = label_noise
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def call(self, latent_vectors, training=False):
        return self.generator(latent_vectors, training=training)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Attach one optimizer per network and create their variables now.

        Building each optimizer here, inside the strategy scope the model was made in,
        avoids the MirroredStrategy failure "You must feed a value for placeholder
        tensor" seen when optimizer variables are first created inside the step.
        """
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def sample_latent(self, batch_size):
        """Draw a batch of standard normal latent vectors from the model's seed."""
        return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)

    def losses_from_logits(self, real_logits, fake_logits):
        """Return per-example discriminator and generator losses.

        The discriminator's targets are 1 for real and 0 for generated images, each
        plus uniform noise of amplitude `label_noise`; the generator's target is 1.
        """
        real_targets = ops.ones_like(real_logits)
        fake_targets = ops.zeros_like(fake_logits)
        if self.label_noise:
            real_targets += self.label_noise * keras.random.uniform(
                ops.shape(real_logits), seed=self.seed_generator)
            fake_targets += self.label_noise * keras.random.uniform(
                ops.shape(fake_logits), seed=self.seed_generator)
        d_loss = (keras.losses.binary_crossentropy(real_targets, real_logits, from_logits=True)
                  + keras.losses.binary_crossentropy(fake_targets, fake_logits, from_logits=True))
        g_loss = keras.losses.binary_crossentropy(
            ops.ones_like(fake_logits), fake_logits, from_logits=True)
        return d_loss, g_loss

    def train_step(self, real_images):
        batch_size = ops.shape(real_images)[0]
        # Under tf.distribute each replica sees part of the global batch; dividing the
        # summed loss by the global size makes the all-reduced gradient a global mean.
        global_batch_size = ops.cast(batch_size * replicas_in_sync(), "float32")
        latent_vectors = self.sample_latent(batch_size)

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(latent_vectors, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake_images, training=True)
            d_losses, g_losses = self.losses_from_logits(real_logits, fake_logits)
            d_loss = ops.sum(d_losses) / global_batch_size
            g_loss = ops.sum(g_losses) / global_batch_size

        d_weights = self.discriminator.trainable_weights
        g_weights = self.generator.trainable_weights
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_weights), d_weights))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_weights), g_weights))

        self.d_loss_tracker.update_state(ops.mean(d_losses))
        self.g_loss_tracker.update_state(ops.mean(g_losses))
        return {metric.name: metric.result() for metric in self.metrics}
