"""The batch pipeline's numbers against hand values and a NumPy re-implementation.

`to_float` is checked on pixels whose normalized value is worked by hand, `augment` pixel
by pixel against a NumPy pad-crop-flip fed the same generator draws, and `BatchStream`'s
checkpoint by a second stream that, after loading it, must produce exactly the batches
the first one goes on to produce.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness import BatchStream, DatasetInfo, ImageSet, augment, iterate_once, to_float
from harness.engine.data import shuffled_pass

TWO_CHANNELS = DatasetInfo("two", num_classes=3, channels=2, image_size=2, mean=(0.5, 0.25), std=(0.5, 0.25))


def assert_resumes_with(data, state, expected, augment_batches):
    """A stream built with another seed, loaded with ``state``, yields exactly the ``expected`` batches."""
    resumed = BatchStream(data, TWO_CHANNELS, 4, seed=99, augment_batches=augment_batches)
    resumed.load_state_dict(state)
    for (x, y), (rx, ry) in zip(expected, (next(resumed) for _ in range(len(expected)))):
        assert torch.equal(x, rx) and torch.equal(y, ry)


def test_uint8_images_are_scaled_to_unit_range_then_normalized_per_channel():
    images = torch.tensor([[[[0, 255], [51, 102]], [[0, 255], [51, 102]]]], dtype=torch.uint8)
    x = to_float(images, TWO_CHANNELS)
    # channel 0: (v/255 − 0.5)/0.5; channel 1: (v/255 − 0.25)/0.25
    expected = torch.tensor([[[[-1.0, 1.0], [-0.6, -0.2]], [[-1.0, 3.0], [-0.2, 0.6]]]])
    assert x.dtype == torch.float32
    torch.testing.assert_close(x, expected, rtol=0, atol=1e-6)


def test_float_images_are_already_in_unit_range_and_only_normalized():
    images = torch.tensor([[[[0.0, 1.0]], [[0.5, 0.25]]]], dtype=torch.float64)
    x = to_float(images, TWO_CHANNELS)
    assert x.dtype == torch.float32
    torch.testing.assert_close(x, torch.tensor([[[[-1.0, 1.0]], [[1.0, 0.0]]]]), rtol=0, atol=1e-6)


def numpy_augment(x: np.ndarray, offsets: np.ndarray, flips: np.ndarray, padding: int) -> np.ndarray:
    """Zero-pad each image, cut the h×w window at its offsets, mirror it left-right if drawn."""
    b, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.empty_like(x)
    for i in range(b):
        top, left = offsets[0, i], offsets[1, i]
        window = padded[i, :, top:top + h, left:left + w]
        out[i] = window[:, :, ::-1] if flips[i] else window
    return out


@pytest.mark.parametrize("padding", [2, None])
def test_augment_is_a_zero_padded_random_crop_and_flip_per_image(padding):
    b, c, h, w = 24, 2, 3, 5
    x = torch.arange(1, b * c * h * w + 1, dtype=torch.float32).view(b, c, h, w)  # every pixel distinct, none 0
    pad = 4 if padding is None else padding
    draws = torch.Generator().manual_seed(11)
    offsets = torch.randint(0, 2 * pad + 1, (2, b), generator=draws).numpy()
    flips = (torch.rand(b, generator=draws) < 0.5).numpy()
    generator = torch.Generator().manual_seed(11)
    out = augment(x, generator) if padding is None else augment(x, generator, padding)
    np.testing.assert_array_equal(out.numpy(), numpy_augment(x.numpy(), offsets, flips, pad))
    assert flips.any() and not flips.all()  # both branches are exercised
    assert {0, 2 * pad} <= set(offsets.flatten().tolist())  # the extreme shifts are reached
    assert torch.equal(generator.get_state(), draws.get_state())  # it draws exactly these numbers


def uint8_set(n: int) -> ImageSet:
    images = torch.arange(n * 2 * 2 * 2, dtype=torch.uint8).view(n, 2, 2, 2)
    return ImageSet(images, torch.arange(n) % 3)


@pytest.mark.parametrize("augment_batches", [False, True])
def test_a_stream_loaded_from_a_checkpoint_continues_with_the_same_batches(augment_batches):
    data = uint8_set(10)
    stream = BatchStream(data, TWO_CHANNELS, 4, seed=5, augment_batches=augment_batches)
    for _ in range(3):  # into the second pass, two batches of four fit per pass
        next(stream)
    state = stream.state_dict()
    assert set(state) == {"generator", "order", "position"}  # on the CPU one generator serves both
    expected = [next(stream) for _ in range(5)]
    assert_resumes_with(data, state, expected, augment_batches=augment_batches)


def test_a_cpu_stream_resuming_a_gpu_checkpoint_keeps_its_order_and_ignores_the_device_generator():
    data = uint8_set(10)
    stream = BatchStream(data, TWO_CHANNELS, 4, seed=5)
    next(stream)
    # a GPU stream's checkpoint also holds its device generator; a CPU generator's state stands in for it
    state = {**stream.state_dict(), "device_generator": torch.Generator().manual_seed(123).get_state()}
    expected = [next(stream) for _ in range(4)]
    assert_resumes_with(data, state, expected, augment_batches=False)

def test_a_fresh_stream_normalizes_its_first_pass_and_covers_every_example_once():
    data = uint8_set(6)
    stream = BatchStream(data, TWO_CHANNELS, 1, seed=0)
    assert stream.batch_size == 1 and stream.generator is stream.device_generator
    batches = [next(stream) for _ in range(6)]
    labels = torch.cat([y for _, y in batches])
    order = torch.randperm(6, generator=torch.Generator().manual_seed(0))
    assert torch.equal(labels, data.labels[order])
    for (x, _), i in zip(batches, order.tolist()):
        torch.testing.assert_close(x, to_float(data.images[i:i + 1], TWO_CHANNELS), rtol=0, atol=0)


def test_iterate_once_yields_every_example_in_order_normalized_with_a_short_last_batch():
    data = uint8_set(10)
    batches = list(iterate_once(data, TWO_CHANNELS, 4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert torch.equal(torch.cat([y for _, y in batches]), data.labels)
    pixels = data.images.numpy().astype(np.float64) / 255.0
    expected = (pixels - np.array([0.5, 0.25]).reshape(1, 2, 1, 1)) / np.array([0.5, 0.25]).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(torch.cat([x for x, _ in batches]).numpy(), expected, rtol=0, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_stream_checkpoints_its_device_generator_and_resumes_the_same_augmented_batches():
    data = uint8_set(10).to("cuda")
    stream = BatchStream(data, TWO_CHANNELS, 4, seed=5, augment_batches=True)
    assert stream.device_generator.device.type == "cuda"  # augmentation draws on the GPU
    for _ in range(3):
        next(stream)
    state = stream.state_dict()
    assert set(state) == {"generator", "order", "position", "device_generator"}
    expected = [next(stream) for _ in range(5)]
    assert_resumes_with(data, state, expected, augment_batches=True)


def test_shuffled_pass_yields_every_example_once_in_the_order_its_generator_draws():
    data = uint8_set(10)
    torch.manual_seed(0)  # the global generator must play no part
    batches = list(shuffled_pass(data, TWO_CHANNELS, 4, torch.Generator().manual_seed(7), augment_batches=False))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    order = torch.randperm(10, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(torch.cat([x for x, _ in batches]), to_float(data.images[order], TWO_CHANNELS),
                               rtol=0, atol=0)
    assert torch.equal(torch.cat([y for _, y in batches]), data.labels[order])
