"""The DCGAN: a `keras.Model` that trains a generator against a discriminator in `fit`.

The step follows the published experiments, which came from the TensorFlow DCGAN
tutorial: one forward pass per batch, then the discriminator and the generator each
take a gradient step on the losses of that same pass.

The networks are plain Keras layers, so the model runs on the TensorFlow and the JAX
backends (chosen by KERAS_BACKEND). Each backend has its own step with the same
losses and update rule. On TensorFlow, `fit` calls `train_step(data)` inside a
`tf.function`. On JAX, it calls the stateless `train_step(state, data)` inside
`jax.jit`. TensorFlow is imported only when the TensorFlow backend is in use, so this
module imports on a machine that has JAX alone.

Mixed precision: set `keras.mixed_precision.set_global_policy("mixed_float16")`
before building the networks; `compile` then wraps both optimizers in
`keras.optimizers.LossScaleOptimizer`, and logits and losses are computed in float32.
"""

import keras
from keras import ops


def replicas_in_sync():
    """Return the number of replicas that share the global batch in this step.

    Always 1 on backends other than TensorFlow, which have no tf.distribute.
    """
    if keras.backend.backend() != "tensorflow":
        return 1
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None:  # No replica is running (cross-replica context), so ask the strategy.
        return tf.distribute.get_strategy().num_replicas_in_sync
    return context.num_replicas_in_sync


def replica_index():
    """Return this replica's position in the global batch (0 outside tf.distribute)."""
    if keras.backend.backend() != "tensorflow":
        return 0
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    return 0 if context is None else context.replica_id_in_sync_group


def needs_loss_scaling(*models):
    """Return True when any of `models` computes in float16 (the mixed_float16 policy)."""
    return any(model.dtype_policy.compute_dtype == "float16" for model in models)


class OptimizerPair(keras.optimizers.Optimizer):
    """Present the discriminator's and the generator's optimizers as one to `fit`.

    Keras's JAX trainer carries `model.optimizer.variables` through each step as state
    and writes them back at the end of every epoch. Making that list the two
    optimizers' variables, in order, keeps all of their state (moments, iteration
    counts, loss scales) in that round trip. The pair applies no gradients itself.
    On TensorFlow it takes the place of the RMSprop that `Model.compile` would
    otherwise create, which `fit` and BackupAndRestore build on every weight and
    checkpoint but never use, and it gives TensorBoard a step count that advances.

    Args:
        first: the discriminator's optimizer, already built.
        second: the generator's optimizer, already built.
    """

    def __init__(self, first, second, name="optimizer_pair"):
        super().__init__(learning_rate=0.0, name=name)
        self.first = first
        self.second = second

    def build(self, var_list):
        # Each optimizer is built on its own network by DCGAN.compile.
        self.built = True

    @property
    def variables(self):
        return list(self.first.variables) + list(self.second.variables)

    @property
    def optimizers(self):
        """The two optimizers; LearningRateScheduler looks for this attribute."""
        return [self.first, self.second]

    @property
    def iterations(self):
        # The discriminator's step count, which TensorBoard logs against.
        return self.first.iterations

    def apply(self, grads, trainable_variables=None):
        raise NotImplementedError("OptimizerPair only carries state. DCGAN applies the "
                                  "gradients with each optimizer separately.")


