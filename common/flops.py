"""Count the multiply-accumulates (MACs) of a network's forward pass from its layer shapes.

Only the layers that multiply weights with activations are counted. Bias adds,
normalisation, activations, reshapes and dropout are left out, because they are a small
share of the work and do not run on the matrix units. One MAC is two floating-point
operations.

Per image, with shapes taken without the batch axis:

    Dense            positions * units_in * units_out, where positions is the product
                     of the input's axes between batch and features (1 for flat input)
    Conv (1D-3D)     output positions * kernel_h * kernel_w * (channels_in / groups)
                     * channels_out
    ConvTranspose    input positions * kernel_h * kernel_w * channels_in * channels_out,
                     because each input pixel scatters a full kernel (strides and
                     padding only decide where the products land)
    DepthwiseConv    output positions * kernel_h * kernel_w * channels_in * multiplier
    SeparableConv    the depthwise term plus output positions * channels_in *
                     multiplier * channels_out for the pointwise kernel

Every one of these is "positions * number of kernel entries", which is how the
function computes them.
"""

import math

import keras

# Layer types whose kernel is applied once per output position.
_PER_OUTPUT_POSITION = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
    keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D, keras.layers.SeparableConv2D,
)
# Layer types whose kernel is applied once per input position.
_PER_INPUT_POSITION = (
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose,
)


def _shape(tensor):
    shape = tuple(tensor.shape[1:])
    if any(size is None for size in shape):
        raise ValueError(f"Invalid shape {tensor.shape} for count_macs: every axis but the batch "
                         "must have a fixed size, so build the model from a complete keras.Input.")
    return shape


def _kernel_entries(layer):
    """Return the number of weights in the layer's kernels (both, for separable ones)."""
    names = ("kernel", "depthwise_kernel", "pointwise_kernel")
    return sum(math.prod(getattr(layer, name).shape) for name in names
               if getattr(layer, name, None) is not None)


def layer_macs(layer):
    """Return the forward MACs per image of one layer, 0 for layers this module ignores.

    The layer must belong to a built Sequential or functional model, so that its input
    and output shapes are known. For separable convolutions the pointwise kernel is
    applied at the same output positions as the depthwise one.
    """
    if isinstance(layer, keras.layers.Dense):
        positions = math.prod(_shape(layer.input)[:-1])
    elif isinstance(layer, keras.layers.EinsumDense):
        raise ValueError(f"Unsupported layer {layer.name!r} for count_macs: EinsumDense MACs "
                         "depend on its equation, which this module does not parse.")
    elif isinstance(layer, _PER_OUTPUT_POSITION):
        positions = math.prod(_spatial(layer, layer.output))
    elif isinstance(layer, _PER_INPUT_POSITION):
        positions = math.prod(_spatial(layer, layer.input))
    else:
        return 0
    return positions * _kernel_entries(layer)


def _spatial(layer, tensor):
    """Return the spatial axes of a convolution's input or output tensor."""
    shape = _shape(tensor)
    return shape[:-1] if layer.data_format == "channels_last" else shape[1:]


def count_macs(model):
    """Return the forward-pass MACs per image of a built Keras model.

    Args:
        model: a built Sequential or functional model, or a layer holding such models
            (their counts are added up, each network counted once).

    Returns:
        int: multiply-accumulates for one image (batch size 1), training or inference
        mode alike, since the counted layers behave the same in both.

    Caveats: a layer called more than once inside one model is counted once, from its
    first call's shapes. Layers this module does not know are counted as 0.
    """
    total = 0
    for layer in model.layers if hasattr(model, "layers") else [model]:
        if hasattr(layer, "layers") and layer.layers:
            total += count_macs(layer)
        else:
            total += layer_macs(layer)
    return total
