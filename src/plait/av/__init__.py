"""Time-based media: probing, decoding, shots, subtitles, timing and the audio models.

Everything here imports PyAV (the ``av`` extra) or a model library only inside the
function that needs it, so ``import plait.av`` stays as light as ``import plait``.
"""