class DCGAN(keras.Model):
    """Generator and discriminator trained together with binary cross-entropy on logits.

    Args:
        generator: maps latent vectors of size `latent_dim` to images in [-1, 1].
        discriminator: maps images to one logit each (real > 0).
        latent_dim: size of each latent vector.
        label_noise: amplitude of the uniform noise added to the discriminator's
            targets (0 turns it off).
        seed: seeds the latent vectors and label noise drawn during training.

    Attributes:
        train_step_traces: how many times the Python body of `train_step` ran. Under
            `tf.function` or `jax.jit` that happens only while tracing (once per
            replica under tf.distribute), so a count that grows during training
            means the step is being retraced.
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
        self.train_step_traces = 0

    def call(self, latent_vectors, training=False):
        return self.generator(latent_vectors, training=training)

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Attach one optimizer per network and create their variables now.

        Building each optimizer here, inside the strategy scope the model was made in,
        avoids the MirroredStrategy failure "You must feed a value for placeholder
        tensor" seen when optimizer variables are first created inside the step.

        Under the mixed_float16 policy each optimizer is wrapped in a
        `LossScaleOptimizer` (unless it already is one). `optimizer` is set to an
        `OptimizerPair` of the two, so that `fit` on JAX carries their state.

        Args:
            d_optimizer: optimizer for the discriminator's weights.
            g_optimizer: optimizer for the generator's weights.
            **kwargs: passed to `keras.Model.compile` (for example `jit_compile`),
                except `optimizer` and `auto_scale_loss`, which are replaced.
        """
        if needs_loss_scaling(self.generator, self.discriminator):
            d_optimizer, g_optimizer = (
                optimizer if isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(optimizer, name=f"loss_scale_{role}")
                for optimizer, role in ((d_optimizer, "d"), (g_optimizer, "g"))
            )
        # JAX's fit carries only `optimizer`'s variables, so no other optimizer can go there.
        kwargs["optimizer"] = OptimizerPair(d_optimizer, g_optimizer)
        kwargs["auto_scale_loss"] = False  # Each optimizer is wrapped above instead.
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def draw(self, sampler, batch_size, shape):
        """Draw `batch_size` random rows of `shape` with `sampler` from the model's seed.

        Under tf.distribute every replica reads the same seed, so each draws the rows
        of the whole global batch and keeps its own slice: replicas get different
        values, and the global batch gets the same values as on one device.
        NOTE: layers with a SeedGenerator of their own, such as Dropout, still draw
        the same values on every replica.

        Args:
            sampler: `keras.random.normal` or `keras.random.uniform`.
            batch_size: rows for this replica.
            shape: shape of one row.
        """
        replicas = replicas_in_sync()
        if replicas == 1:
            return sampler((batch_size, *shape), seed=self.seed_generator)
        rows = sampler((replicas * batch_size, *shape), seed=self.seed_generator)
        return ops.reshape(rows, (replicas, batch_size, *shape))[replica_index()]

    def sample_latent(self, batch_size):
        """Draw a batch of standard normal latent vectors from the model's seed."""
        return self.draw(keras.random.normal, batch_size, (self.latent_dim,))

    def losses_from_logits(self, real_logits, fake_logits):
        """Return per-example discriminator and generator losses.

        The discriminator's targets are 1 for real and 0 for generated images, each
        plus uniform noise of amplitude `label_noise`; the generator's target is 1.
        Logits are shaped (batch, 1).
        """
        real_targets = ops.ones_like(real_logits)
        fake_targets = ops.zeros_like(fake_logits)
        if self.label_noise:
            batch_size, shape = ops.shape(real_logits)[0], tuple(real_logits.shape[1:])
            real_targets += self.label_noise * self.draw(keras.random.uniform, batch_size, shape)
            fake_targets += self.label_noise * self.draw(keras.random.uniform, batch_size, shape)
        d_loss = (keras.losses.binary_crossentropy(real_targets, real_logits, from_logits=True)
                  + keras.losses.binary_crossentropy(fake_targets, fake_logits, from_logits=True))
        g_loss = keras.losses.binary_crossentropy(
            ops.ones_like(fake_logits), fake_logits, from_logits=True)
        return d_loss, g_loss

    def forward_losses(self, real_images):
        """Run the training forward pass and return per-example (d_loss, g_loss).

        Logits are cast to float32 so that the losses keep full precision under a
        mixed policy. Both backends' steps call this, so they compute the same thing.
        """
        latent_vectors = self.sample_latent(ops.shape(real_images)[0])
        fake_images = self.generator(latent_vectors, training=True)
        real_logits = ops.cast(self.discriminator(real_images, training=True), "float32")
        fake_logits = ops.cast(self.discriminator(fake_images, training=True), "float32")
        return self.losses_from_logits(real_logits, fake_logits)

    def train_step(self, *args):
        """Update both networks on one batch: `(data)` on TensorFlow, `(state, data)` on JAX.

        Returns the logs (mean losses since the epoch began), and on JAX the new state too.
        """
        self.train_step_traces += 1
        if keras.backend.backend() == "jax":
            return self._jax_train_step(*args)
        return self._tf_train_step(*args)

    def _tf_train_step(self, data):
        import tensorflow as tf

        real_images = keras.utils.unpack_x_y_sample_weight(data)[0]
        batch_size = ops.shape(real_images)[0]
        # Under tf.distribute each replica receives part of the global batch. Dividing the
        # summed loss by the global size makes the all-reduced gradient a global mean.
        global_batch_size = ops.cast(batch_size * replicas_in_sync(), "float32")

        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            d_losses, g_losses = self.forward_losses(real_images)
            d_loss = ops.sum(d_losses) / global_batch_size
            g_loss = ops.sum(g_losses) / global_batch_size
            # A no-op unless the optimizer scales losses (mixed precision); its
            # apply_gradients divides the scale back out.
            scaled_d_loss = self.d_optimizer.scale_loss(d_loss)
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss)

        d_weights = self.discriminator.trainable_weights
        g_weights = self.generator.trainable_weights
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(scaled_d_loss, d_weights), d_weights))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(scaled_g_loss, g_weights), g_weights))

        self.d_loss_tracker.update_state(ops.mean(d_losses))
        self.g_loss_tracker.update_state(ops.mean(g_losses))
        return {metric.name: metric.result() for metric in self.metrics}

    def _jax_train_step(self, state, data):
        """Run the step of `_tf_train_step`, written statelessly for Keras's JAX trainer.

        `state` is (trainable, non-trainable, optimizer, metric) values in the order of
        `self.trainable_variables`, `self.non_trainable_variables`,
        `self.optimizer.variables` (the discriminator's optimizer, then the
        generator's) and `self.metrics_variables`. The non-trainable values include
        the seed generator's state and BatchNorm's moving statistics; everything the
        step changes comes back updated in the same layout.
        """
        import jax

        trainable, non_trainable, optimizer_values, metric_values = state
        real_images = keras.utils.unpack_x_y_sample_weight(data)[0]

        position = {id(variable): index for index, variable in enumerate(self.trainable_variables)}
        d_refs = self.discriminator.trainable_variables
        g_refs = self.generator.trainable_variables
        d_indices = [position[id(variable)] for variable in d_refs]
        g_indices = [position[id(variable)] for variable in g_refs]
        split = len(self.d_optimizer.variables)
        d_opt_values, g_opt_values = optimizer_values[:split], optimizer_values[split:]
        non_trainable_refs = self.non_trainable_variables
        optimizer_refs = list(self.d_optimizer.variables) + list(self.g_optimizer.variables)

        def forward(d_values, g_values):
            mapping = (list(zip(d_refs, d_values)) + list(zip(g_refs, g_values))
                       + list(zip(non_trainable_refs, non_trainable))
                       + list(zip(optimizer_refs, optimizer_values)))
            with keras.StatelessScope(state_mapping=mapping) as scope:
                d_losses, g_losses = self.forward_losses(real_images)
                # One device, so the global batch is this batch.
                d_loss, g_loss = ops.mean(d_losses), ops.mean(g_losses)
                scaled = (self.d_optimizer.scale_loss(d_loss), self.g_optimizer.scale_loss(g_loss))
            updated = [scope.get_current_value(ref) for ref in non_trainable_refs]
            updated = [old if new is None else new for old, new in zip(non_trainable, updated)]
            return scaled, (d_loss, g_loss, updated)

        # One forward pass; each loss is then differentiated with respect to its own
        # network's weights, as the two tapes do on TensorFlow. Under jit, XLA drops the
        # gradient halves that are not used.
        d_values = [trainable[index] for index in d_indices]
        g_values = [trainable[index] for index in g_indices]
        (scaled_d, scaled_g), pullback, (d_loss, g_loss, non_trainable) = jax.vjp(
            forward, d_values, g_values, has_aux=True)
        d_grads = pullback((ops.ones_like(scaled_d), ops.zeros_like(scaled_g)))[0]
        g_grads = pullback((ops.zeros_like(scaled_d), ops.ones_like(scaled_g)))[1]

        d_values, d_opt_values = self.d_optimizer.stateless_apply(d_opt_values, d_grads, d_values)
        g_values, g_opt_values = self.g_optimizer.stateless_apply(g_opt_values, g_grads, g_values)
        trainable = list(trainable)
        for index, value in zip(d_indices + g_indices, list(d_values) + list(g_values)):
            trainable[index] = value

        with keras.StatelessScope(state_mapping=list(zip(self.metrics_variables, metric_values))) as scope:
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            logs = {metric.name: metric.result() for metric in self.metrics}
        metric_values = [scope.get_current_value(ref) for ref in self.metrics_variables]

        state = (trainable, non_trainable, list(d_opt_values) + list(g_opt_values), metric_values)
        return logs, state
