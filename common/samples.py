"""Sample grids after every epoch and a progress GIF at the end of training."""

import logging
import re
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np

log = logging.getLogger(__name__)

GRID_SIDE = 4
FRAME_PATTERN = re.compile(r"epoch_(\d{4,})\.png$")


def fixed_latent_vectors(latent_dim, seed, count=GRID_SIDE * GRID_SIDE):
    """Return the latent batch every frame is drawn from.

    It depends only on the seed and the latent size, so the naive and factorised
    variants of a dataset draw their grids from the same vectors.
    """
    return np.random.default_rng(seed).standard_normal((count, latent_dim)).astype(np.float32)


def to_uint8(images):
    """Map images from [-1, 1] to uint8 pixels, clipping anything outside the range."""
    return np.clip(np.rint((np.asarray(images) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def image_grid(images, columns=GRID_SIDE, scale=4, gap=2):
    """Tile images in [-1, 1] into one uint8 picture, enlarged `scale` times per pixel.

    Grey images (channel size 1) give an (H, W) array, colour ones (H, W, 3).
    """
    pixels = to_uint8(images)
    pixels = pixels.repeat(scale, axis=1).repeat(scale, axis=2)
    count, height, width, channels = pixels.shape
    rows = -(-count // columns)
    grid = np.full((rows * (height + gap) + gap, columns * (width + gap) + gap, channels),
                   255, dtype=np.uint8)
    for index, image in enumerate(pixels):
        top = gap + (index // columns) * (height + gap)
        left = gap + (index % columns) * (width + gap)
        grid[top:top + height, left:left + width] = image
    return grid[..., 0] if channels == 1 else grid


def frame_path(output_dir, epoch):
    """Return the PNG path for a 1-based epoch number."""
    return Path(output_dir) / f"epoch_{epoch:04d}.png"


def list_frames(output_dir):
    """Return the epoch PNGs in a folder, ordered by epoch."""
    frames = [path for path in Path(output_dir).glob("epoch_*.png") if FRAME_PATTERN.search(path.name)]
    return sorted(frames, key=lambda path: int(FRAME_PATTERN.search(path.name).group(1)))


def remove_frames_after(output_dir, epoch):
    """Delete frames later than `epoch`, left by a run that did not save its state."""
    for path in list_frames(output_dir):
        if int(FRAME_PATTERN.search(path.name).group(1)) > epoch:
            path.unlink()


def write_gif(frames, path, frame_ms=200, last_frame_ms=1500):
    """Write PNG frames as a looping GIF; the last frame stays on screen longer."""
    images = [iio.imread(frame) for frame in frames]
    # Pillow takes a list of durations only for several frames.
    durations = [frame_ms] * (len(images) - 1) + [last_frame_ms] if len(images) > 1 else last_frame_ms
    iio.imwrite(path, np.stack(images), extension=".gif", duration=durations, loop=0)


class SampleGrid(keras.callbacks.Callback):
    """Save a grid of generated samples after each epoch and a GIF when training ends.

    Samples come from the generator in inference mode (`training=False`) and from one
    fixed latent batch, so frames compare across epochs and across variants.
    """

    def __init__(self, output_dir, latent_vectors):
        super().__init__()
        self.output_dir = Path(output_dir)
        self.latent_vectors = latent_vectors

    def on_epoch_end(self, epoch, logs=None):
        images = keras.ops.convert_to_numpy(self.model.generator(self.latent_vectors, training=False))
        path = frame_path(self.output_dir, epoch + 1)
        iio.imwrite(path, image_grid(images))
        log.info("Wrote %s", path)

    def on_train_end(self, logs=None):
        frames = list_frames(self.output_dir)
        if frames:
            gif = self.output_dir / "progress.gif"
            write_gif(frames, gif)
            log.info("Wrote %s (%d frames)", gif, len(frames))
