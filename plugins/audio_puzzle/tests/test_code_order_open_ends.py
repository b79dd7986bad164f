"""The code-order term with open ends: codes 9 and 0 may decode beyond their level, no other."""

from __future__ import annotations

import torch

from sage_audio_puzzle.model import GridDecoder, denormalize_db


def decoded_at(decoder: GridDecoder, network_value: float) -> torch.Tensor:
    """A reconstruction whose every cell decodes to ``network_value`` on the network's scale."""
    return denormalize_db(torch.full((1, 1, 128, 32), network_value))


def test_open_ends_free_only_the_extreme_codes():
    decoder = GridDecoder(channels=4, blocks=1, basis=2)
    gain, bias = decoder.base_gain.item(), decoder.base_bias.item()
    top, middle, bottom = (torch.full((1, 30, 30), (k + 0.5) / 10) for k in (9, 5, 0))
    above_top = decoded_at(decoder, gain * 1.5 + bias)  # far louder than level 9's interval
    below_bottom = decoded_at(decoder, gain * -0.5 + bias)  # far quieter than level 0's
    assert decoder.level_overreach(top, above_top, 10) > 0, "closed: code 9 has a ceiling"
    assert decoder.level_overreach(top, above_top, 10, open_ends=True) == 0
    assert decoder.level_overreach(bottom, below_bottom, 10, open_ends=True) == 0
    assert decoder.level_overreach(middle, above_top, 10, open_ends=True) > 0, "code 5 stays bounded"
    assert decoder.level_overreach(top, below_bottom, 10, open_ends=True) > 0, "code 9 keeps its floor"
